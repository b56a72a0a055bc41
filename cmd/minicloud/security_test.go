package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"golang.org/x/crypto/ssh"

	"github.com/minicloud/minicloud/internal/config"
	"github.com/minicloud/minicloud/internal/esxisim"
	"github.com/minicloud/minicloud/internal/syncbuf"
)

// openLoggedServer opens a test server whose log, at debug level, goes to
// the returned buffer.
func openLoggedServer(t *testing.T, o serverOptions) (*testServer, *syncbuf.Buffer) {
	t.Helper()
	cfg, err := config.Load("")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listen, cfg.Data, cfg.LogLevel = "127.0.0.1:0", t.TempDir(), "debug"
	cfg.ObserveInterval.Duration = 100 * time.Millisecond
	if o.config != nil {
		o.config(cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}

	logs := &syncbuf.Buffer{}
	s := &Server{
		Config: cfg,
		Logger: newLogger(logs, cfg.LogLevel),
		SimOptions: func(i int, sc *simConfig) {
			sc.BootDelay = 100 * time.Millisecond
		},
	}
	if err := s.Open(context.Background()); err != nil {
		s.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	key, secret := config.TestAccessKeyID, config.TestSecretAccessKey
	if len(cfg.Credentials) > 0 {
		key, secret = cfg.Credentials[0].AccessKeyID, cfg.Credentials[0].SecretAccessKey
	}
	return &testServer{Server: s, t: t, client: newClient(s.Endpoint(), key, secret)}, logs
}

// encodings returns s and the forms it would take inside base64 text,
// wherever it started: base64 encodes three bytes at a time, so s shows
// in one of three shifts, less the characters its neighbours change.
func encodings(s string) []string {
	out := []string{s}
	for shift := 0; shift < 3; shift++ {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
			e := enc.EncodeToString(append(make([]byte, shift), s...))
			lead := (shift*4 + 2) / 3
			if len(e) > lead+4 {
				out = append(out, e[lead:len(e)-4])
			}
		}
	}
	return out
}

// TestServer_SecretsNeverLogged runs an instance's whole life at debug
// level, with a key pair made by minicloud and a refused request, and
// checks that no secret appears in the log or in an error a client sees:
// not the secret access key, nor a simulated host's password, nor the key
// pair's private key, in clear or in base64.
func TestServer_SecretsNeverLogged(t *testing.T) {
	secretKey := "mcSECRETaccessKEY" + strings.ToUpper(rand.Text()[:20])
	ts, logs := openLoggedServer(t, serverOptions{config: func(c *config.Config) {
		c.Credentials = []config.Credential{{AccessKeyID: "AKIDSECRETSTEST00001",
			SecretAccessKey: secretKey, AccountID: "210987654321"}}
	}})
	ctx := context.Background()
	var clientErrors []string

	// A key pair minicloud makes: its private key is the client's alone.
	kp, err := ts.client.CreateKeyPair(ctx, &ec2.CreateKeyPairInput{KeyName: aws.String("lab")})
	if err != nil {
		t.Fatal(err)
	}
	privateKey := aws.ToString(kp.KeyMaterial)

	// An instance's whole life.
	ids := ts.run(1, func(in *ec2.RunInstancesInput) {
		in.KeyName = aws.String("lab")
		in.UserData = aws.String(base64.StdEncoding.EncodeToString([]byte("#!/bin/sh\necho hi\n")))
	})
	ts.waitRunning(ids...)
	ts.describe(ids...)
	for _, call := range []func() error{
		func() error {
			_, err := ts.client.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: ids})
			return err
		},
		func() error {
			_, err := ts.client.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{})
			return err
		},
		func() error {
			_, err := ts.client.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: ids})
			return err
		},
	} {
		if err := call(); err != nil {
			t.Fatal(err)
		}
	}

	// Refused requests: a wrong secret, and a mistake of the caller's.
	wrong := newClient(ts.Endpoint(), "AKIDSECRETSTEST00001", "not-"+secretKey)
	_, err = wrong.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	clientErrors = append(clientErrors, errString(err))
	_, err = ts.client.CreateKeyPair(ctx, &ec2.CreateKeyPairInput{KeyName: aws.String("lab")})
	clientErrors = append(clientErrors, errString(err))

	// Give the controllers a few ticks to log what they do.
	time.Sleep(500 * time.Millisecond)

	secrets := map[string]string{"secret access key": secretKey}
	for _, sim := range ts.Server.sims {
		secrets[sim.name+" password"] = sim.password
	}
	if !strings.Contains(privateKey, "PRIVATE KEY") {
		t.Fatalf("key material %.40q is no private key", privateKey)
	}
	secrets["private key"] = privateKey
	for i, line := range strings.Split(privateKey, "\n") {
		if len(line) >= 40 && !strings.Contains(line, "PRIVATE KEY") {
			secrets["private key line "+string(rune('0'+i%10))] = line
		}
	}

	text := logs.String()
	if !strings.Contains(text, "level=DEBUG") || !strings.Contains(text, "RunInstances") {
		t.Fatalf("the log has no debug records of the requests:\n%.2000s", text)
	}
	for what, secret := range secrets {
		for _, form := range encodings(secret) {
			if strings.Contains(text, form) {
				t.Errorf("the log holds the %s (as %q)", what, form)
			}
			for _, e := range clientErrors {
				if strings.Contains(e, form) {
					t.Errorf("an error a client saw holds the %s: %s", what, e)
				}
			}
		}
	}
}

// errString returns err's text, or "" for nil.
func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestServer_FilePermissions checks that what minicloud keeps on disk is
// for its own user alone: the data folder and the simulated hosts'
// folders 0700; the state file, the hosts' passwords and their SSH host
// keys 0600.
func TestServer_FilePermissions(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	ts, _ := openLoggedServer(t, serverOptions{config: func(c *config.Config) {
		c.Data = data
	}})
	ts.Close()

	want := map[string]os.FileMode{
		data:                                0o700,
		filepath.Join(data, "minicloud.db"): 0o600,
		filepath.Join(data, "esxi"):         0o700,
		filepath.Join(data, "esxi", "esxi-1.password"): 0o600,
		filepath.Join(data, "esxi", "esxi-2.password"): 0o600,
	}
	for _, sim := range ts.Server.sims {
		dir := filepath.Join(data, "esxi", sim.name)
		want[dir] = 0o700
		want[filepath.Join(dir, "etc", "ssh", "ssh_host_ed25519_key")] = 0o600
	}
	for path, mode := range want {
		fi, err := os.Stat(path)
		if err != nil {
			t.Error(err)
			continue
		}
		if got := fi.Mode().Perm(); got != mode {
			t.Errorf("%s: mode %v, want %v", path, got, mode)
		}
	}
}

// TestServer_HostKeyChanged starts minicloud against a simulated host,
// then restarts the host with another SSH key, as an impostor at its
// address would. minicloud must hold the host, saying why and naming
// both keys' fingerprints, in its log and in DescribeAvailabilityZones,
// and must not try to log in: no password reaches the impostor.
func TestServer_HostKeyChanged(t *testing.T) {
	ts, logs := openLoggedServer(t, serverOptions{config: func(c *config.Config) {
		c.Simulator.Hosts = 1
	}})
	ctx := context.Background()
	ts.waitRunning(ts.run(1, nil)...)

	// The host, restarted with a new key at the same address.
	sim := ts.Server.sims[0]
	pinned := ssh.FingerprintSHA256(sim.host.HostKey())
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	presented := ssh.FingerprintSHA256(signer.PublicKey())
	sim.host.Close()
	cfg := defaultSimConfig(0, filepath.Join(ts.Config.Data, "esxi", sim.name))
	cfg.Password, cfg.HostKey = sim.password, signer
	impostor, err := esxisim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sim.host = impostor // closed with the server
	if _, err := impostor.Start(fmt.Sprintf("127.0.0.1:%d", sim.port)); err != nil {
		t.Fatal(err)
	}

	// The zone says the host is held, and why.
	var msg string
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && !strings.Contains(msg, "host key") {
		time.Sleep(100 * time.Millisecond)
		out, err := ts.client.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{})
		if err != nil {
			t.Fatal(err)
		}
		msg = zoneMessages(out.AvailabilityZones)
	}
	for _, want := range []string{"host key", pinned, presented} {
		if !strings.Contains(msg, want) {
			t.Errorf("zone messages %q do not name %q", msg, want)
		}
	}
	log := logs.String()
	for _, want := range []string{"host held", "host key mismatch", pinned, presented} {
		if !strings.Contains(log, want) {
			t.Errorf("the log does not say %q", want)
		}
	}

	// The impostor was never offered a login, and minicloud does not
	// try again by itself.
	time.Sleep(time.Second)
	if st := impostor.Stats(); st.Connections != 0 || st.FailedLogins != 0 || st.Sessions != 0 {
		t.Errorf("the impostor saw logins: %+v", st)
	}
}

// zoneMessages joins the messages of every zone.
func zoneMessages(zones []types.AvailabilityZone) string {
	var msgs []string
	for _, z := range zones {
		for _, m := range z.Messages {
			msgs = append(msgs, aws.ToString(m.Message))
		}
	}
	return strings.Join(msgs, "\n")
}

// TestServer_WrongPasswordNeverLogged configures a host with the wrong
// password and a private key it does not accept, so that the login fails
// and the host is held, and checks that neither the password minicloud
// holds, nor the host's own, nor the private key appears in the log at
// debug level or in what DescribeAvailabilityZones says.
func TestServer_WrongPasswordNeverLogged(t *testing.T) {
	right, wrong := "rightPW"+rand.Text()[:16], "wrongPW"+rand.Text()[:16]
	sim, err := esxisim.New(esxisim.Config{Dir: t.TempDir(), Name: "esxi-1", Password: right})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	addr, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}

	// A private key the host does not accept, offered with the password.
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := string(pem.EncodeToMemory(block))
	keyFile := filepath.Join(t.TempDir(), "esxi-1.key")
	if err := os.WriteFile(keyFile, []byte(keyPEM), 0o600); err != nil {
		t.Fatal(err)
	}

	ts, logs := openLoggedServer(t, serverOptions{config: func(c *config.Config) {
		c.Hosts = []config.Host{{Name: "esxi-1", Address: addr.String(), User: "root",
			Password: wrong, KeyFile: keyFile, Zone: "us-east-1a", Datastore: "datastore1",
			Network: "VM Network",
			HostKey: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sim.HostKey())))}}
	}})

	var msg string
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) && !strings.Contains(msg, "authentication failed") {
		time.Sleep(100 * time.Millisecond)
		out, err := ts.client.DescribeAvailabilityZones(context.Background(),
			&ec2.DescribeAvailabilityZonesInput{})
		if err != nil {
			t.Fatal(err)
		}
		msg = zoneMessages(out.AvailabilityZones)
	}
	if !strings.Contains(msg, "authentication failed") {
		t.Fatalf("zone messages %q do not say the login failed", msg)
	}
	text := logs.String() + msg
	secrets := map[string]string{"configured password": wrong, "host's password": right}
	for i, line := range strings.Split(keyPEM, "\n") {
		if len(line) >= 40 {
			secrets[fmt.Sprintf("private key line %d", i)] = line
		}
	}
	for what, secret := range secrets {
		for _, form := range encodings(secret) {
			if strings.Contains(text, form) {
				t.Errorf("the log or the zone messages hold the %s (as %q)", what, form)
			}
		}
	}
}
