package hypervisor

import (
	"fmt"
	"regexp"
	"strings"
)

// VMX is the content of a .vmx file: `key = "value"` lines in order. A
// parsed file is written back byte for byte, except for the lines changed
// through Set and Delete. Keys compare case-insensitively, as ESXi's do.
//
// Inside a value, `"`, `|` and control characters such as a newline are
// written as `|XX` with two upper-case hex digits (`|22`, `|7C`, `|0A`).
type VMX struct {
	lines []vmxLine
}

// vmxLine is one line of a .vmx file.
type vmxLine struct {
	key   string // "" for blank lines and comments
	value string // decoded
	raw   string // the line as it is written, with its line ending
}

// vmxKeyRE is the set of keys the writer accepts; it keeps a key from
// breaking out of its line.
var vmxKeyRE = regexp.MustCompile(`^[A-Za-z0-9_.][A-Za-z0-9_.:\-]*$`)

// ParseVMX reads a .vmx file. It returns an error naming the first line
// that is neither blank, a # comment, nor `key = value`.
func ParseVMX(text string) (*VMX, error) {
	v := &VMX{}
	for n, raw := range strings.SplitAfter(text, "\n") {
		if raw == "" {
			continue
		}
		line := strings.TrimSpace(raw)
		if line == "" || strings.HasPrefix(line, "#") {
			v.lines = append(v.lines, vmxLine{raw: raw})
			continue
		}
		key, val, ok := strings.Cut(line, "=")
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		if !ok || !vmxKeyRE.MatchString(key) {
			return nil, fmt.Errorf("vmx line %d: not key = \"value\": %q", n+1, line)
		}
		if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
			val = val[1 : len(val)-1]
		}
		v.lines = append(v.lines, vmxLine{key: key, value: unescapeVMX(val), raw: raw})
	}
	return v, nil
}

// Get returns the value of key, and whether it is set. When a file repeats
// a key, the last one wins.
func (v *VMX) Get(key string) (string, bool) {
	for i := len(v.lines) - 1; i >= 0; i-- {
		if strings.EqualFold(v.lines[i].key, key) {
			return v.lines[i].value, true
		}
	}
	return "", false
}

// Set sets key to value, in place if the key is there (keeping its
// spelling and dropping any repeats) or at the end. It returns an error for a key that could break
// the file's syntax; any value is fine.
func (v *VMX) Set(key, value string) error {
	if !vmxKeyRE.MatchString(key) {
		return fmt.Errorf("invalid vmx key %q", key)
	}
	line := func(key string) vmxLine {
		return vmxLine{key: key, value: value, raw: key + ` = "` + escapeVMX(value) + "\"\n"}
	}

	// Replace the first occurrence, keeping its spelling, and drop the others.
	done := false
	kept := v.lines[:0]
	for _, l := range v.lines {
		if strings.EqualFold(l.key, key) {
			if done {
				continue
			}
			l, done = line(l.key), true
		}
		kept = append(kept, l)
	}
	v.lines = kept
	if done {
		return nil
	}

	// Append, ending the last line first if the file lacked a final newline.
	if n := len(v.lines); n > 0 && !strings.HasSuffix(v.lines[n-1].raw, "\n") {
		v.lines[n-1].raw += "\n"
	}
	v.lines = append(v.lines, line(key))
	return nil
}

// Delete removes every line that sets key.
func (v *VMX) Delete(key string) {
	kept := v.lines[:0]
	for _, l := range v.lines {
		if !strings.EqualFold(l.key, key) {
			kept = append(kept, l)
		}
	}
	v.lines = kept
}

// Keys returns the keys in file order, each once, as first written.
func (v *VMX) Keys() []string {
	var keys []string
	seen := map[string]bool{}
	for _, l := range v.lines {
		k := strings.ToLower(l.key)
		if l.key != "" && !seen[k] {
			seen[k] = true
			keys = append(keys, l.key)
		}
	}
	return keys
}

// String returns the file's content.
func (v *VMX) String() string {
	var b strings.Builder
	for _, l := range v.lines {
		b.WriteString(l.raw)
	}
	return b.String()
}

// escapeVMX writes `"`, `|` and control characters as |XX.
func escapeVMX(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '"' || c == '|' || c < 0x20 || c == 0x7f {
			fmt.Fprintf(&b, "|%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// unescapeVMX decodes |XX escapes; a | not followed by two hex digits
// stays as it is.
func unescapeVMX(s string) string {
	if !strings.Contains(s, "|") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '|' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}
