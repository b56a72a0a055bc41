package hypervisor

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"
)

// HostKey is what an ESXi host's SSH key must match: the key itself, or
// its SHA256 fingerprint as `ssh-keygen -lf` prints it ("SHA256:...").
type HostKey struct {
	Key         ssh.PublicKey // the exact key, if known
	Fingerprint string        // "SHA256:" and unpadded base64, if Key is nil
}

// ParseHostKey reads a host key from a known_hosts line ("host ssh-ed25519
// AAAA..."), an authorized_keys-style line ("ssh-ed25519 AAAA..."), or a
// SHA256 fingerprint ("SHA256:..."). It returns an error for anything else.
func ParseHostKey(s string) (HostKey, error) {
	s = strings.TrimSpace(s)

	// A fingerprint.
	if fp, ok := strings.CutPrefix(s, "SHA256:"); ok {
		fp = strings.TrimRight(fp, "=")
		raw, err := base64.RawStdEncoding.DecodeString(fp)
		if err != nil || len(raw) != 32 {
			return HostKey{}, fmt.Errorf("host key fingerprint %q is not SHA256 base64", s)
		}
		return HostKey{Fingerprint: "SHA256:" + fp}, nil
	}

	// A bare key, then a known_hosts line.
	if key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(s)); err == nil {
		return HostKey{Key: key}, nil
	}
	_, _, key, _, _, err := ssh.ParseKnownHosts([]byte(s))
	if err != nil {
		return HostKey{}, fmt.Errorf("host key %q: not a key, known_hosts line or fingerprint", s)
	}
	return HostKey{Key: key}, nil
}

// String returns the key's SHA256 fingerprint.
func (h HostKey) String() string {
	if h.Key != nil {
		return ssh.FingerprintSHA256(h.Key)
	}
	return h.Fingerprint
}

// matches reports whether the host presented the expected key.
func (h HostKey) matches(got ssh.PublicKey) bool {
	if h.Key != nil {
		return bytes.Equal(h.Key.Marshal(), got.Marshal())
	}
	return h.Fingerprint != "" && ssh.FingerprintSHA256(got) == h.Fingerprint
}

// algorithms returns the host key algorithms to ask for, so that a host
// with several keys presents the one that is pinned.
func (h HostKey) algorithms() []string {
	if h.Key == nil {
		return nil
	}
	if h.Key.Type() == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{h.Key.Type()}
}
