package esxisim

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// Host is a simulated ESXi host: an SSH server whose shell runs the host's
// commands over its folder. Its methods may be called from any goroutine.
type Host struct {
	cfg     Config
	e       *engine
	sh      *shell
	sshCfg  *ssh.ServerConfig
	hostKey ssh.Signer
	log     *slog.Logger

	ctx    context.Context    // ends when the host closes
	cancel context.CancelFunc // ends ctx
	wg     sync.WaitGroup     // the goroutines serving listeners and connections

	mu        sync.Mutex // guards the fields up to the blank line
	listeners map[net.Listener]bool
	conns     map[net.Conn]bool
	closed    bool
	down      bool     // off the network until Up
	downAddrs []string // where the host listened before Down
	startups  int      // connections in their SSH handshake

	auth  authState // guards itself
	stats counters  // guards itself
}

// New makes the host that lives in cfg.Dir: it lays out the host's
// folders and datastores, seeds the template disks that are missing, and
// loads or makes its SSH host key. VMs registered by an earlier Host on
// the same Dir are still there, in the state they were left in.
func New(cfg Config) (*Host, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}

	// Lay out the host's root filesystem.
	for _, d := range []string{"bin", "tmp", "etc/ssh/keys-" + cfg.User, "etc/esxisim"} {
		if err := os.MkdirAll(filepath.Join(cfg.Dir, d), 0o755); err != nil {
			return nil, fmt.Errorf("esxisim: make host folder: %w", err)
		}
	}
	for _, name := range append(commandNames(), "sh") {
		if err := placeProgram(filepath.Join(cfg.Dir, "bin", name)); err != nil {
			return nil, err
		}
	}
	if err := saveSettings(cfg.Dir, cfg.settings()); err != nil {
		return nil, fmt.Errorf("esxisim: %w", err)
	}

	// Mount the datastores, seed templates, and bring the inventory up.
	e, err := newEngine(cfg.Dir, chrootMap(cfg.Dir), cfg.settings(), cfg.Clock)
	if err != nil {
		return nil, fmt.Errorf("esxisim: %w", err)
	}
	if err := e.seedTemplates(cfg.Templates); err != nil {
		return nil, fmt.Errorf("esxisim: %w", err)
	}
	if err := e.update(func(*hostState, time.Time) error { return nil }); err != nil {
		return nil, fmt.Errorf("esxisim: %w", err)
	}

	key := cfg.HostKey
	if key == nil {
		key, err = loadHostKey(filepath.Join(cfg.Dir, "etc", "ssh", "ssh_host_ed25519_key"))
		if err != nil {
			return nil, fmt.Errorf("esxisim: %w", err)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	h := &Host{
		cfg:       cfg,
		e:         e,
		sh:        &shell{e: e, user: cfg.User},
		hostKey:   key,
		log:       cfg.Logger.With("host", cfg.Name),
		ctx:       ctx,
		cancel:    cancel,
		listeners: map[net.Listener]bool{},
		conns:     map[net.Conn]bool{},
	}
	e.counted = h.stats.command
	h.sshCfg = h.serverConfig()
	return h, nil
}

// placeProgram puts an entry for one of the host's programs in its /bin,
// so that `ls /bin` and `test -x /bin/vim-cmd` see it; the shell runs the
// program itself, not the file.
func placeProgram(path string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	text := "#!/bin/sh\n# " + filepath.Base(path) + " is built into the simulated ESXi host.\n"
	if err := os.WriteFile(path, []byte(text), 0o755); err != nil {
		return fmt.Errorf("esxisim: place %s: %w", filepath.Base(path), err)
	}
	return nil
}

// seedTemplates creates each template disk that is not there yet, thin
// provisioned, with a sparse data file.
func (e *engine) seedTemplates(list []Template) error {
	for _, t := range list {
		v := e.vols[0]
		if t.Datastore != "" {
			if v = e.volume(t.Datastore); v == nil {
				return fmt.Errorf("template %s: no datastore %q", t.Name, t.Datastore)
			}
		}
		if t.Name == "" || filepath.Base(t.Name) != t.Name || t.SizeGB <= 0 {
			return fmt.Errorf("template %q: needs a folder name and a size", t.Name)
		}
		dir := filepath.Join(v.realDir(e.fs), "templates", t.Name)
		desc := filepath.Join(dir, t.Name+".vmdk")
		if _, err := os.Stat(desc); err == nil {
			continue
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("template %s: %w", t.Name, err)
		}
		spec := diskSpec{size: int64(t.SizeGB) << 30, format: thin, guestOS: t.GuestOS}
		if err := createDisk(desc, spec); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("template %s: %w", t.Name, err)
		}
	}
	return nil
}

// loadHostKey reads the host's ed25519 key from path, or makes one and
// stores it there in OpenSSH's format.
func loadHostKey(path string) (ssh.Signer, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		key, err := ssh.ParsePrivateKey(data)
		if err != nil {
			return nil, fmt.Errorf("read host key %s: %w", path, err)
		}
		return key, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read host key: %w", err)
	}

	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("make host key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		return nil, fmt.Errorf("encode host key: %w", err)
	}
	if err := writeFileAtomic(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, fmt.Errorf("store host key: %w", err)
	}
	return ssh.NewSignerFromKey(priv)
}

// HostKey returns the host's SSH public key, for clients to verify.
func (h *Host) HostKey() ssh.PublicKey { return h.hostKey.PublicKey() }

// Dir returns the host's folder.
func (h *Host) Dir() string { return h.cfg.Dir }

// Exec runs one command line on the host as `sh -c` would over SSH, and
// returns its exit status. stdin may be nil.
func (h *Host) Exec(ctx context.Context, cmd string, stdin io.Reader,
	stdout, stderr io.Writer) int {
	h.stats.session()
	status := h.sh.run(ctx, cmd, stdin, stdout, stderr)
	h.log.Debug("exec", "cmd", cmd, "status", status)
	return status
}

// Start listens on addr (as "127.0.0.1:0") and serves in the background
// until Close. It returns the address it listens on.
func (h *Host) Start(addr string) (net.Addr, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("esxisim: listen: %w", err)
	}
	go h.Serve(l)
	return l.Addr(), nil
}

// ListenAndServe listens on addr and serves until Close.
func (h *Host) ListenAndServe(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("esxisim: listen: %w", err)
	}
	return h.Serve(l)
}

// Serve accepts SSH connections on l until Close, which it returns nil
// after; it closes l. Any other failure to accept is returned.
func (h *Host) Serve(l net.Listener) error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		l.Close()
		return nil
	}
	h.listeners[l] = true
	h.wg.Add(1)
	h.mu.Unlock()
	defer h.wg.Done()
	h.log.Info("listening", "addr", l.Addr().String())

	for {
		c, err := l.Accept()
		if err != nil {
			h.mu.Lock()
			stopped := h.closed || h.down
			delete(h.listeners, l)
			h.mu.Unlock()
			l.Close()
			if stopped {
				return nil
			}
			return fmt.Errorf("esxisim: accept: %w", err)
		}
		ok, refused := h.track(c)
		if !ok {
			c.Close()
			return nil
		}
		go func() {
			defer h.wg.Done()
			defer h.untrack(c)
			if !refused {
				h.serveConn(c)
			}
		}()
	}
}

// track records an open connection, counted in h.wg until its goroutine
// is done; ok is false once the host is closed or down. refused says the
// connection is past MaxStartups and is to be closed at once; otherwise
// it counts as starting up until startupDone.
func (h *Host) track(c net.Conn) (ok, refused bool) {
	limit := h.e.faults().MaxStartups
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || h.down {
		return false, false
	}
	h.conns[c] = true
	h.wg.Add(1)
	if limit > 0 && h.startups >= limit {
		h.stats.add(func(s *Stats) { s.RefusedConnections++ })
		h.log.Warn("connection dropped past MaxStartups", "remote", c.RemoteAddr().String())
		return true, true
	}
	h.startups++
	return true, false
}

// startupDone counts a connection's handshake as over.
func (h *Host) startupDone() {
	h.mu.Lock()
	h.startups--
	h.mu.Unlock()
}

// untrack forgets a connection and closes it.
func (h *Host) untrack(c net.Conn) {
	h.mu.Lock()
	delete(h.conns, c)
	h.mu.Unlock()
	c.Close()
}

// Close stops the host: it stops listening, ends every connection and the
// commands they run, and waits for them. The host's folder is kept, so a
// new Host on it finds its VMs.
func (h *Host) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	for l := range h.listeners {
		l.Close()
	}
	for c := range h.conns {
		c.Close()
	}
	h.mu.Unlock()

	h.cancel()
	h.wg.Wait()
	h.log.Info("closed")
	return nil
}
