package cloud

import (
	"context"
	"time"
)

// PrefixKeyPair starts every key pair id.
const PrefixKeyPair = "key-"

// Key types and private key formats, as EC2 names them.
const (
	KeyTypeRSA     = "rsa"
	KeyTypeED25519 = "ed25519"
	KeyFormatPEM   = "pem"
	KeyFormatPPK   = "ppk"
)

// EC2 error codes about key pairs.
const (
	ErrCodeInvalidKeyPairNotFound    = "InvalidKeyPair.NotFound"
	ErrCodeInvalidKeyPairDuplicate   = "InvalidKeyPair.Duplicate"
	ErrCodeInvalidKeyPairFormat      = "InvalidKeyPair.Format"
	ErrCodeInvalidKeyFormat          = "InvalidKey.Format"
	ErrCodeInvalidKeyPairIDMalformed = "InvalidKeyPairId.Malformed"
)

// KeyPair is an SSH key pair whose public half minicloud keeps and puts
// into the guests of the instances launched with it. The private half of
// a key pair minicloud made is handed out once, by CreateKeyPair, and
// never stored.
type KeyPair struct {
	ID      string
	Name    string
	OwnerID string
	// Type is KeyTypeRSA or KeyTypeED25519.
	Type string
	// Fingerprint is written as EC2 writes it; see KeyFingerprint.
	Fingerprint string
	// PublicKey is the OpenSSH public key line: "ssh-ed25519 AAAA… name".
	PublicKey  string
	CreateTime time.Time
	Tags       Tags `json:",omitempty"`
}

// Clone returns a deep copy of k.
func (k *KeyPair) Clone() *KeyPair {
	c := *k
	c.Tags = k.Tags.Clone()
	return &c
}

// KeyPairs is the part of the EC2 API that manages key pairs. Service
// embeds it.
type KeyPairs interface {
	CreateKeyPair(ctx context.Context, in *CreateKeyPairInput) (*CreateKeyPairOutput, error)
	ImportKeyPair(ctx context.Context, in *ImportKeyPairInput) (*KeyPair, error)
	DescribeKeyPairs(ctx context.Context, in *DescribeKeyPairsInput) ([]*KeyPair, error)
	DeleteKeyPair(ctx context.Context, in *DeleteKeyPairInput) (*DeleteKeyPairOutput, error)
}

// CreateKeyPairInput is a CreateKeyPair request. Empty KeyType and
// KeyFormat mean rsa and pem, as on EC2.
type CreateKeyPairInput struct {
	DryRun            bool
	KeyName           string
	KeyType           string
	KeyFormat         string
	TagSpecifications []TagSpecification
}

// CreateKeyPairOutput is the new key pair and its private key, which
// exists nowhere else.
type CreateKeyPairOutput struct {
	KeyPair     *KeyPair
	KeyMaterial string
}

// ImportKeyPairInput is an ImportKeyPair request. PublicKeyMaterial is
// the OpenSSH public key line, already decoded from the base64 the wire
// carries it in.
type ImportKeyPairInput struct {
	DryRun            bool
	KeyName           string
	PublicKeyMaterial []byte
	TagSpecifications []TagSpecification
}

// DescribeKeyPairsInput is a DescribeKeyPairs request. The public key is
// only returned with IncludePublicKey.
type DescribeKeyPairsInput struct {
	DryRun           bool
	KeyNames         []string
	KeyPairIDs       []string
	Filters          []Filter
	IncludePublicKey bool
}

// DeleteKeyPairInput names a key pair to delete by name or by id.
type DeleteKeyPairInput struct {
	DryRun    bool
	KeyName   string
	KeyPairID string
}

// DeleteKeyPairOutput is the answer to DeleteKeyPair: the id of the key
// pair deleted, empty when there was none.
type DeleteKeyPairOutput struct {
	KeyPairID string
}

// KeyPairNotFound reports a key pair name that does not exist, as
// RunInstances and DescribeKeyPairs word it.
func KeyPairNotFound(name string) *Error {
	return Errorf(ErrCodeInvalidKeyPairNotFound, "The key pair '%s' does not exist", name)
}
