package compute

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/minicloud/minicloud/internal/cloud"
	"github.com/minicloud/minicloud/internal/store"
)

// KeyPairStore is the part of the state file that keeps key pairs.
// *store.DB implements it.
type KeyPairStore interface {
	CreateKeyPair(k *cloud.KeyPair) error
	KeyPair(id string) (*cloud.KeyPair, error)
	KeyPairs() ([]*cloud.KeyPair, error)
	UpdateKeyPair(id string, fn func(*cloud.KeyPair) error) (*cloud.KeyPair, error)
	DeleteKeyPair(id string) error
}

// maxKeyNameLen is the longest key pair name EC2 takes.
const maxKeyNameLen = 255

// keyPairFilters are the DescribeKeyPairs filter names, besides the tag
// filters.
var keyPairFilters = map[string]func(*cloud.KeyPair) []string{
	"key-name":    func(k *cloud.KeyPair) []string { return one(k.Name) },
	"key-pair-id": func(k *cloud.KeyPair) []string { return one(k.ID) },
	"fingerprint": func(k *cloud.KeyPair) []string { return one(k.Fingerprint) },
	"key-type":    func(k *cloud.KeyPair) []string { return one(k.Type) },
}

func keyPairTags(k *cloud.KeyPair) cloud.Tags { return k.Tags }

// CreateKeyPair makes an RSA (2048 bits) or ED25519 key pair, keeps its
// public key and returns its private key, which minicloud does not keep:
// it cannot be had again.
func (s *Service) CreateKeyPair(ctx context.Context, in *cloud.CreateKeyPairInput) (*cloud.CreateKeyPairOutput, error) {
	keyType, format := in.KeyType, in.KeyFormat
	if keyType == "" {
		keyType = cloud.KeyTypeRSA
	}
	if format == "" {
		format = cloud.KeyFormatPEM
	}
	if keyType != cloud.KeyTypeRSA && keyType != cloud.KeyTypeED25519 {
		return nil, cloud.InvalidValue("KeyType", keyType, "Valid values are rsa and ed25519.")
	}
	if format != cloud.KeyFormatPEM && format != cloud.KeyFormatPPK {
		return nil, cloud.InvalidValue("KeyFormat", format, "Valid values are pem and ppk.")
	}
	tags, err := s.checkNewKeyPair(ctx, in.KeyName, in.TagSpecifications)
	if err != nil {
		return nil, err
	}
	if in.DryRun {
		return nil, cloud.ErrDryRun
	}

	// Make the key and write its private half out, then keep the public.
	key, err := generateKey(keyType)
	if err != nil {
		return nil, err
	}
	var material string
	if format == cloud.KeyFormatPPK {
		material, err = key.privatePPK(in.KeyName)
	} else {
		material, err = key.privatePEM()
	}
	if err != nil {
		return nil, err
	}
	kp := s.newKeyPair(ctx, in.KeyName, keyType, key.fingerprint,
		publicKeyLine(key.publicKey, in.KeyName), tags)
	if err := s.putKeyPair(kp); err != nil {
		return nil, err
	}
	s.log.Info("key pair created", "key_pair", kp.ID, "type", keyType)
	return &cloud.CreateKeyPairOutput{KeyPair: kp, KeyMaterial: material}, nil
}

// ImportKeyPair keeps the RSA or ED25519 public key of a key pair made
// elsewhere.
func (s *Service) ImportKeyPair(ctx context.Context, in *cloud.ImportKeyPairInput) (*cloud.KeyPair, error) {
	if len(in.PublicKeyMaterial) == 0 {
		return nil, cloud.MissingParameter("PublicKeyMaterial")
	}
	tags, err := s.checkNewKeyPair(ctx, in.KeyName, in.TagSpecifications)
	if err != nil {
		return nil, err
	}
	pub, keyType, fingerprint, err := parsePublicKey(in.PublicKeyMaterial)
	if err != nil {
		return nil, err
	}
	if in.DryRun {
		return nil, cloud.ErrDryRun
	}

	kp := s.newKeyPair(ctx, in.KeyName, keyType, fingerprint,
		publicKeyLine(pub, importComment(in.PublicKeyMaterial)), tags)
	if err := s.putKeyPair(kp); err != nil {
		return nil, err
	}
	s.log.Info("key pair imported", "key_pair", kp.ID, "type", keyType)
	return kp, nil
}

// importComment returns the comment of an OpenSSH public key line: what
// follows the key, such as "alice@laptop".
func importComment(line []byte) string {
	fields := strings.Fields(strings.SplitN(string(line), "\n", 2)[0])
	for i, f := range fields {
		if strings.HasPrefix(f, "ssh-") && i+2 < len(fields) {
			return strings.Join(fields[i+2:], " ")
		}
	}
	return ""
}

// checkNewKeyPair validates the name and tags of a key pair to create,
// and refuses a name the caller already uses.
func (s *Service) checkNewKeyPair(ctx context.Context, name string,
	specs []cloud.TagSpecification,
) (cloud.Tags, error) {
	if err := checkKeyName(name); err != nil {
		return nil, err
	}
	tags, err := keyPairSpecTags(specs)
	if err != nil {
		return nil, err
	}
	if k, err := s.keyPairByName(ctx, name); err != nil {
		return nil, err
	} else if k != nil {
		return nil, duplicateKeyPair(name)
	}
	return tags, nil
}

// checkKeyName applies EC2's rule for key pair names: 1 to 255 ASCII
// characters.
func checkKeyName(name string) error {
	if name == "" {
		return cloud.MissingParameter("KeyName")
	}
	if len(name) > maxKeyNameLen {
		return cloud.InvalidValue("KeyName", name, "Length exceeds maximum of 255.")
	}
	for i := 0; i < len(name); i++ {
		if name[i] < 0x20 || name[i] > 0x7e {
			return cloud.InvalidValue("KeyName", name, "Character sets beyond ASCII are not supported.")
		}
	}
	return nil
}

// keyPairSpecTags returns the tags TagSpecifications give a key pair:
// only the resource type key-pair may be named.
func keyPairSpecTags(specs []cloud.TagSpecification) (cloud.Tags, error) {
	var tags cloud.Tags
	for _, spec := range specs {
		if spec.ResourceType == "" {
			return nil, cloud.MissingParameter("TagSpecification.ResourceType")
		}
		if spec.ResourceType != "key-pair" {
			return nil, cloud.Errorf(cloud.ErrCodeInvalidParameterValue,
				"'%s' is not a valid taggable resource type for this operation.", spec.ResourceType)
		}
		if err := checkTags(spec.Tags); err != nil {
			return nil, err
		}
		if tags == nil {
			tags = cloud.Tags{}
		}
		for _, t := range spec.Tags {
			tags[t.Key] = t.Value
		}
	}
	return tags, nil
}

// newKeyPair returns a key pair owned by the caller, created now.
func (s *Service) newKeyPair(ctx context.Context, name, keyType, fingerprint, public string,
	tags cloud.Tags,
) *cloud.KeyPair {
	return &cloud.KeyPair{
		ID: cloud.NewID(cloud.PrefixKeyPair), Name: name, OwnerID: caller(ctx).AccountID,
		Type: keyType, Fingerprint: fingerprint, PublicKey: public,
		CreateTime: s.now().UTC().Truncate(time.Millisecond), Tags: tags,
	}
}

// putKeyPair stores a new key pair; a name taken since it was checked is
// InvalidKeyPair.Duplicate.
func (s *Service) putKeyPair(kp *cloud.KeyPair) error {
	err := s.store.CreateKeyPair(kp)
	if errors.Is(err, store.ErrExists) {
		return duplicateKeyPair(kp.Name)
	}
	return err
}

func duplicateKeyPair(name string) error {
	return cloud.Errorf(cloud.ErrCodeInvalidKeyPairDuplicate,
		"The keypair '%s' already exists.", name)
}

// keyPairByName returns the caller's key pair called name, or nil.
func (s *Service) keyPairByName(ctx context.Context, name string) (*cloud.KeyPair, error) {
	all, err := s.ownKeyPairs(ctx)
	if err != nil {
		return nil, err
	}
	for _, k := range all {
		if k.Name == name {
			return k, nil
		}
	}
	return nil, nil
}

// ownKeyPairs returns the caller's key pairs, in id order.
func (s *Service) ownKeyPairs(ctx context.Context) ([]*cloud.KeyPair, error) {
	all, err := s.store.KeyPairs()
	if err != nil {
		return nil, err
	}
	who := caller(ctx).AccountID
	return slices.DeleteFunc(all, func(k *cloud.KeyPair) bool { return k.OwnerID != who }), nil
}

// DescribeKeyPairs lists the caller's key pairs that have the names and
// ids asked for, if any, and pass the filters, ordered by name. A name or
// id that names no key pair is InvalidKeyPair.NotFound.
func (s *Service) DescribeKeyPairs(ctx context.Context, in *cloud.DescribeKeyPairsInput) ([]*cloud.KeyPair, error) {
	match, err := compileFilters(in.Filters, keyPairFilters, keyPairTags)
	if err != nil {
		return nil, err
	}
	for _, id := range in.KeyPairIDs {
		if !cloud.ValidID(cloud.PrefixKeyPair, id) {
			return nil, cloud.Errorf(cloud.ErrCodeInvalidKeyPairIDMalformed,
				"Invalid id: \"%s\" (expecting \"key-...\")", id)
		}
	}
	if in.DryRun {
		return nil, cloud.ErrDryRun
	}
	all, err := s.ownKeyPairs(ctx)
	if err != nil {
		return nil, err
	}

	// Every name and id asked for must exist.
	byName, byID := map[string]*cloud.KeyPair{}, map[string]*cloud.KeyPair{}
	for _, k := range all {
		byName[k.Name], byID[k.ID] = k, k
	}
	for _, name := range in.KeyNames {
		if byName[name] == nil {
			return nil, cloud.KeyPairNotFound(name)
		}
	}
	for _, id := range in.KeyPairIDs {
		if byID[id] == nil {
			return nil, cloud.Errorf(cloud.ErrCodeInvalidKeyPairNotFound,
				"The key pair ID '%s' does not exist", id)
		}
	}

	// Keep those asked for that match, without their public keys unless
	// those were asked for too.
	var out []*cloud.KeyPair
	for _, k := range all {
		named := len(in.KeyNames)+len(in.KeyPairIDs) == 0 ||
			slices.Contains(in.KeyNames, k.Name) || slices.Contains(in.KeyPairIDs, k.ID)
		if !named || !match(k) {
			continue
		}
		if !in.IncludePublicKey {
			k.PublicKey = ""
		}
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b *cloud.KeyPair) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// DeleteKeyPair deletes the caller's key pair named by name or id.
// Deleting a key pair that does not exist succeeds, as on EC2; instances
// launched with it keep its public key.
func (s *Service) DeleteKeyPair(ctx context.Context, in *cloud.DeleteKeyPairInput) (*cloud.DeleteKeyPairOutput, error) {
	if in.KeyName == "" && in.KeyPairID == "" {
		return nil, cloud.MissingParameter("KeyName or KeyPairId")
	}
	if in.KeyPairID != "" && !cloud.ValidID(cloud.PrefixKeyPair, in.KeyPairID) {
		return nil, cloud.Errorf(cloud.ErrCodeInvalidKeyPairIDMalformed,
			"Invalid id: \"%s\" (expecting \"key-...\")", in.KeyPairID)
	}
	all, err := s.ownKeyPairs(ctx)
	if err != nil {
		return nil, err
	}
	var victim *cloud.KeyPair
	for _, k := range all {
		if (in.KeyPairID == "" || k.ID == in.KeyPairID) && (in.KeyName == "" || k.Name == in.KeyName) {
			victim = k
		}
	}
	if in.DryRun {
		return nil, cloud.ErrDryRun
	}
	if victim == nil {
		return &cloud.DeleteKeyPairOutput{}, nil
	}
	if err := s.store.DeleteKeyPair(victim.ID); err != nil {
		return nil, err
	}
	s.log.Info("key pair deleted", "key_pair", victim.ID)
	return &cloud.DeleteKeyPairOutput{KeyPairID: victim.ID}, nil
}

// launchKey returns the public key of the caller's key pair called name,
// for RunInstances, or InvalidKeyPair.NotFound.
func (s *Service) launchKey(ctx context.Context, name string) (string, error) {
	k, err := s.keyPairByName(ctx, name)
	if err != nil {
		return "", err
	}
	if k == nil {
		return "", cloud.KeyPairNotFound(name)
	}
	return k.PublicKey, nil
}
