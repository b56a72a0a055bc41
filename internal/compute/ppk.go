package compute

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"

	"golang.org/x/crypto/ssh"
)

// privatePPK returns the private key in PuTTY's key file format, version
// 3, unencrypted: what CreateKeyPair hands out with KeyFormat ppk.
//
// The file holds the OpenSSH public key blob and a private blob (RSA: d,
// p, q and q⁻¹ mod p as SSH mpints; ED25519: the 32-byte seed as an SSH
// string), each in base64 lines of 64 characters, and ends with an
// HMAC-SHA-256 over the algorithm, encryption, comment and both blobs.
// Without encryption the MAC's key is empty.
func (k *newKey) privatePPK(comment string) (string, error) {
	var private []byte
	switch priv := k.private.(type) {
	case *rsa.PrivateKey:
		if len(priv.Primes) != 2 {
			return "", fmt.Errorf("compute: ppk: rsa key with %d primes", len(priv.Primes))
		}
		p, q := priv.Primes[0], priv.Primes[1]
		iqmp := new(big.Int).ModInverse(q, p)
		private = ssh.Marshal(struct{ D, P, Q, Iqmp *big.Int }{priv.D, p, q, iqmp})
	case ed25519.PrivateKey:
		private = ssh.Marshal(struct{ Seed []byte }{priv.Seed()})
	default:
		return "", fmt.Errorf("compute: no ppk form for %T", k.private)
	}
	algo, public := k.publicKey.Type(), k.publicKey.Marshal()

	// The MAC covers every field that describes the key.
	mac := hmac.New(sha256.New, nil)
	mac.Write(ssh.Marshal(struct {
		Algo, Encryption, Comment string
		Public, Private           []byte
	}{algo, "none", comment, public, private}))

	var b strings.Builder
	fmt.Fprintf(&b, "PuTTY-User-Key-File-3: %s\n", algo)
	b.WriteString("Encryption: none\n")
	fmt.Fprintf(&b, "Comment: %s\n", comment)
	writePPKLines(&b, "Public-Lines", public)
	writePPKLines(&b, "Private-Lines", private)
	fmt.Fprintf(&b, "Private-MAC: %s\n", hex.EncodeToString(mac.Sum(nil)))
	return b.String(), nil
}

// writePPKLines writes a blob as a PuTTY key file section: its line
// count, then base64 in lines of 64 characters.
func writePPKLines(b *strings.Builder, header string, blob []byte) {
	text := base64.StdEncoding.EncodeToString(blob)
	fmt.Fprintf(b, "%s: %d\n", header, (len(text)+63)/64)
	for len(text) > 64 {
		b.WriteString(text[:64])
		b.WriteByte('\n')
		text = text[64:]
	}
	b.WriteString(text)
	b.WriteByte('\n')
}
