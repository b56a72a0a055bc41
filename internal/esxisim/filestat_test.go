package esxisim

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestStat_Console checks the two commands a client reads a VM's serial
// console with: stat -c for its time and size, tail -c for its end.
func TestStat_Console(t *testing.T) {
	th := mustStartHost(t, Config{})
	dir := filepath.Join(th.dsDir(), "vm1")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	text := strings.Repeat("0123456789", 10) + "\nlogin: "
	if err := os.WriteFile(filepath.Join(dir, "console.log"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	when := time.Date(2026, 5, 4, 3, 2, 1, 0, time.UTC)
	if err := os.Chtimes(filepath.Join(dir, "console.log"), when, when); err != nil {
		t.Fatal(err)
	}
	f := "'/vmfs/volumes/datastore1/vm1/console.log'"

	t.Run("Stat", func(t *testing.T) {
		got := th.mustRun(t, "stat -c '%Y %s %F' "+f)
		want := strconv.FormatInt(when.Unix(), 10) + " " + strconv.Itoa(len(text)) + " regular file\n"
		if got != want {
			t.Errorf("stat = %q, want %q", got, want)
		}
	})

	t.Run("StatMissing", func(t *testing.T) {
		r := th.run(t, "stat -c %Y /vmfs/volumes/datastore1/vm1/nothing")
		if r.status != 1 || !strings.Contains(r.stderr, "can't stat") {
			t.Errorf("stat of a missing file: %+v", r)
		}
	})

	t.Run("TailBytes", func(t *testing.T) {
		if got := th.mustRun(t, "tail -c 12 "+f); got != "6789\nlogin: " {
			t.Errorf("tail -c 12 = %q", got)
		}
		if got := th.mustRun(t, "tail -c 4096 "+f); got != text {
			t.Errorf("tail -c of more than the file = %q", got)
		}
		if got := th.mustRun(t, "cat "+f+" | tail -c 3"); got != "n: " {
			t.Errorf("tail -c from a pipe = %q", got)
		}
	})

	t.Run("TailLines", func(t *testing.T) {
		if got := th.mustRun(t, "tail -n 1 "+f); got != "login: \n" {
			t.Errorf("tail -n 1 = %q", got)
		}
	})
}
