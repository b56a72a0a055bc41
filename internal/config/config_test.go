package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minicloud/minicloud/internal/config"
)

func write(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "minicloud.toml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoad(t *testing.T) {
	t.Run("Defaults", func(t *testing.T) {
		cfg, err := config.Load("")
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Listen != config.DefaultListen || cfg.Region != "us-east-1" || cfg.Simulator.Hosts != 2 {
			t.Errorf("defaults = %+v", cfg)
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("defaults do not validate: %v", err)
		}
	})

	t.Run("OK", func(t *testing.T) {
		cfg, err := config.Load(write(t, `
region = "eu-west-1"
observe_interval = "2s"

[[credentials]]
access_key_id = "AKIAEXAMPLE"
secret_access_key = "secret"

[[hosts]]
name = "esxi-a"
address = "esxi-a.lab"
password = "pw"
host_key = "SHA256:abc"

[[images]]
name = "debian-12"
location = "[datastore1] templates/debian-12/debian-12.vmdk"
`))
		if err != nil {
			t.Fatal(err)
		}
		h := cfg.Hosts[0]
		if h.Address != "esxi-a.lab:22" || h.User != "root" || h.Zone != "eu-west-1a" ||
			h.Datastore != "datastore1" || h.Network != "VM Network" {
			t.Errorf("host defaults = %+v", h)
		}
		if cfg.ObserveInterval.Duration != 2*time.Second {
			t.Errorf("observe_interval = %v", cfg.ObserveInterval)
		}
		if cfg.Credentials[0].AccountID != "123456789012" || cfg.Images[0].Architecture != "x86_64" {
			t.Errorf("defaults not applied: %+v %+v", cfg.Credentials[0], cfg.Images[0])
		}
		if err := cfg.Validate(); err != nil {
			t.Error(err)
		}
	})

	t.Run("ErrUnknownSetting", func(t *testing.T) {
		_, err := config.Load(write(t, "listen = \"127.0.0.1:1\"\nlistne = \"x\"\n"))
		if err == nil || !strings.Contains(err.Error(), "listne") {
			t.Fatalf("err = %v, want it to name the unknown setting", err)
		}
	})

	t.Run("ErrSyntax", func(t *testing.T) {
		if _, err := config.Load(write(t, "listen = \n")); err == nil {
			t.Fatal("a broken file loaded")
		}
	})
}

func TestConfig_Validate(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"ErrPublicWithoutCredentials", `listen = "0.0.0.0:8787"`, "not loopback"},
		{"ErrNoHostKey", "[[hosts]]\nname = \"a\"\naddress = \"h\"\npassword = \"p\"", "host_key is required"},
		{"ErrNoAuth", "[[hosts]]\nname = \"a\"\naddress = \"h\"\nhost_key = \"SHA256:x\"", "password"},
		{"ErrDuplicateHost", "[[hosts]]\nname = \"a\"\nlocal = true\n[[hosts]]\nname = \"a\"\nlocal = true", "used twice"},
		{"ErrRelativeVolumesRoot", "[[hosts]]\nname = \"a\"\naddress = \"h\"\npassword = \"p\"\n" +
			"host_key = \"SHA256:x\"\nvolumes_root = \"vmfs/volumes\"", "not an absolute path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Load(write(t, tt.text))
			if err != nil {
				t.Fatal(err)
			}
			err = cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %v, want an error about %q", err, tt.want)
			}
		})
	}

	t.Run("PublicWithCredentials", func(t *testing.T) {
		cfg, _ := config.Load(write(t, "listen = \"0.0.0.0:8787\"\n"+
			"[[credentials]]\naccess_key_id = \"a\"\nsecret_access_key = \"b\""))
		if err := cfg.Validate(); err != nil {
			t.Error(err)
		}
	})
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8787": true, "127.1.2.3:1": true, "[::1]:8787": true, "localhost:80": true,
		":8787": false, "0.0.0.0:8787": false, "192.0.2.1:80": false, "nonsense": false,
	} {
		if got := config.IsLoopback(addr); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", addr, got, want)
		}
	}
}

func TestConfig_ApplyEnv(t *testing.T) {
	cfg, _ := config.Load("")
	env := map[string]string{"MINICLOUD_LISTEN": "127.0.0.1:9999", "MINICLOUD_DATA": "/tmp/x"}
	cfg.ApplyEnv(func(k string) string { return env[k] })
	if cfg.Listen != "127.0.0.1:9999" || cfg.Data != "/tmp/x" {
		t.Errorf("after env: listen %s data %s", cfg.Listen, cfg.Data)
	}
}
