package ec2

import (
	"encoding/base64"
	"strings"

	"github.com/minicloud/minicloud/internal/cloud"
)

func decodeCreateKeyPair(p *params) (*cloud.CreateKeyPairInput, error) {
	in := &cloud.CreateKeyPairInput{
		DryRun:            p.boolean("DryRun"),
		KeyName:           p.str("KeyName"),
		KeyType:           p.str("KeyType"),
		KeyFormat:         p.str("KeyFormat"),
		TagSpecifications: decodeTagSpecifications(p),
	}
	if !p.has("KeyName") {
		p.fail(cloud.MissingParameter("KeyName"))
	}
	return in, p.err
}

func decodeImportKeyPair(p *params) (*cloud.ImportKeyPairInput, error) {
	in := &cloud.ImportKeyPairInput{
		DryRun:            p.boolean("DryRun"),
		KeyName:           p.str("KeyName"),
		TagSpecifications: decodeTagSpecifications(p),
	}
	switch {
	case !p.has("KeyName"):
		p.fail(cloud.MissingParameter("KeyName"))
	case p.str("PublicKeyMaterial") == "":
		p.fail(cloud.MissingParameter("PublicKeyMaterial"))
	}

	// The key line travels base64-encoded, as every blob does. Text that
	// is not base64 is most often the key line itself, sent by a client
	// that did not encode it: EC2 calls that a key in the wrong format.
	if v := p.str("PublicKeyMaterial"); v != "" {
		data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
		if err != nil {
			p.fail(cloud.Errorf(cloud.ErrCodeInvalidKeyFormat,
				"Key is not in valid OpenSSH public key format"))
		}
		in.PublicKeyMaterial = data
	}
	return in, p.err
}

func decodeDescribeKeyPairs(p *params) (*cloud.DescribeKeyPairsInput, error) {
	in := &cloud.DescribeKeyPairsInput{
		DryRun:           p.boolean("DryRun"),
		KeyNames:         p.list("KeyName"),
		KeyPairIDs:       p.list("KeyPairId"),
		Filters:          p.filters(),
		IncludePublicKey: p.boolean("IncludePublicKey"),
	}
	return in, p.err
}

func decodeDeleteKeyPair(p *params) (*cloud.DeleteKeyPairInput, error) {
	in := &cloud.DeleteKeyPairInput{
		DryRun:    p.boolean("DryRun"),
		KeyName:   p.str("KeyName"),
		KeyPairID: p.str("KeyPairId"),
	}
	if in.KeyName == "" && in.KeyPairID == "" {
		p.fail(cloud.MissingParameter("KeyName or KeyPairId"))
	}
	return in, p.err
}

// encodeCreateKeyPair writes the new key pair and, once only, its
// private key.
func encodeCreateKeyPair(e *encoder, out *cloud.CreateKeyPairOutput) {
	k := out.KeyPair
	e.text("keyName", k.Name)
	e.text("keyFingerprint", k.Fingerprint)
	e.text("keyMaterial", out.KeyMaterial)
	e.text("keyPairId", k.ID)
	e.tagSet(k.Tags)
}

func encodeImportKeyPair(e *encoder, k *cloud.KeyPair) {
	e.text("keyName", k.Name)
	e.text("keyFingerprint", k.Fingerprint)
	e.text("keyPairId", k.ID)
	e.tagSet(k.Tags)
}

func encodeDescribeKeyPairs(e *encoder, keys []*cloud.KeyPair) {
	set(&e.xmlWriter, "keySet", keys, func(k *cloud.KeyPair) {
		e.text("keyPairId", k.ID)
		e.text("keyName", k.Name)
		e.text("keyFingerprint", k.Fingerprint)
		e.text("keyType", k.Type)
		e.tagSet(k.Tags)
		e.opt("publicKey", k.PublicKey)
		e.timestamp("createTime", k.CreateTime)
	})
}

// encodeDeleteKeyPair answers true, with the id of the key pair deleted
// when there was one.
func encodeDeleteKeyPair(e *encoder, out *cloud.DeleteKeyPairOutput) {
	e.boolean("return", true)
	e.opt("keyPairId", out.KeyPairID)
}
