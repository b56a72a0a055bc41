package esxisim

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestShell_EscapesInOneWordExpansions(t *testing.T) {
	h, err := New(Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()

	// POSIX shells remove the backslash of an escape wherever a word is
	// expanded; the interpreter under the host forgot it outside command
	// arguments (mvdan.cc/sh v3.14.1).
	tests := []struct {
		name, cmd, stdout, file string
	}{
		{"Redirect", `echo x > /tmp/'it'\''s'`, "", "it's"},
		{"RedirectSpace", `echo x > /tmp/two\ words`, "", "two words"},
		{"RedirectAppend", `echo x >> /tmp/a\$b`, "", "a$b"},
		{"RedirectTrailingBackslash", `echo x > /tmp/end\`, "", `end\`},
		{"Assign", `v='it'\''s'; printf '%s\n' "$v"`, "it's\n", ""},
		{"AssignEscapes", `v=a\ b\"c\\d; printf '%s\n' "$v"`, "a b\"c\\d\n", ""},
		{"Case", `case 'it'\''s' in "it's") echo match;; *) echo no;; esac`, "match\n", ""},
		{"Argument", `printf '%s\n' 'it'\''s' a\ b`, "it's\na b\n", ""},
		{"Heredoc", "cat <<EOF\na\\$b\nEOF", "a$b\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			status := h.Exec(context.Background(), tt.cmd, nil, &out, &errOut)
			if status != 0 || out.String() != tt.stdout {
				t.Fatalf("got exit %d, stdout %q, stderr %q; want stdout %q",
					status, out.String(), errOut.String(), tt.stdout)
			}
			if tt.file == "" {
				return
			}
			if _, err := os.Stat(filepath.Join(h.Dir(), "tmp", tt.file)); err != nil {
				entries, _ := os.ReadDir(filepath.Join(h.Dir(), "tmp"))
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				t.Errorf("file %q not written; /tmp holds %q", tt.file, names)
			}
		})
	}
}
