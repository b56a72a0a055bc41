package hypervisor

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// hostileStrings are arguments that would run commands, split into several
// words or expand if they were not quoted right.
func hostileStrings(dir string) []string {
	return []string{
		"",
		"plain",
		"two words",
		"  leading and trailing  ",
		"$(touch " + dir + "/dollar)",
		"`touch " + dir + "/backtick`",
		"it's",
		"''",
		"'; touch " + dir + "/semicolon; echo '",
		`"double" "quotes"`,
		"line one\nline two\n",
		"tab\there",
		"*", "/*", "?", "[a-z]*",
		`back\slash \\ \n \'`,
		"$HOME ${PATH} $1 $@ $$",
		"a|b&c;d>e<f",
		"!event ~tilde #hash",
		"-n", "--", "%s %d %%",
		"i-0123456789abcdef0",
		"ünïcödé ☃",
	}
}

func TestQuote_ShellRoundTrip(t *testing.T) {
	dir := t.TempDir()
	shells := []string{"/bin/sh"}
	for _, sh := range []string{"dash", "bash", "busybox"} {
		if p, err := exec.LookPath(sh); err == nil {
			shells = append(shells, p)
		}
	}
	for _, shell := range shells {
		for _, s := range hostileStrings(dir) {
			args := []string{"-c", "printf %s " + Quote(s)}
			if strings.HasSuffix(shell, "busybox") {
				args = append([]string{"sh"}, args...)
			}
			out, err := exec.Command(shell, args...).Output()
			if err != nil {
				t.Fatalf("%s: %q: %v", shell, s, err)
			}
			if got := string(out); got != s {
				t.Errorf("%s: got %q, want %q", shell, got, s)
			}
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		t.Errorf("a quoted argument ran a command: %s was created", e.Name())
	}
}

func TestQuote_OneWord(t *testing.T) {
	dir := t.TempDir()
	for _, s := range hostileStrings(dir) {
		out, err := exec.Command("/bin/sh", "-c", "set -- "+Quote(s)+`; printf %s "$#"`).Output()
		if err != nil {
			t.Fatal(err)
		}
		if got := string(out); got != "1" {
			t.Errorf("%q became %s words", s, got)
		}
	}
}

func TestLocalTransport_Run(t *testing.T) {
	ctx := context.Background()
	var lt LocalTransport

	t.Run("StdinAndExitStatus", func(t *testing.T) {
		res, err := lt.Run(ctx, "cat; echo oops >&2; exit 3", strings.NewReader("hello\n"))
		if err != nil {
			t.Fatal(err)
		}
		if string(res.Stdout) != "hello\n" || string(res.Stderr) != "oops\n" || res.ExitStatus != 3 {
			t.Errorf("got %+v", res)
		}
	})

	t.Run("FileThroughStdin", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "my vm's.vmx")
		content := "displayName = \"x\"\nguestinfo.userdata = \"$(reboot)\"\n"
		_, err := lt.Run(ctx, "cat > "+Quote(path), strings.NewReader(content))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(path)
		if string(got) != content {
			t.Errorf("got %q, want %q", got, content)
		}
	})

	t.Run("ErrContext", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := lt.Run(ctx, "sleep 10", nil)
		if err == nil || time.Since(start) > 5*time.Second {
			t.Errorf("got %v after %s, want a prompt context error", err, time.Since(start))
		}
	})
}
