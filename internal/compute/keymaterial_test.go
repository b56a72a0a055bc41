package compute

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/minicloud/minicloud/internal/cloud"
)

// readFixture returns a file of testdata/keys, without its final newline.
// The keys there were made by ssh-keygen; each .fingerprint file holds
// what openssl or ssh-keygen computes for it the way EC2's documentation
// says to check a fingerprint.
func readFixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "keys", name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(string(b), "\n")
}

func TestParsePublicKey(t *testing.T) {
	t.Run("RSA", func(t *testing.T) {
		_, keyType, got, err := parsePublicKey([]byte(readFixture(t, "rsa.pub")))
		if err != nil {
			t.Fatal(err)
		}
		if want := readFixture(t, "rsa.pub.fingerprint"); got != want || keyType != "rsa" {
			t.Errorf("fingerprint %s (%s), want %s (openssl md5 of the DER public key)", got, keyType, want)
		}
	})
	t.Run("ED25519", func(t *testing.T) {
		_, keyType, got, err := parsePublicKey([]byte(readFixture(t, "ed25519.pub")))
		if err != nil {
			t.Fatal(err)
		}
		if want := readFixture(t, "ed25519.pub.fingerprint"); got != want || keyType != "ed25519" {
			t.Errorf("fingerprint %s (%s), want %s (ssh-keygen's, padded)", got, keyType, want)
		}
	})
	for _, tt := range []struct {
		name, material, code string
	}{
		{"ErrECDSA", readFixture(t, "ecdsa.pub"), cloud.ErrCodeInvalidKeyPairFormat},
		{"ErrGarbage", "ssh-rsa bm90IGEga2V5 x", cloud.ErrCodeInvalidKeyFormat},
		{"ErrPrivateKey", "-----BEGIN RSA PRIVATE KEY-----", cloud.ErrCodeInvalidKeyFormat},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, err := parsePublicKey([]byte(tt.material))
			var ce *cloud.Error
			if !errors.As(err, &ce) || ce.Code != tt.code {
				t.Errorf("err = %v, want %s", err, tt.code)
			}
		})
	}
}

func TestCreatedRSAFingerprint(t *testing.T) {
	block, _ := pem.Decode([]byte(readFixture(t, "rsa")))
	priv, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	got, err := createdRSAFingerprint(priv)
	if err != nil {
		t.Fatal(err)
	}
	if want := readFixture(t, "rsa.fingerprint"); got != want {
		t.Errorf("fingerprint %s, want %s (openssl sha1 of the PKCS#8 key)", got, want)
	}
}

func TestGenerateKey(t *testing.T) {
	for _, keyType := range []string{cloud.KeyTypeRSA, cloud.KeyTypeED25519} {
		t.Run(keyType, func(t *testing.T) {
			k, err := generateKey(keyType)
			if err != nil {
				t.Fatal(err)
			}

			// The PEM is a key ssh reads, and the public key is its own.
			text, err := k.privatePEM()
			if err != nil {
				t.Fatal(err)
			}
			signer, err := ssh.ParsePrivateKey([]byte(text))
			if err != nil {
				t.Fatalf("ssh cannot read the private key: %v\n%s", err, text)
			}
			if got, want := signer.PublicKey().Marshal(), k.publicKey.Marshal(); string(got) != string(want) {
				t.Error("the private key does not match the public key")
			}
			if rsaKey, ok := k.private.(*rsa.PrivateKey); ok {
				if rsaKey.N.BitLen() != 2048 || !strings.HasPrefix(text, "-----BEGIN RSA PRIVATE KEY-----") {
					t.Errorf("rsa key of %d bits, pem %.32q", rsaKey.N.BitLen(), text)
				}
			}

			// PuTTY reads the ppk form and finds the same key in it.
			testPPK(t, k)
		})
	}
}

// testPPK has puttygen convert the ppk form to OpenSSH's and compares the
// public key ssh-keygen derives from the result.
func testPPK(t *testing.T, k *newKey) {
	t.Helper()
	if _, err := exec.LookPath("puttygen"); err != nil {
		t.Log("puttygen is not installed; the ppk form is not checked")
		return
	}
	dir := t.TempDir()
	text, err := k.privatePPK("lab key")
	if err != nil {
		t.Fatal(err)
	}
	in, out := filepath.Join(dir, "k.ppk"), filepath.Join(dir, "k")
	if err := os.WriteFile(in, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command("puttygen", in, "-O", "private-openssh", "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("puttygen refused the ppk: %v %s\n%s", err, b, text)
	}
	derived, err := exec.Command("ssh-keygen", "-y", "-f", out).Output()
	if err != nil {
		t.Fatal(err)
	}
	want := string(ssh.MarshalAuthorizedKey(k.publicKey))
	if !strings.HasPrefix(string(derived), strings.TrimSpace(want)) {
		t.Errorf("puttygen's key %q, want %q", derived, want)
	}
}

func TestColonHex(t *testing.T) {
	if got := colonHex([]byte{0x0a, 0xff, 0x10}); got != "0a:ff:10" {
		t.Errorf("colonHex = %q", got)
	}
}
