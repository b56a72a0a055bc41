package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/minicloud/minicloud/internal/config"
	"github.com/minicloud/minicloud/internal/esxisim"
	"github.com/minicloud/minicloud/internal/hypervisor"
	"github.com/minicloud/minicloud/internal/testhost"
	"golang.org/x/crypto/ssh"
)

// TestE2E_Injection sends every string a user controls through minicloud
// to a host made of OpenSSH's sshd and busybox ash, as ESXi is (see
// internal/testhost), in real launches: tag keys and values, key pair
// names and key comments, security group names and descriptions, image
// names, descriptions and template paths, user data, filter values and
// client tokens. Each carries what breaks careless quoting: command
// substitution, quotes and backslashes, newlines, glob characters, .vmx
// escapes and spaces. No command a value holds may run, every value must
// read back exactly through the API, and user data and public keys,
// which reach the host in the .vmx, must decode back exactly from it.
func TestE2E_Injection(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an sshd and launches through it; skipped with -short")
	}
	env := testhost.NewEnv(t)
	in := &injection{t: t, mark: markerDir(t)}
	in.host = env.Start(t, esxisim.Config{
		Name: "esxi-openssh", CPUThreads: 16, MemoryBytes: 64 << 30,
		Templates: []esxisim.Template{{Name: "debian-12", SizeGB: 1, GuestOS: "debian12_64Guest"}},
		BootDelay: 100 * time.Millisecond,
	})
	in.c = openOnHost(t, env, in.host)
	in.canary(t, env)

	t.Run("SecurityGroup", in.securityGroup)
	t.Run("KeyPair", in.keyPair)
	t.Run("TemplatePath", in.templatePath)
	t.Run("Launch", in.launch)
	if in.instance == "" {
		t.Fatal("no instance was launched; the rest needs one")
	}
	t.Run("Filters", in.filters)
	t.Run("GuestinfoOnHost", in.guestinfo)
	t.Run("UserDataChange", in.userDataChange)
	t.Run("CreateImage", in.createImage)
	t.Run("MissingTemplatePath", in.missingTemplate)
	in.checkNoMarks()

	// All of it went through sshd and busybox to the host's programs.
	st := in.host.Stats(t)
	if st.VimCmds["solo/registervm"] == 0 || st.Commands["vmkfstools"] < 2 {
		t.Errorf("the host's command log shows no launch through sshd: %+v", st)
	}
}

// canary proves the check can fail: a command run on the host through
// sshd can touch a file in the marker folder, and checkNoMarks sees it.
func (in *injection) canary(t *testing.T, env *testhost.Env) {
	t.Helper()
	tr, err := hypervisor.NewSSH(hypervisor.SSHConfig{
		Host: "canary", Addr: in.host.Addr, User: in.host.User, HostKey: in.host.HostKey,
		Signers: []ssh.Signer{env.Client},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	res, err := tr.Run(context.Background(), "touch "+hypervisor.Quote(in.mark+"/canary"), nil)
	if err != nil || res.ExitStatus != 0 {
		t.Fatalf("touch the canary through sshd: %v, %+v", err, res)
	}
	if got := in.marks(); len(got) != 1 || !strings.HasSuffix(got[0], "/canary") {
		t.Fatalf("the canary is not found where a command would leave its mark: %v", got)
	}
	if err := os.Remove(filepath.Join(in.mark, "canary")); err != nil {
		t.Fatal(err)
	}
}

// injection is the state the parts of TestE2E_Injection share.
type injection struct {
	t    *testing.T
	mark string // the folder a command that ran would touch a file in
	host *testhost.Host
	c    *ec2.Client

	group     string // the security group's id
	keyName   string
	publicKey string // as DescribeKeyPairs gives it back
	ami       string // the image of the template with a hostile path
	instance  string
	tags      []types.Tag
	userData  []byte
}

// hostile returns the values the test sends: each breaks out of a
// careless quoting in its own way, and those that run a command touch a
// file in mark. They are short enough for every field that takes any
// character.
func hostile(mark string) []string {
	return []string{
		"$(touch " + mark + "/dollar)",
		"`touch " + mark + "/backtick`",
		"'$(touch " + mark + "/in-single)'",
		"\"$(touch " + mark + "/in-double)\"",
		"'; touch " + mark + "/single-break; '",
		"\"; touch " + mark + "/double-break; \"",
		"\\'; touch " + mark + "/escaped #",
		"; touch " + mark + "/semi && touch " + mark + "/and || touch " + mark + "/or &",
		"> " + mark + "/redirect < /etc/hostname 2>&1",
		"it's a \"quote\", a back\\slash and \\\\ two",
		"line one\nline two\r\n\ttabbed\n",
		"glob * ? [a-z] [!x] {a,b} ~root",
		"vmx | pipe |22 \"quote\" # hash = equals",
		"  leading and trailing spaces  ",
		"$HOME ${PATH} $$ $0 $1 $? $(",
		"-rf --help",
		"unicode ünïcödé 🙂 nbsp\u00a0",
	}
}

// markerDir makes the folder a command that ran would touch a file in.
// Its path is short, so that values holding it fit every field.
func markerDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "mc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// markerName is the file a command in a path element would touch, in the
// folder the host's shell runs in: a path element cannot hold a slash.
const markerName = "mcpwned"

// marks returns the files commands held in values would have created:
// any file in the marker folder, and markerName in the folders the host's
// shell runs in.
func (in *injection) marks() []string {
	var found []string
	entries, err := os.ReadDir(in.mark)
	if err != nil {
		in.t.Fatal(err)
	}
	for _, e := range entries {
		found = append(found, filepath.Join(in.mark, e.Name()))
	}
	for _, dir := range []string{in.host.Dir, filepath.Join(in.host.VolumesRoot(), "datastore1")} {
		if _, err := os.Stat(filepath.Join(dir, markerName)); err == nil {
			found = append(found, filepath.Join(dir, markerName))
		}
	}
	return found
}

// checkNoMarks fails the test if a command a value held ran.
func (in *injection) checkNoMarks() {
	for _, m := range in.marks() {
		in.t.Errorf("a value ran a command on the host: %s was created", m)
	}
}

// openOnHost opens minicloud in the test's process, driving the OpenSSH
// host h as its one host, with h's template as an image.
func openOnHost(t *testing.T, env *testhost.Env, h *testhost.Host) *ec2.Client {
	t.Helper()
	cfg, err := config.Load("")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listen, cfg.Data = "127.0.0.1:0", t.TempDir()
	cfg.ObserveInterval.Duration = 100 * time.Millisecond
	cfg.Hosts = []config.Host{{
		Name: "esxi-openssh", Address: h.Addr, User: h.User, KeyFile: env.KeyFile(t),
		HostKey: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(h.HostKey))),
		Zone:    "us-east-1a", Datastore: "datastore1", Network: "VM Network",
		VolumesRoot: h.VolumesRoot(),
	}}
	cfg.Images = []config.Image{{
		Name: "debian-12", Location: "[datastore1] templates/debian-12/debian-12.vmdk",
		Architecture: "x86_64", GuestOS: "debian12_64Guest", SizeGiB: 1,
	}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s := &Server{Config: cfg, Logger: testLogger()}
	if err := s.Open(context.Background()); err != nil {
		s.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return newClient(s.Endpoint(), "test", "test")
}

// groupText returns the hostile values a security group's name and
// description may hold (EC2 takes letters, digits, spaces and
// ._-:/()#,@[]+=&;{}!$*), and two made of only those characters.
func groupText(mark string) []string {
	out := []string{
		"$(touch " + mark + "/group) ; touch " + mark + "/group2 & {a,b} * !$ #",
		"a=$(touch " + mark + "/group3)/[a-z]*:@,+",
	}
	for _, v := range hostile(mark) {
		ok := true
		for _, r := range v {
			ok = ok && ('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' ||
				strings.ContainsRune(" ._-:/()#,@[]+=&;{}!$*", r))
		}
		if ok {
			out = append(out, v)
		}
	}
	return out
}

// securityGroup creates groups named and described with hostile values
// and reads each back.
func (in *injection) securityGroup(t *testing.T) {
	ctx := context.Background()
	for i, v := range groupText(in.mark) {
		name := fmt.Sprintf("%s %d", v, i)
		out, err := in.c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
			GroupName: aws.String(name), Description: aws.String(v),
		})
		if err != nil {
			t.Fatalf("CreateSecurityGroup %q: %v", name, err)
		}
		got, err := in.c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{
			Filters: []types.Filter{{Name: aws.String("group-name"), Values: []string{name}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.SecurityGroups) != 1 || *got.SecurityGroups[0].GroupName != name ||
			*got.SecurityGroups[0].Description != v || *got.SecurityGroups[0].GroupId != *out.GroupId {
			t.Errorf("group %q reads back as %+v", name, got.SecurityGroups)
		}
		in.group = *out.GroupId
	}
}

// keyPair imports a key whose name and comment are hostile, and reads
// both back.
func (in *injection) keyPair(t *testing.T) {
	ctx := context.Background()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	var comment string
	for _, v := range hostile(in.mark) {
		if isPrintableASCII(v) {
			name := v + " key"
			line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))
			comment = strings.Join(strings.Fields(v), " ")
			_, err := in.c.ImportKeyPair(ctx, &ec2.ImportKeyPairInput{
				KeyName: aws.String(name), PublicKeyMaterial: []byte(line + " " + v),
			})
			if err != nil {
				t.Fatalf("ImportKeyPair %q: %v", name, err)
			}
			got, err := in.c.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{
				KeyNames: []string{name}, IncludePublicKey: aws.Bool(true),
			})
			if err != nil {
				t.Fatalf("DescribeKeyPairs %q: %v", name, err)
			}
			want := line
			if comment != "" {
				want += " " + comment
			}
			if len(got.KeyPairs) != 1 || *got.KeyPairs[0].KeyName != name ||
				*got.KeyPairs[0].PublicKey != want {
				t.Errorf("key pair %q reads back as %+v, want public key %q", name, got.KeyPairs, want)
			}
			in.keyName, in.publicKey = name, want
		}
	}
}

// isPrintableASCII reports whether s holds only what EC2 takes in a key
// pair's name.
func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// decodeGuestinfo decodes a guestinfo value as cloud-init does, from the
// encoding the .vmx names.
func decodeGuestinfo(value, encoding string) ([]byte, error) {
	data, err := base64.StdEncoding.DecodeString(value)
	if err != nil || encoding == "base64" {
		return data, err
	}
	if encoding != "gzip+base64" {
		return nil, fmt.Errorf("unknown guestinfo encoding %q", encoding)
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

// vmxGuestinfo reads the instance's .vmx from the host's datastore and
// returns its guestinfo key, decoded; ok is false when the key is unset.
func (in *injection) vmxGuestinfo(key string) (data []byte, ok bool, err error) {
	path := filepath.Join(in.host.VolumesRoot(), "datastore1", in.instance, in.instance+".vmx")
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, false, err
	}
	vmx, err := hypervisor.ParseVMX(string(text))
	if err != nil {
		return nil, false, err
	}
	value, ok := vmx.Get(key)
	if !ok {
		return nil, false, nil
	}
	encoding, _ := vmx.Get(key + ".encoding")
	data, err = decodeGuestinfo(value, encoding)
	return data, true, err
}

// guestinfo checks that the user data and the public key decode back
// exactly from the .vmx on the host.
func (in *injection) guestinfo(t *testing.T) {
	data, ok, err := in.vmxGuestinfo("guestinfo.userdata")
	if err != nil || !ok || !bytes.Equal(data, in.userData) {
		t.Errorf("guestinfo.userdata on the host: %q, %v, %v; want %q", data, ok, err, in.userData)
	}
	doc, ok, err := in.vmxGuestinfo("guestinfo.metadata")
	if err != nil || !ok {
		t.Fatalf("guestinfo.metadata on the host: %v, %v", ok, err)
	}
	var meta struct {
		InstanceID string   `json:"instance-id"`
		PublicKeys []string `json:"public-keys"`
	}
	if err := json.Unmarshal(doc, &meta); err != nil {
		t.Fatalf("guestinfo.metadata: %v: %s", err, doc)
	}
	if meta.InstanceID != in.instance || len(meta.PublicKeys) != 1 ||
		meta.PublicKeys[0] != in.publicKey {
		t.Errorf("guestinfo.metadata on the host: %+v, want %s with key %q", meta, in.instance,
			in.publicKey)
	}
}
