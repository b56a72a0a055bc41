package compute

import (
	"crypto/ed25519"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/minicloud/minicloud/internal/cloud"
)

// rsaBits is the size of the RSA keys CreateKeyPair makes, as on EC2.
const rsaBits = 2048

// newKey is a key pair CreateKeyPair has just made.
type newKey struct {
	publicKey   ssh.PublicKey
	private     any // *rsa.PrivateKey or ed25519.PrivateKey
	fingerprint string
}

// generateKey makes a key of keyType, "rsa" or "ed25519", and computes its
// fingerprint the way EC2 does for the keys it makes: for RSA, the SHA-1
// of the PKCS#8 DER private key; for ED25519, the SHA-256 of the OpenSSH
// public key.
func generateKey(keyType string) (*newKey, error) {
	switch keyType {
	case cloud.KeyTypeRSA:
		priv, err := rsa.GenerateKey(rand.Reader, rsaBits)
		if err != nil {
			return nil, fmt.Errorf("compute: generate rsa key: %w", err)
		}
		fingerprint, err := createdRSAFingerprint(priv)
		if err != nil {
			return nil, err
		}
		pub, err := ssh.NewPublicKey(&priv.PublicKey)
		if err != nil {
			return nil, err
		}
		return &newKey{publicKey: pub, private: priv, fingerprint: fingerprint}, nil

	case cloud.KeyTypeED25519:
		pubKey, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("compute: generate ed25519 key: %w", err)
		}
		pub, err := ssh.NewPublicKey(pubKey)
		if err != nil {
			return nil, err
		}
		return &newKey{publicKey: pub, private: priv, fingerprint: sha256Fingerprint(pub)}, nil
	}
	return nil, fmt.Errorf("compute: unknown key type %q", keyType)
}

// createdRSAFingerprint is the fingerprint EC2 gives an RSA key it made:
// the SHA-1 of the key's PKCS#8 DER encoding, in colon-separated hex.
func createdRSAFingerprint(priv *rsa.PrivateKey) (string, error) {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", fmt.Errorf("compute: encode rsa key: %w", err)
	}
	sum := sha1.Sum(der)
	return colonHex(sum[:]), nil
}

// privatePEM returns the private key as EC2 hands it out in pem format:
// RSA as PKCS#1 ("BEGIN RSA PRIVATE KEY"), ED25519 in OpenSSH's own
// format, which is the one ssh reads ED25519 keys in.
func (k *newKey) privatePEM() (string, error) {
	var block *pem.Block
	switch priv := k.private.(type) {
	case *rsa.PrivateKey:
		block = &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(priv)}
	case ed25519.PrivateKey:
		var err error
		if block, err = ssh.MarshalPrivateKey(priv, ""); err != nil {
			return "", fmt.Errorf("compute: encode ed25519 key: %w", err)
		}
	default:
		return "", fmt.Errorf("compute: no pem form for %T", k.private)
	}
	return strings.TrimSuffix(string(pem.EncodeToMemory(block)), "\n"), nil
}

// parsePublicKey reads an OpenSSH public key line for ImportKeyPair and
// returns the key, its type and its fingerprint the way EC2 computes it
// for imported keys: for RSA, the MD5 of the DER (PKIX) public key; for
// ED25519, the SHA-256 of the OpenSSH public key.
func parsePublicKey(material []byte) (ssh.PublicKey, string, string, error) {
	pub, _, _, _, err := ssh.ParseAuthorizedKey(material)
	if err != nil {
		return nil, "", "", cloud.Errorf(cloud.ErrCodeInvalidKeyFormat,
			"Key is not in valid OpenSSH public key format")
	}
	switch pub.Type() {
	case ssh.KeyAlgoRSA:
		crypto, ok := pub.(ssh.CryptoPublicKey)
		if !ok {
			return nil, "", "", fmt.Errorf("compute: rsa key %T has no crypto key", pub)
		}
		der, err := x509.MarshalPKIXPublicKey(crypto.CryptoPublicKey())
		if err != nil {
			return nil, "", "", cloud.Errorf(cloud.ErrCodeInvalidKeyFormat,
				"Key is not in valid OpenSSH public key format")
		}
		sum := md5.Sum(der)
		return pub, cloud.KeyTypeRSA, colonHex(sum[:]), nil
	case ssh.KeyAlgoED25519:
		return pub, cloud.KeyTypeED25519, sha256Fingerprint(pub), nil
	}
	return nil, "", "", cloud.Errorf(cloud.ErrCodeInvalidKeyPairFormat,
		"The key type %s is not supported. Import an RSA or ED25519 key.", pub.Type())
}

// publicKeyLine writes pub as an OpenSSH public key line with comment.
func publicKeyLine(pub ssh.PublicKey, comment string) string {
	line := strings.TrimSuffix(string(ssh.MarshalAuthorizedKey(pub)), "\n")
	if comment != "" {
		line += " " + comment
	}
	return line
}

// sha256Fingerprint is EC2's ED25519 fingerprint: the SHA-256 of the
// OpenSSH wire form of the key, in padded base64. ssh-keygen prints the
// same digest without the padding and with a "SHA256:" prefix.
func sha256Fingerprint(pub ssh.PublicKey) string {
	sum := sha256.Sum256(pub.Marshal())
	return base64.StdEncoding.EncodeToString(sum[:])
}

// colonHex writes b as lower-case hex pairs joined by colons, as EC2
// writes RSA fingerprints.
func colonHex(b []byte) string {
	h := hex.EncodeToString(b)
	var out strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			out.WriteByte(':')
		}
		out.WriteString(h[i : i+2])
	}
	return out.String()
}
