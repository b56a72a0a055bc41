package hypervisor

import (
	"regexp"
	"strconv"
	"strings"
)

// vim-cmd prints vSphere data objects in a loose, line-oriented notation:
//
//	(vim.vm.GuestInfo) {
//	   toolsRunningStatus = "guestToolsRunning",
//	   net = (vim.vm.GuestInfo.NicInfo) [
//	      (vim.vm.GuestInfo.NicInfo) {
//	         ipAddress = (string) [
//	            "192.168.200.9"
//	         ],
//	      }
//	   ],
//	   ipAddress = <unset>,
//	}
//
// Strings are printed without escaping (a message may hold bare quotes), so
// the parser reads one value per line and takes a string to run to the last
// quote on its line. Older hosts add `dynamicType = <unset>,` lines and a
// space after each comma; both read the same. Lines that fit no form (banners
// such as "Guest information:" or elisions) are skipped.

// vkind says what a vnode holds.
type vkind int

const (
	vScalar vkind = iota // a number, boolean, string or reference
	vObject              // (type) { fields }
	vArray               // (type) [ items ]
	vUnset               // <unset>
	vNull                // (type) null
)

// vnode is one value of a parsed data object.
type vnode struct {
	kind   vkind
	typ    string // the data type in parentheses, without them
	text   string // a scalar's text, without quotes
	fields []vfield
	items  []*vnode
}

// vfield is one named value of an object, in printed order.
type vfield struct {
	name string
	val  *vnode
}

var fieldRE = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*)$`)

// parseVmodl reads every data object in text into one root object. Fields
// printed outside any object, and the fields of a leading unnamed object,
// land in the root.
func parseVmodl(text string) *vnode {
	root := &vnode{kind: vObject}
	stack := []*vnode{root}
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		line := trimValue(lines[i])
		top := stack[len(stack)-1]

		// Close the innermost object or array.
		if line == "}" || line == "]" {
			if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
			continue
		}

		// A named field belongs to the innermost object.
		if m := fieldRE.FindStringSubmatch(line); m != nil && !startsValue(line) {
			val, open, used := parseValue(m[2], lines[i+1:])
			i += used
			if top.kind == vObject {
				top.fields = append(top.fields, vfield{name: m[1], val: val})
			}
			if open {
				stack = append(stack, val)
			}
			continue
		}

		// A bare value is an array item, or the root object's own opening.
		if !startsValue(line) {
			continue
		}
		val, open, used := parseValue(line, lines[i+1:])
		i += used
		switch {
		case top.kind == vArray:
			top.items = append(top.items, val)
		case top == root && val.kind == vObject && root.typ == "" && len(root.fields) == 0:
			root.typ = val.typ
			val = root
		}
		if open {
			stack = append(stack, val)
		}
	}
	return root
}

// trimValue trims a line's indentation and its trailing comma.
func trimValue(line string) string {
	line = strings.TrimSpace(line)
	line = strings.TrimSuffix(line, ",")
	return strings.TrimSpace(line)
}

// startsValue reports whether line starts with a value rather than a name.
func startsValue(line string) bool {
	if line == "" {
		return false
	}
	switch line[0] {
	case '(', '"', '\'', '<':
		return true
	}
	_, err := strconv.ParseFloat(line, 64)
	return err == nil || line == "true" || line == "false"
}

// parseValue reads one value from s, continuing into the following lines
// when a string runs over several. It returns the value, whether it opens an
// object or array whose items follow, and how many extra lines it used.
func parseValue(s string, rest []string) (val *vnode, open bool, used int) {
	// Strip a leading (type).
	typ := ""
	if strings.HasPrefix(s, "(") {
		if end := strings.Index(s, ")"); end > 0 {
			typ = s[1:end]
			s = strings.TrimSpace(s[end+1:])
		}
	}

	switch {
	case s == "{":
		return &vnode{kind: vObject, typ: typ}, true, 0
	case s == "{}":
		return &vnode{kind: vObject, typ: typ}, false, 0
	case s == "[":
		return &vnode{kind: vArray, typ: typ}, true, 0
	case strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]"):
		return parseInlineArray(typ, s[1:len(s)-1]), false, 0
	case s == "<unset>":
		return &vnode{kind: vUnset, typ: typ}, false, 0
	case s == "null":
		return &vnode{kind: vNull, typ: typ}, false, 0
	case strings.HasPrefix(s, `"`):
		text, used := readString(s, rest)
		return &vnode{kind: vScalar, typ: typ, text: text}, false, used
	case len(s) >= 2 && s[0] == '\'' && s[len(s)-1] == '\'':
		return &vnode{kind: vScalar, typ: typ, text: s[1 : len(s)-1]}, false, 0
	}
	return &vnode{kind: vScalar, typ: typ, text: s}, false, 0
}

// readString reads a quoted string that starts s. vim-cmd does not escape
// quotes inside strings, so the string ends at the last quote of its line;
// a line without a closing quote continues on the next lines.
func readString(s string, rest []string) (string, int) {
	if len(s) >= 2 && strings.HasSuffix(s, `"`) {
		return s[1 : len(s)-1], 0
	}
	var b strings.Builder
	b.WriteString(s[1:])
	for i, line := range rest {
		b.WriteByte('\n')
		end := strings.TrimSuffix(strings.TrimRight(line, " \t\r"), ",")
		if strings.HasSuffix(end, `"`) {
			b.WriteString(end[:len(end)-1])
			return b.String(), i + 1
		}
		b.WriteString(strings.TrimRight(line, "\r"))
	}
	return b.String(), len(rest)
}

// parseInlineArray reads `"a", "b"` as printed inside `[ ]` on one line.
func parseInlineArray(typ, s string) *vnode {
	arr := &vnode{kind: vArray, typ: typ}
	for _, part := range splitOutsideQuotes(s) {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		v, _, _ := parseValue(part, nil)
		arr.items = append(arr.items, v)
	}
	return arr
}

// splitOutsideQuotes splits s at commas that are not inside double quotes.
func splitOutsideQuotes(s string) []string {
	var parts []string
	quoted, start := false, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			quoted = !quoted
		case ',':
			if !quoted {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, s[start:])
}

// get follows a path of field names from n; it returns nil when any step
// is missing. Calling get on nil is safe.
func (n *vnode) get(path ...string) *vnode {
	for _, name := range path {
		if n == nil || n.kind != vObject {
			return nil
		}
		var next *vnode
		for _, f := range n.fields {
			if f.name == name {
				next = f.val
				break
			}
		}
		n = next
	}
	return n
}

// str returns a scalar's text, or "" for anything else.
func (n *vnode) str() string {
	if n == nil || n.kind != vScalar {
		return ""
	}
	return n.text
}

// int64 returns a scalar's integer value, or 0 when it has none.
func (n *vnode) int64() int64 {
	v, _ := strconv.ParseInt(strings.TrimSpace(n.str()), 10, 64)
	return v
}

// int returns a scalar's integer value, or 0 when it has none.
func (n *vnode) int() int { return int(n.int64()) }

// bool reports whether a scalar reads true.
func (n *vnode) bool() bool { return n.str() == "true" }

// strs returns the scalar items of an array, or a lone scalar as a list.
func (n *vnode) strs() []string {
	if n == nil {
		return nil
	}
	if n.kind == vScalar {
		return []string{n.text}
	}
	var out []string
	for _, it := range n.items {
		if it.kind == vScalar {
			out = append(out, it.text)
		}
	}
	return out
}
