package main

import (
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"

	"github.com/minicloud/minicloud/internal/config"
	"github.com/minicloud/minicloud/internal/hypervisor"
)

// hostConns remembers how each configured host is reached, so that a
// reloaded configuration can tell which hosts' connections changed.
type hostConns struct {
	mu    sync.Mutex           // guards conns and serializes reloads
	conns map[string]*hostConn // by host name
}

// hostConn is one host's transport and the settings it was built from.
type hostConn struct {
	settings  hostSettings
	transport io.Closer
}

// hostSettings are what a host's connection is built from. When any of
// them changes, the connection is rebuilt; a held host is contacted again
// only then, since each attempt with a wrong password counts toward
// ESXi's lockout.
type hostSettings struct {
	Address     string
	User        string
	Password    [sha256.Size]byte // of the password, from the file if one is named
	Key         [sha256.Size]byte // of the key file's content
	HostKey     string
	Local       bool
	MaxSessions int
	VolumesRoot string
}

// settingsOf reads what h's connection is built from, reading the
// password and key files as they are now.
func settingsOf(h config.Host) (hostSettings, error) {
	s := hostSettings{Address: h.Address, User: h.User, HostKey: h.HostKey, Local: h.Local,
		MaxSessions: h.MaxSessions, VolumesRoot: h.VolumesRoot}
	if h.Local {
		return s, nil
	}
	password, err := h.ReadPassword()
	if err != nil {
		return s, err
	}
	s.Password = sha256.Sum256([]byte(password))
	if h.KeyFile != "" {
		pem, err := os.ReadFile(h.KeyFile)
		if err != nil {
			return s, fmt.Errorf("config: host %s: %w", h.Name, err)
		}
		s.Key = sha256.Sum256(pem)
	}
	return s, nil
}

// remember records the transport built for h.
func (c *hostConns) remember(h config.Host, t io.Closer) error {
	s, err := settingsOf(h)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conns == nil {
		c.conns = map[string]*hostConn{}
	}
	c.conns[h.Name] = &hostConn{settings: s, transport: t}
	return nil
}

// Reload applies a newly read configuration to the running server: each
// host whose address, credentials, host key or session limit changed gets
// a new connection and is contacted at once, which releases a host held
// after its login was refused. Hosts whose settings did not change are
// left alone. Adding or removing hosts, and other settings, take a
// restart; Reload logs which were ignored. It returns an error if a
// changed host's new settings cannot be used (a missing key file, say);
// the hosts handled before it keep their new connections.
func (s *Server) Reload(cfg *config.Config) error {
	c := &s.hosts
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(cfg.Hosts) == 0 && len(s.sims) > 0 {
		s.Logger.Info("configuration reloaded; the simulated hosts are unchanged")
		return nil
	}

	// Rebuild the connections that changed.
	var names []string
	for _, h := range cfg.Hosts {
		names = append(names, h.Name)
		old := c.conns[h.Name]
		if old == nil {
			s.Logger.Warn("new host in the configuration; restart minicloud to drive it",
				"host", h.Name)
			continue
		}
		settings, err := settingsOf(h)
		if err != nil {
			return err
		}
		if settings == old.settings {
			continue
		}
		if err := s.reconnect(h, settings, old); err != nil {
			return err
		}
	}
	for name := range c.conns {
		if !slices.Contains(names, name) {
			s.Logger.Warn("host removed from the configuration; restart minicloud to stop "+
				"driving it", "host", name)
		}
	}
	return nil
}

// reconnect gives host h a connection built from its new settings and
// closes the old one. The caller holds s.hosts.mu.
func (s *Server) reconnect(h config.Host, settings hostSettings, old *hostConn) error {
	t, err := s.transport(h)
	if err != nil {
		return fmt.Errorf("host %s: %w", h.Name, err)
	}
	d := hypervisor.NewESXi(t, hypervisor.Options{
		Host:        h.Name,
		VolumesRoot: h.VolumesRoot,
		Logger:      s.Logger.With("component", "driver", "host", h.Name),
	})
	if err := s.svc.ReplaceDriver(h.Name, d); err != nil {
		t.Close()
		return err
	}
	s.Logger.Info("host connection settings changed; connecting again", "host", h.Name)

	// Close the old connection; a step still using it is tried again.
	for i, dc := range s.drivers {
		if dc == old.transport {
			s.drivers[i] = t
		}
	}
	old.transport.Close()
	s.hosts.conns[h.Name] = &hostConn{settings: settings, transport: t}
	return nil
}
