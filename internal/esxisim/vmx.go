package esxisim

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// vmxFile is a VM's configuration file: lines of `key = "value"`, with
// comments and blank lines kept as they are, so the host can add keys (as
// hostd adds uuid.bios) without disturbing what the author wrote.
type vmxFile struct {
	lines []vmxLine
}

// vmxLine is one line of a .vmx. key is empty for a line that sets nothing.
type vmxLine struct {
	raw   string
	key   string
	value string // unescaped
}

// parseVMX reads a .vmx. Lines it cannot read as settings are kept but
// ignored, as hostd does.
func parseVMX(data []byte) *vmxFile {
	v := &vmxFile{}
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	text = strings.TrimSuffix(text, "\n")
	if text == "" {
		return v
	}
	for _, raw := range strings.Split(text, "\n") {
		line := vmxLine{raw: raw}
		trimmed := strings.TrimSpace(raw)
		if trimmed != "" && !strings.HasPrefix(trimmed, "#") {
			if k, val, ok := strings.Cut(trimmed, "="); ok {
				line.key = strings.TrimSpace(k)
				line.value = vmxUnescape(unquote(strings.TrimSpace(val)))
			}
		}
		v.lines = append(v.lines, line)
	}
	return v
}

// unquote strips the double quotes around a .vmx value, if it has them.
func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

// get returns the value of key; keys are matched without regard to case,
// as VMware does. The last setting of a key wins.
func (v *vmxFile) get(key string) (string, bool) {
	for i := len(v.lines) - 1; i >= 0; i-- {
		if strings.EqualFold(v.lines[i].key, key) {
			return v.lines[i].value, true
		}
	}
	return "", false
}

// value returns the value of key, or "" if it is not set.
func (v *vmxFile) value(key string) string {
	s, _ := v.get(key)
	return s
}

// intValue returns the value of key as a number, or def if it is not one.
func (v *vmxFile) intValue(key string, def int) int {
	n, err := strconv.Atoi(strings.TrimSpace(v.value(key)))
	if err != nil {
		return def
	}
	return n
}

// isTrue reports whether key is set to TRUE (any case), as VMware reads
// booleans.
func (v *vmxFile) isTrue(key string) bool {
	switch strings.ToLower(v.value(key)) {
	case "true", "yes", "1":
		return true
	}
	return false
}

// set gives key the value, replacing its last setting or adding a line.
func (v *vmxFile) set(key, value string) {
	line := vmxLine{raw: key + " = \"" + vmxEscape(value) + "\"", key: key, value: value}
	for i := len(v.lines) - 1; i >= 0; i-- {
		if strings.EqualFold(v.lines[i].key, key) {
			line.key = v.lines[i].key
			line.raw = v.lines[i].key + " = \"" + vmxEscape(value) + "\""
			v.lines[i] = line
			return
		}
	}
	v.lines = append(v.lines, line)
}

// remove deletes every setting of key.
func (v *vmxFile) remove(key string) {
	kept := v.lines[:0]
	for _, l := range v.lines {
		if !strings.EqualFold(l.key, key) {
			kept = append(kept, l)
		}
	}
	v.lines = kept
}

// keys returns the keys set, in file order, each once.
func (v *vmxFile) keys() []string {
	var out []string
	seen := map[string]bool{}
	for _, l := range v.lines {
		if l.key != "" && !seen[strings.ToLower(l.key)] {
			seen[strings.ToLower(l.key)] = true
			out = append(out, l.key)
		}
	}
	return out
}

// bytes returns the file's text.
func (v *vmxFile) bytes() []byte {
	var b bytes.Buffer
	for _, l := range v.lines {
		b.WriteString(l.raw)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// vmxUnescape decodes the |XX hex escapes VMware writes for a '"', a '|'
// or a control character inside a value. A '|' not followed by two hex
// digits is kept.
func vmxUnescape(s string) string {
	if !strings.Contains(s, "|") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '|' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			n, _ := strconv.ParseUint(s[i+1:i+3], 16, 8)
			b.WriteByte(byte(n))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// vmxEscape writes s as a .vmx value: '"', '|', '#' and control
// characters become |XX.
func vmxEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '"' || c == '|' || c == '#' || c < 0x20 || c == 0x7f {
			fmt.Fprintf(&b, "|%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
