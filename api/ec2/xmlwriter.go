package ec2

import (
	"io"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// flushSize is how much response a writer gathers before handing it to
// the connection. A listing of ten thousand instances is tens of
// megabytes; it streams in pieces of this size instead of being held
// whole.
const flushSize = 64 << 10

// timeFormat is how EC2 writes a timestamp: UTC, milliseconds, Z.
const timeFormat = "2006-01-02T15:04:05.000Z"

var bufPool = sync.Pool{New: func() any {
	b := make([]byte, 0, flushSize+4<<10)
	return &b
}}

// xmlWriter writes an EC2 XML document element by element into a buffer
// and passes the buffer to out each time it grows past flushSize. It
// knows nothing of shapes: the encode functions name every element, so
// the order and names on the wire are the ones in the code, with no
// reflection per request.
type xmlWriter struct {
	buf []byte
	out io.Writer
	err error // the first error from out; later output is dropped
}

// raw appends s unescaped.
func (w *xmlWriter) raw(s string) { w.buf = append(w.buf, s...) }

// start opens element name.
func (w *xmlWriter) start(name string) {
	w.buf = append(w.buf, '<')
	w.buf = append(w.buf, name...)
	w.buf = append(w.buf, '>')
}

// end closes element name and flushes when the buffer is full.
func (w *xmlWriter) end(name string) {
	w.buf = append(w.buf, '<', '/')
	w.buf = append(w.buf, name...)
	w.buf = append(w.buf, '>')
	if len(w.buf) >= flushSize {
		w.flush()
	}
}

// empty writes <name/>, how EC2 writes an empty list or a blank value.
func (w *xmlWriter) empty(name string) {
	w.buf = append(w.buf, '<')
	w.buf = append(w.buf, name...)
	w.buf = append(w.buf, '/', '>')
}

// text writes <name>v</name>, or <name/> when v is empty.
func (w *xmlWriter) text(name, v string) {
	if v == "" {
		w.empty(name)
		return
	}
	w.start(name)
	w.buf = appendEscaped(w.buf, v)
	w.end(name)
}

// opt writes <name>v</name>, or nothing when v is empty.
func (w *xmlWriter) opt(name, v string) {
	if v != "" {
		w.text(name, v)
	}
}

// integer writes <name>n</name>.
func (w *xmlWriter) integer(name string, n int) {
	w.start(name)
	w.buf = strconv.AppendInt(w.buf, int64(n), 10)
	w.end(name)
}

// boolean writes <name>true</name> or <name>false</name>.
func (w *xmlWriter) boolean(name string, b bool) {
	w.start(name)
	w.buf = strconv.AppendBool(w.buf, b)
	w.end(name)
}

// timestamp writes t as EC2 does, or nothing when t is zero.
func (w *xmlWriter) timestamp(name string, t time.Time) {
	if t.IsZero() {
		return
	}
	w.start(name)
	w.buf = t.UTC().AppendFormat(w.buf, timeFormat)
	w.end(name)
}

// set writes a list as EC2 does: <name><item>…</item>…</name>, with each
// item written by item, or <name/> when the list is empty.
func set[T any](w *xmlWriter, name string, list []T, item func(T)) {
	if len(list) == 0 {
		w.empty(name)
		return
	}
	w.start(name)
	for _, v := range list {
		w.start("item")
		item(v)
		w.end("item")
	}
	w.end(name)
}

// textList writes a list of strings as <name><item>v</item>…</name>.
func (w *xmlWriter) textList(name string, list []string) {
	if len(list) == 0 {
		w.empty(name)
		return
	}
	w.start(name)
	for _, v := range list {
		w.text("item", v)
	}
	w.end(name)
}

// flush passes the buffer to out.
func (w *xmlWriter) flush() {
	if len(w.buf) == 0 {
		return
	}
	if w.err == nil {
		_, w.err = w.out.Write(w.buf)
	}
	w.buf = w.buf[:0]
}

// appendEscaped appends s to b as XML character data. Characters XML
// cannot carry at all (most control characters, invalid UTF-8) become
// U+FFFD, so a stray byte in a tag value cannot break a client's parser.
func appendEscaped(b []byte, s string) []byte {
	// Most values need no escaping: copy them whole.
	clean := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x80 || c == '&' || c == '<' || c == '>' || c == '"' || c == '\'' {
			clean = false
			break
		}
	}
	if clean {
		return append(b, s...)
	}

	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '&':
			b = append(b, "&amp;"...)
		case r == '<':
			b = append(b, "&lt;"...)
		case r == '>':
			b = append(b, "&gt;"...)
		case r == '"':
			b = append(b, "&quot;"...)
		case r == '\'':
			b = append(b, "&apos;"...)
		case r == '\t', r == '\n':
			b = append(b, byte(r))
		case r == '\r':
			b = append(b, "&#xD;"...)
		case r == utf8.RuneError && size == 1, !xmlChar(r):
			b = utf8.AppendRune(b, utf8.RuneError)
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return b
}

// xmlChar reports whether r may appear in an XML 1.0 document.
func xmlChar(r rune) bool {
	return r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF || r == '\t' || r == '\n' || r == '\r'
}
