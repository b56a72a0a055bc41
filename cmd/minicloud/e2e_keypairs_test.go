package main

import (
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestE2E_CLI_Launch runs a launch with the aws CLI: a key pair imported
// from ssh-keygen and one created, user data from a file, a client token;
// then the attributes a launch script reads and changes. Each CLI run
// starts a Python interpreter, so one CLI is enough here; TestE2E_AWSCLI
// runs both through the basic session.
func TestE2E_CLI_Launch(t *testing.T) {
	clis := awsCLIs(t)
	bin := clis["path"]
	if bin == "" {
		bin = clis["debian"]
	}
	ts := openServer(t, serverOptions{})
	c := cli{t: t, bin: bin, endpoint: ts.Endpoint(), home: t.TempDir()}
	dir := t.TempDir()

	// Import a key made by ssh-keygen, in PEM so that openssl reads it.
	pubFile := filepath.Join(dir, "id.pub")
	if err := exec.Command("ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-m", "PEM", "-N", "",
		"-C", "alice@laptop", "-f", filepath.Join(dir, "id")).Run(); err != nil {
		t.Skipf("ssh-keygen: %v", err)
	}
	imported := c.run("import-key-pair", "--key-name", "alice",
		"--public-key-material", "fileb://"+pubFile)
	want := rsaImportFingerprint(t, filepath.Join(dir, "id"))
	if imported["KeyFingerprint"] != want || !strings.HasPrefix(imported["KeyPairId"].(string), "key-") {
		t.Errorf("import-key-pair: %v, want fingerprint %s", imported, want)
	}

	// A created key pair; a second of the same name is a duplicate.
	created := c.run("create-key-pair", "--key-name", "lab", "--key-type", "rsa")
	if !strings.HasPrefix(created["KeyMaterial"].(string), "-----BEGIN RSA PRIVATE KEY-----") {
		t.Errorf("create-key-pair key material starts %.40q", created["KeyMaterial"])
	}
	if out, err := c.exec("import-key-pair", "--key-name", "lab",
		"--public-key-material", "fileb://"+pubFile); err == nil ||
		!strings.Contains(string(out), "InvalidKeyPair.Duplicate") {
		t.Errorf("import-key-pair of a taken name: %v %s", err, out)
	}
	keys := c.run("describe-key-pairs", "--include-public-key")["KeyPairs"].([]any)
	if len(keys) != 2 || !strings.HasSuffix(keys[0].(map[string]any)["PublicKey"].(string), "alice@laptop") {
		t.Errorf("describe-key-pairs: %v", keys)
	}

	// Launch with the imported key and user data from a file.
	script := "#!/bin/sh\necho launched by the aws CLI\n"
	scriptFile := filepath.Join(dir, "user-data.sh")
	if err := os.WriteFile(scriptFile, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"run-instances", "--image-id", ts.imageID("debian-12"),
		"--instance-type", "t3.micro", "--key-name", "alice", "--user-data", "file://" + scriptFile,
		"--client-token", "cli-launch", "--instance-initiated-shutdown-behavior", "terminate"}
	res := c.run(args...)
	again := c.run(args...)
	if res["ReservationId"] != again["ReservationId"] {
		t.Errorf("repeat with the same token: %v then %v", res["ReservationId"], again["ReservationId"])
	}
	id := res["Instances"].([]any)[0].(map[string]any)["InstanceId"].(string)
	ts.waitRunning(id)

	// The attributes read back as they were launched.
	attr := c.run("describe-instance-attribute", "--instance-id", id, "--attribute", "userData")
	got, _ := base64.StdEncoding.DecodeString(attr["UserData"].(map[string]any)["Value"].(string))
	if string(got) != script {
		t.Errorf("userData attribute %q, want %q", got, script)
	}

	// Stop protection refuses stop-instances.
	c.run("modify-instance-attribute", "--instance-id", id, "--disable-api-stop")
	if out, err := c.exec("stop-instances", "--instance-ids", id); err == nil ||
		!strings.Contains(string(out), "OperationNotPermitted") {
		t.Errorf("stop-instances with stop protection: %v %s", err, out)
	}

	// A deleted key pair is gone.
	c.run("delete-key-pair", "--key-name", "lab")
	if out, err := c.exec("describe-key-pairs", "--key-names", "lab"); err == nil ||
		!strings.Contains(string(out), "InvalidKeyPair.NotFound") {
		t.Errorf("describe-key-pairs of a deleted key: %v %s", err, out)
	}
}

// rsaImportFingerprint computes with openssl what EC2 shows for an
// imported RSA key: the MD5 of its DER public key, in colon-separated hex.
func rsaImportFingerprint(t *testing.T, privateKey string) string {
	t.Helper()
	cmd := exec.Command("sh", "-c", "openssl pkey -in '"+privateKey+
		"' -pubout -outform DER | openssl md5 -c")
	out, err := cmd.Output()
	if err != nil {
		t.Skipf("openssl: %v", err)
	}
	s := strings.TrimSpace(string(out))
	return s[strings.LastIndex(s, " ")+1:]
}
