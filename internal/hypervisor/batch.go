package hypervisor

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// A batch runs several commands in one SSH exec and splits their output
// again. Each command runs as a section between printed markers:
//
//	printf '===MC %s begin %s===\n' NONCE NAME
//	( COMMAND
//	) 2>&1
//	printf '\n===MC %s end %s %d===\n' NONCE NAME "$?"
//
// The nonce is random per batch, so nothing a command prints (a VM name,
// an annotation) can forge a marker. A section's stderr is folded into its
// output, so a fault printed on stderr stays with its command, and each
// section runs in a subshell, so not even an exit ends the batch early.
type batch struct {
	nonce string
	names []string
	b     strings.Builder
}

// section is one command's output and exit status within a batch.
type section struct {
	out    string
	status int
}

// newBatch returns an empty batch with a fresh nonce.
func newBatch() *batch {
	var buf [8]byte
	_, _ = rand.Read(buf[:])
	return &batch{nonce: hex.EncodeToString(buf[:])}
}

// add appends a command as the section called name.
func (b *batch) add(name, cmd string) {
	b.names = append(b.names, name)
	fmt.Fprintf(&b.b, "printf '===MC %%s begin %%s===\\n' %s %s\n", b.nonce, Quote(name))
	fmt.Fprintf(&b.b, "( %s\n) 2>&1\n", cmd)
	fmt.Fprintf(&b.b, "printf '\\n===MC %%s end %%s %%d===\\n' %s %s \"$?\"\n",
		b.nonce, Quote(name))
}

// script returns the shell script that runs every section in order.
func (b *batch) script() string { return b.b.String() }

// split cuts a batch's stdout into its sections. It returns an error if a
// section's markers are missing, as when the shell died midway.
func (b *batch) split(out string) (map[string]section, error) {
	secs := make(map[string]section, len(b.names))
	pos := 0
	for _, name := range b.names {
		// Find the section's begin marker.
		begin := "===MC " + b.nonce + " begin " + name + "===\n"
		i := strings.Index(out[pos:], begin)
		if i < 0 {
			return nil, fmt.Errorf("batch section %q did not start", name)
		}
		start := pos + i + len(begin)

		// Its end marker carries the exit status.
		end := "\n===MC " + b.nonce + " end " + name + " "
		j := strings.Index(out[start:], end)
		if j < 0 {
			return nil, fmt.Errorf("batch section %q did not finish", name)
		}
		rest := out[start+j+len(end):]
		num, _, ok := strings.Cut(rest, "===")
		status, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("batch section %q: bad end marker", name)
		}
		secs[name] = section{out: out[start : start+j], status: status}
		pos = start + j + len(end) + len(num) + len("===")
	}
	return secs, nil
}
