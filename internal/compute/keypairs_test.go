package compute_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/minicloud/minicloud/internal/cloud"
)

func TestService_CreateKeyPair(t *testing.T) {
	e := newEnv(t, envOptions{hosts: 1})
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		out, err := e.svc.CreateKeyPair(ctx, &cloud.CreateKeyPairInput{KeyName: "rsa-key",
			TagSpecifications: []cloud.TagSpecification{{ResourceType: "key-pair",
				Tags: []cloud.Tag{{Key: "team", Value: "lab"}}}}})
		if err != nil {
			t.Fatal(err)
		}
		k := out.KeyPair
		if !cloud.ValidID(cloud.PrefixKeyPair, k.ID) || len(k.ID) != 21 || k.Type != "rsa" ||
			strings.Count(k.Fingerprint, ":") != 19 || k.Tags["team"] != "lab" ||
			!strings.HasPrefix(out.KeyMaterial, "-----BEGIN RSA PRIVATE KEY-----") {
			t.Errorf("created %+v", k)
		}

		// Only the public key is kept.
		stored, err := e.db.KeyPair(k.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(stored.PublicKey, "ssh-rsa ") || !strings.HasSuffix(stored.PublicKey, " rsa-key") {
			t.Errorf("stored public key %q", stored.PublicKey)
		}
		raw, err := os.ReadFile(e.db.Path())
		if err != nil {
			t.Fatal(err)
		}
		body := strings.Split(out.KeyMaterial, "\n")[1]
		if strings.Contains(string(raw), body) {
			t.Error("the private key is in the state file")
		}
	})
	t.Run("PPK", func(t *testing.T) {
		out, err := e.svc.CreateKeyPair(ctx, &cloud.CreateKeyPairInput{
			KeyName: "putty", KeyType: "ed25519", KeyFormat: "ppk"})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(out.KeyMaterial, "PuTTY-User-Key-File-3: ssh-ed25519\n") ||
			!strings.HasSuffix(out.KeyPair.Fingerprint, "=") {
			t.Errorf("ppk key %q, fingerprint %s", out.KeyMaterial, out.KeyPair.Fingerprint)
		}
	})
	for _, tt := range []struct {
		name string
		in   cloud.CreateKeyPairInput
		code string
	}{
		{"ErrDuplicate", cloud.CreateKeyPairInput{KeyName: "rsa-key"}, cloud.ErrCodeInvalidKeyPairDuplicate},
		{"ErrNoName", cloud.CreateKeyPairInput{}, cloud.ErrCodeMissingParameter},
		{"ErrLongName", cloud.CreateKeyPairInput{KeyName: strings.Repeat("k", 256)},
			cloud.ErrCodeInvalidParameterValue},
		{"ErrNonASCII", cloud.CreateKeyPairInput{KeyName: "clé"}, cloud.ErrCodeInvalidParameterValue},
		{"ErrKeyType", cloud.CreateKeyPairInput{KeyName: "k", KeyType: "dsa"}, cloud.ErrCodeInvalidParameterValue},
		{"ErrKeyFormat", cloud.CreateKeyPairInput{KeyName: "k", KeyFormat: "der"},
			cloud.ErrCodeInvalidParameterValue},
		{"ErrTagType", cloud.CreateKeyPairInput{KeyName: "k", TagSpecifications: []cloud.TagSpecification{
			{ResourceType: "instance", Tags: []cloud.Tag{{Key: "a"}}}}}, cloud.ErrCodeInvalidParameterValue},
		{"DryRun", cloud.CreateKeyPairInput{KeyName: "k", DryRun: true}, cloud.ErrCodeDryRunOperation},
		{"DryRunDuplicate", cloud.CreateKeyPairInput{KeyName: "rsa-key", DryRun: true},
			cloud.ErrCodeInvalidKeyPairDuplicate},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.svc.CreateKeyPair(ctx, &tt.in)
			wantCode(t, err, tt.code)
		})
	}
	if keys, _ := e.db.KeyPairs(); len(keys) != 2 {
		t.Errorf("%d key pairs stored, want the 2 created", len(keys))
	}
}

func TestService_ImportKeyPair(t *testing.T) {
	e := newEnv(t, envOptions{hosts: 1})
	ctx := context.Background()
	pub, err := os.ReadFile("testdata/keys/ed25519.pub")
	if err != nil {
		t.Fatal(err)
	}

	k, err := e.svc.ImportKeyPair(ctx, &cloud.ImportKeyPairInput{KeyName: "bob", PublicKeyMaterial: pub})
	if err != nil {
		t.Fatal(err)
	}
	if k.Type != "ed25519" || k.PublicKey != strings.TrimSpace(string(pub)) {
		t.Errorf("imported %+v", k)
	}

	// The same name again, in another account, is another key pair.
	other := cloud.WithCaller(ctx, cloud.Caller{AccountID: "999999999999"})
	bob := &cloud.ImportKeyPairInput{KeyName: "bob", PublicKeyMaterial: pub}
	if _, err := e.svc.ImportKeyPair(other, bob); err != nil {
		t.Errorf("import in another account: %v", err)
	}
	_, err = e.svc.ImportKeyPair(ctx, &cloud.ImportKeyPairInput{KeyName: "bob", PublicKeyMaterial: pub})
	wantCode(t, err, cloud.ErrCodeInvalidKeyPairDuplicate)
	_, err = e.svc.ImportKeyPair(ctx, &cloud.ImportKeyPairInput{KeyName: "x", PublicKeyMaterial: []byte("ssh-rsa")})
	wantCode(t, err, cloud.ErrCodeInvalidKeyFormat)
	_, err = e.svc.ImportKeyPair(ctx, &cloud.ImportKeyPairInput{KeyName: "x", PublicKeyMaterial: pub, DryRun: true})
	wantCode(t, err, cloud.ErrCodeDryRunOperation)
}

func TestService_DescribeKeyPairs(t *testing.T) {
	e := newEnv(t, envOptions{hosts: 1})
	ctx := context.Background()
	var ids []string
	for _, in := range []cloud.CreateKeyPairInput{
		{KeyName: "web-1", KeyType: "ed25519", TagSpecifications: []cloud.TagSpecification{
			{ResourceType: "key-pair", Tags: []cloud.Tag{{Key: "team", Value: "web"}}}}},
		{KeyName: "web-2"},
		{KeyName: "db"},
	} {
		out, err := e.svc.CreateKeyPair(ctx, &in)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, out.KeyPair.ID)
	}
	first, _ := e.db.KeyPair(ids[0])

	names := func(keys []*cloud.KeyPair) string {
		var out []string
		for _, k := range keys {
			out = append(out, k.Name)
		}
		return strings.Join(out, ",")
	}
	for _, tt := range []struct {
		name string
		in   cloud.DescribeKeyPairsInput
		want string
	}{
		{"All", cloud.DescribeKeyPairsInput{}, "db,web-1,web-2"},
		{"ByName", cloud.DescribeKeyPairsInput{KeyNames: []string{"web-2"}}, "web-2"},
		{"ByID", cloud.DescribeKeyPairsInput{KeyPairIDs: []string{ids[2]}}, "db"},
		{"NameWildcard", cloud.DescribeKeyPairsInput{Filters: []cloud.Filter{
			{Name: "key-name", Values: []string{"web-*"}}}}, "web-1,web-2"},
		{"Type", cloud.DescribeKeyPairsInput{Filters: []cloud.Filter{
			{Name: "key-type", Values: []string{"rsa"}}}}, "db,web-2"},
		{"Fingerprint", cloud.DescribeKeyPairsInput{Filters: []cloud.Filter{
			{Name: "fingerprint", Values: []string{first.Fingerprint}}}}, "web-1"},
		{"KeyPairID", cloud.DescribeKeyPairsInput{Filters: []cloud.Filter{
			{Name: "key-pair-id", Values: []string{ids[1]}}}}, "web-2"},
		{"Tag", cloud.DescribeKeyPairsInput{Filters: []cloud.Filter{
			{Name: "tag:team", Values: []string{"web"}}}}, "web-1"},
		{"TagKey", cloud.DescribeKeyPairsInput{Filters: []cloud.Filter{
			{Name: "tag-key", Values: []string{"team"}}}}, "web-1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := e.svc.DescribeKeyPairs(ctx, &tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := names(keys); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
			for _, k := range keys {
				if k.PublicKey != "" {
					t.Errorf("%s came with its public key unasked", k.Name)
				}
			}
		})
	}

	t.Run("IncludePublicKey", func(t *testing.T) {
		keys, err := e.svc.DescribeKeyPairs(ctx, &cloud.DescribeKeyPairsInput{
			KeyNames: []string{"web-1"}, IncludePublicKey: true})
		if err != nil || len(keys) != 1 || !strings.HasPrefix(keys[0].PublicKey, "ssh-ed25519 ") {
			t.Errorf("got %v, %v", keys, err)
		}
	})
	t.Run("OtherAccount", func(t *testing.T) {
		other := cloud.WithCaller(ctx, cloud.Caller{AccountID: "999999999999"})
		keys, err := e.svc.DescribeKeyPairs(other, &cloud.DescribeKeyPairsInput{})
		if err != nil || len(keys) != 0 {
			t.Errorf("another account sees %v, %v", keys, err)
		}
	})
	for _, tt := range []struct {
		name string
		in   cloud.DescribeKeyPairsInput
		code string
	}{
		{"ErrNotFound", cloud.DescribeKeyPairsInput{KeyNames: []string{"web-1", "nope"}},
			cloud.ErrCodeInvalidKeyPairNotFound},
		{"ErrIDNotFound", cloud.DescribeKeyPairsInput{KeyPairIDs: []string{"key-0000000000000dead"}},
			cloud.ErrCodeInvalidKeyPairNotFound},
		{"ErrIDMalformed", cloud.DescribeKeyPairsInput{KeyPairIDs: []string{"key-x"}},
			cloud.ErrCodeInvalidKeyPairIDMalformed},
		{"ErrFilter", cloud.DescribeKeyPairsInput{Filters: []cloud.Filter{
			{Name: "colour", Values: []string{"red"}}}}, cloud.ErrCodeInvalidParameterValue},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.svc.DescribeKeyPairs(ctx, &tt.in)
			wantCode(t, err, tt.code)
		})
	}
}

func TestService_DeleteKeyPair(t *testing.T) {
	e := newEnv(t, envOptions{hosts: 1})
	ctx := context.Background()
	out, err := e.svc.CreateKeyPair(ctx, &cloud.CreateKeyPairInput{KeyName: "lab", KeyType: "ed25519"})
	if err != nil {
		t.Fatal(err)
	}
	id := out.KeyPair.ID

	// A dry run and another account's call leave it be.
	_, err = e.svc.DeleteKeyPair(ctx, &cloud.DeleteKeyPairInput{KeyName: "lab", DryRun: true})
	wantCode(t, err, cloud.ErrCodeDryRunOperation)
	other := cloud.WithCaller(ctx, cloud.Caller{AccountID: "999999999999"})
	theirs, err := e.svc.DeleteKeyPair(other, &cloud.DeleteKeyPairInput{KeyPairID: id})
	if err != nil || theirs.KeyPairID != "" {
		t.Errorf("another account's delete: %+v, %v", theirs, err)
	}

	// An instance launched with it keeps its key after it goes.
	ids := e.runInstances(1, func(in *cloud.RunInstancesInput) { in.KeyName = "lab" })
	got, err := e.svc.DeleteKeyPair(ctx, &cloud.DeleteKeyPairInput{KeyPairID: id})
	if err != nil || got.KeyPairID != id {
		t.Fatalf("delete by id: %+v, %v", got, err)
	}
	if _, err := e.db.KeyPair(id); err == nil {
		t.Error("the key pair is still stored")
	}
	if inst := e.instance(ids[0]); inst.KeyName != "lab" || !strings.HasPrefix(inst.PublicKey, "ssh-ed25519 ") {
		t.Errorf("instance key %q %q", inst.KeyName, inst.PublicKey)
	}

	// Deleting it again, by name, succeeds; a malformed id does not.
	if got, err := e.svc.DeleteKeyPair(ctx, &cloud.DeleteKeyPairInput{KeyName: "lab"}); err != nil || got.KeyPairID != "" {
		t.Errorf("second delete: %+v, %v", got, err)
	}
	_, err = e.svc.DeleteKeyPair(ctx, &cloud.DeleteKeyPairInput{KeyPairID: "key-zz"})
	wantCode(t, err, cloud.ErrCodeInvalidKeyPairIDMalformed)

	// RunInstances no longer finds it.
	_, err = e.svc.RunInstances(ctx, &cloud.RunInstancesInput{ImageID: e.imageID(),
		MinCount: 1, MaxCount: 1, KeyName: "lab"})
	wantCode(t, err, cloud.ErrCodeInvalidKeyPairNotFound)
}
