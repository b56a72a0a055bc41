package config

import (
	"errors"
	"fmt"
)

// Subnet maps the subnets of an availability zone to the ESXi port group
// their instances' VMs attach to. A zone without an entry uses each
// host's network.
type Subnet struct {
	Zone      string `toml:"availability_zone"`
	PortGroup string `toml:"port_group"`
}

// SubnetPortGroups returns the configured port group of each zone.
func (c *Config) SubnetPortGroups() map[string]string {
	out := map[string]string{}
	for _, s := range c.Subnets {
		out[s.Zone] = s.PortGroup
	}
	return out
}

// validateSubnets checks that each zone is mapped once, to a port group.
func (c *Config) validateSubnets() error {
	var errs []error
	seen := map[string]bool{}
	for i, s := range c.Subnets {
		switch {
		case s.Zone == "" || s.PortGroup == "":
			errs = append(errs, fmt.Errorf("subnets %d: availability_zone and port_group are required", i+1))
		case seen[s.Zone]:
			errs = append(errs, fmt.Errorf("subnets %d: zone %s is mapped twice", i+1, s.Zone))
		}
		seen[s.Zone] = true
	}
	return errors.Join(errs...)
}
