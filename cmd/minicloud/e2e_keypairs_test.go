package main

import (
	"encoding/base64"
	"net/url"
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

// TestE2E_ClientMistakes sends the new actions the mistakes clients make
// and checks each answer's EC2 code and status: never a 500.
func TestE2E_ClientMistakes(t *testing.T) {
	ts := openServer(t, serverOptions{})
	id := ts.run(1, nil)[0]
	ts.waitRunning(id)
	key := func(line string) string { return base64.StdEncoding.EncodeToString([]byte(line)) }
	for _, tt := range []struct {
		name, action string
		form         url.Values
		code         string
	}{
		{"CreateNoName", "CreateKeyPair", url.Values{}, "MissingParameter"},
		{"CreateBadType", "CreateKeyPair", url.Values{"KeyName": {"k"}, "KeyType": {"dsa"}}, "InvalidParameterValue"},
		{"CreateBadFormat", "CreateKeyPair", url.Values{"KeyName": {"k"}, "KeyFormat": {"der"}},
			"InvalidParameterValue"},
		{"CreateBadTagType", "CreateKeyPair", url.Values{"KeyName": {"k"},
			"TagSpecification.1.ResourceType": {"instance"}, "TagSpecification.1.Tag.1.Key": {"a"}},
			"InvalidParameterValue"},
		{"ImportNoMaterial", "ImportKeyPair", url.Values{"KeyName": {"k"}}, "MissingParameter"},
		{"ImportNotBase64", "ImportKeyPair", url.Values{"KeyName": {"k"},
			"PublicKeyMaterial": {"ssh-rsa AAAA me@host"}}, "InvalidKey.Format"},
		{"ImportGarbage", "ImportKeyPair", url.Values{"KeyName": {"k"},
			"PublicKeyMaterial": {key("hello")}}, "InvalidKey.Format"},
		{"ImportDSA", "ImportKeyPair", url.Values{"KeyName": {"k"},
			"PublicKeyMaterial": {key("ssh-dss AAAAB3NzaC1kc3MAAAA= x")}}, "InvalidKey.Format"},
		{"DescribeUnknownName", "DescribeKeyPairs", url.Values{"KeyName.1": {"nope"}}, "InvalidKeyPair.NotFound"},
		{"DescribeBadID", "DescribeKeyPairs", url.Values{"KeyPairId.1": {"key-?"}}, "InvalidKeyPairId.Malformed"},
		{"DescribeBadFilter", "DescribeKeyPairs", url.Values{"Filter.1.Name": {"colour"},
			"Filter.1.Value.1": {"red"}}, "InvalidParameterValue"},
		{"DeleteNothing", "DeleteKeyPair", url.Values{}, "MissingParameter"},
		{"AttributeNoInstance", "DescribeInstanceAttribute", url.Values{"Attribute": {"userData"}},
			"MissingParameter"},
		{"AttributeUnknown", "DescribeInstanceAttribute", url.Values{"InstanceId": {id},
			"Attribute": {"colour"}}, "InvalidParameterValue"},
		{"AttributeMissingInstance", "DescribeInstanceAttribute", url.Values{
			"InstanceId": {"i-0000000000000dead"}, "Attribute": {"userData"}}, "InvalidInstanceID.NotFound"},
		{"AttributeMalformedInstance", "DescribeInstanceAttribute", url.Values{
			"InstanceId": {"i-nope"}, "Attribute": {"userData"}}, "InvalidInstanceID.Malformed"},
		{"ModifyNothing", "ModifyInstanceAttribute", url.Values{"InstanceId": {id}}, "MissingParameter"},
		{"ModifyTwo", "ModifyInstanceAttribute", url.Values{"InstanceId": {id},
			"DisableApiStop.Value": {"true"}, "DisableApiTermination.Value": {"true"}},
			"InvalidParameterCombination"},
		{"ModifyBadBoolean", "ModifyInstanceAttribute", url.Values{"InstanceId": {id},
			"DisableApiStop.Value": {"maybe"}}, "InvalidParameterValue"},
		{"ModifyValueWithoutAttribute", "ModifyInstanceAttribute", url.Values{"InstanceId": {id},
			"Attribute": {"kernel"}}, "MissingParameter"},
		{"ModifyUnknownType", "ModifyInstanceAttribute", url.Values{"InstanceId": {id},
			"InstanceType.Value": {"t9.huge"}}, "InvalidInstanceAttributeValue"},
		{"ModifyTypeRunning", "ModifyInstanceAttribute", url.Values{"InstanceId": {id},
			"InstanceType.Value": {"t3.large"}}, "IncorrectInstanceState"},
		{"ModifyUserDataNotBase64", "ModifyInstanceAttribute", url.Values{"InstanceId": {id},
			"UserData.Value": {"#!/bin/sh"}}, "InvalidUserData.Malformed"},
		{"ModifyKernel", "ModifyInstanceAttribute", url.Values{"InstanceId": {id},
			"Kernel.Value": {"aki-12345678"}}, "Unsupported"},
		{"ModifyGroupMissing", "ModifyInstanceAttribute", url.Values{"InstanceId": {id},
			"GroupId.1": {"sg-0000000000000dead"}}, "InvalidGroup.NotFound"},
		{"RunUserDataTooLarge", "RunInstances", url.Values{"ImageId": {ts.imageID("debian-12")},
			"MinCount": {"1"}, "MaxCount": {"1"}, "UserData": {key(strings.Repeat("x", 16<<10+1))}},
			"InvalidParameterValue"},
		{"RunBadShutdownBehavior", "RunInstances", url.Values{"ImageId": {ts.imageID("debian-12")},
			"MinCount": {"1"}, "MaxCount": {"1"}, "InstanceInitiatedShutdownBehavior": {"pause"}},
			"InvalidParameterValue"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, code := ts.post(t, tt.action, tt.form)
			if status != 400 || code != tt.code {
				t.Errorf("%d %s, want 400 %s", status, code, tt.code)
			}
		})
	}
}
