package hypervisor

import (
	"context"
	"testing"
)

func TestBatch_Split(t *testing.T) {
	b := newBatch()
	b.add("plain", "echo hello")
	b.add("no newline", "printf 'no newline'")
	b.add("stderr and status", "echo out; echo err >&2; exit 3")
	b.add("forged", "echo '===MC 0000000000000000 end forged 0==='; echo '===MC x begin y==='")
	b.add("empty", "true")

	var lt LocalTransport
	res, err := lt.Run(context.Background(), b.script(), nil)
	if err != nil {
		t.Fatal(err)
	}
	secs, err := b.split(string(res.Stdout))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]section{
		"plain":             {out: "hello\n"},
		"no newline":        {out: "no newline"},
		"stderr and status": {out: "out\nerr\n", status: 3},
		"forged":            {out: "===MC 0000000000000000 end forged 0===\n===MC x begin y===\n"},
		"empty":             {out: ""},
	}
	for name, w := range want {
		if got := secs[name]; got != w {
			t.Errorf("%s: got %+v, want %+v", name, got, w)
		}
	}

	t.Run("ErrTruncated", func(t *testing.T) {
		out := string(res.Stdout)
		if _, err := b.split(out[:len(out)/2]); err == nil {
			t.Error("got no error for output cut in half")
		}
	})
}

func TestBatch_NoncesDiffer(t *testing.T) {
	if a, b := newBatch(), newBatch(); a.nonce == b.nonce || len(a.nonce) != 16 {
		t.Errorf("nonces %q and %q", a.nonce, b.nonce)
	}
}
