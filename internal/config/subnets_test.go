package config_test

import (
	"strings"
	"testing"

	"github.com/minicloud/minicloud/internal/config"
)

func TestConfig_Subnets(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		cfg, err := config.Load(write(t, `
[[subnets]]
availability_zone = "us-east-1a"
port_group = "Lab VLAN 20"

[[subnets]]
availability_zone = "us-east-1b"
port_group = "VM Network"
`))
		if err != nil {
			t.Fatal(err)
		}
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		got := cfg.SubnetPortGroups()
		if got["us-east-1a"] != "Lab VLAN 20" || got["us-east-1b"] != "VM Network" || len(got) != 2 {
			t.Errorf("port groups = %v", got)
		}
	})

	tests := []struct {
		name, text, want string
	}{
		{"ErrNoPortGroup", "[[subnets]]\navailability_zone = \"us-east-1a\"\n", "port_group are required"},
		{"ErrTwice", "[[subnets]]\navailability_zone = \"us-east-1a\"\nport_group = \"a\"\n" +
			"[[subnets]]\navailability_zone = \"us-east-1a\"\nport_group = \"b\"\n", "mapped twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Load(write(t, tt.text))
			if err != nil {
				t.Fatal(err)
			}
			if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate = %v, want an error saying %q", err, tt.want)
			}
		})
	}
}
