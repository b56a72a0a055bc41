package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/minicloud/minicloud/api/admin"
	"github.com/minicloud/minicloud/api/ec2"
	"github.com/minicloud/minicloud/internal/cloud"
	"github.com/minicloud/minicloud/internal/compute"
	"github.com/minicloud/minicloud/internal/config"
	"github.com/minicloud/minicloud/internal/hypervisor"
	"github.com/minicloud/minicloud/internal/store"
	"golang.org/x/crypto/ssh"
)

// runServe parses the serve flags, starts the server and blocks until ctx
// is done.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", os.Getenv("MINICLOUD_CONFIG"), "configuration `file` (TOML)")
	listen := fs.String("listen", "", "API listen `address` (default "+config.DefaultListen+")")
	data := fs.String("data", "", "data `folder` (default "+config.DefaultData+")")
	if err := fs.Parse(args); err != nil {
		return err
	}

	// The file, then the environment, then the flags; again on SIGHUP.
	load := func() (*config.Config, error) {
		cfg, err := config.Load(*cfgPath)
		if err != nil {
			return nil, err
		}
		cfg.ApplyEnv(os.Getenv)
		if *listen != "" {
			cfg.Listen = *listen
		}
		if *data != "" {
			cfg.Data = *data
		}
		return cfg, cfg.Validate()
	}
	cfg, err := load()
	if err != nil {
		return err
	}

	s := &Server{Config: cfg, Stdout: stdout, Logger: newLogger(stderr, cfg.LogLevel)}
	if err := s.Open(ctx); err != nil {
		s.Close()
		return err
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return s.Close()
		case <-hup:
		}
		s.Logger.Info("SIGHUP: reading the configuration again", "file", *cfgPath)
		cfg, err := load()
		if err == nil {
			err = s.Reload(cfg)
		}
		if err != nil {
			s.Logger.Error("configuration not reloaded", "err", err)
		}
	}
}

// Server is a running minicloud: the state file, the hosts and their
// controllers, and the API. Tests open one on 127.0.0.1:0.
type Server struct {
	Config *config.Config
	Stdout io.Writer // where the welcome text goes; nil for none
	Logger *slog.Logger

	// SimOptions adjusts the embedded simulated hosts before they start.
	SimOptions func(i int, cfg *simConfig)

	db      *store.DB
	sims    []*embeddedSim
	drivers []io.Closer
	svc     *compute.Service
	httpSrv *http.Server
	ln      net.Listener
	stop    context.CancelFunc
	done    chan struct{}

	closeOnce sync.Once
	closeErr  error

	hosts hostConns // how each host is reached, for Reload
}

// Open starts everything and returns once the API is listening.
func (s *Server) Open(ctx context.Context) error {
	cfg := s.Config
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return fmt.Errorf("create data folder: %w", err)
	}

	// The state file.
	db, err := store.Open(filepath.Join(cfg.Data, "minicloud.db"), store.Options{})
	if err != nil {
		return err
	}
	s.db = db

	// The hosts: configured ones, or simulated ones in the data folder.
	hosts, images := cfg.Hosts, cfg.Images
	if len(hosts) == 0 {
		if hosts, images, err = s.startSimulators(); err != nil {
			return err
		}
	}
	hostConfigs, err := s.drive(hosts)
	if err != nil {
		return err
	}

	// The service and its controllers.
	svc, err := compute.New(db, hostConfigs, compute.Options{
		Region:          cfg.Region,
		CPUOvercommit:   cfg.CPUOvercommit,
		ObserveInterval: cfg.ObserveInterval.Duration,

		SubnetPortGroups: cfg.SubnetPortGroups(),
	}, s.Logger.With("component", "compute"))
	if err != nil {
		return err
	}
	if err := svc.EnsureImages(imageConfigs(images)); err != nil {
		return err
	}
	if err := svc.EnsureDefaultNetworks(accounts(cfg)...); err != nil {
		return err
	}
	s.svc = svc
	runCtx, stop := context.WithCancel(context.Background())
	s.stop, s.done = stop, make(chan struct{})
	go func() {
		defer close(s.done)
		svc.Run(runCtx)
	}()
	probeCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := svc.WaitProbed(probeCtx); err != nil {
		s.Logger.Warn("hosts still connecting; serving anyway")
	}

	// The API.
	return s.serveAPI()
}

// serveAPI listens and serves the EC2 API in the background.
func (s *Server) serveAPI() error {
	cfg := s.Config
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	s.ln = ln
	creds := newCredentials(cfg)
	handler := http.NewServeMux()
	lim := cfg.Limits
	handler.Handle("/", ec2.NewHandler(s.svc, ec2.Options{
		Region:            cfg.Region,
		Credentials:       creds,
		Logger:            s.Logger.With("component", "api"),
		MaxBodyBytes:      lim.MaxBodyBytes,
		RequestsPerSecond: lim.RequestsPerSecond,
		Burst:             lim.Burst,
	}))
	handler.Handle(admin.Prefix, admin.NewHandler(s.svc, admin.Options{
		Region:      cfg.Region,
		Credentials: creds,
		Logger:      s.Logger.With("component", "admin"),
	}))
	s.httpSrv = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: lim.ReadHeaderTimeout.Duration,
		ReadTimeout:       lim.ReadTimeout.Duration,
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       lim.IdleTimeout.Duration,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.Logger.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := s.httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.Logger.Error("api server stopped", "err", err)
		}
	}()
	s.Logger.Info("serving the EC2 API", "endpoint", s.Endpoint(), "region", cfg.Region)
	s.welcome()
	return nil
}

// Endpoint returns the API's URL.
func (s *Server) Endpoint() string { return "http://" + s.ln.Addr().String() }

// Service returns the compute service, for tests and subcommands.
func (s *Server) Service() *compute.Service { return s.svc }

// Close stops the API, lets the controllers finish the steps in flight,
// and closes the hosts and the state file. Calling it again does nothing.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.close() })
	return s.closeErr
}

func (s *Server) close() error {
	if s.httpSrv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		s.httpSrv.Shutdown(ctx)
		cancel()
	}
	if s.stop != nil {
		s.stop()
		<-s.done
	}
	for _, d := range s.drivers {
		d.Close()
	}
	for _, sim := range s.sims {
		sim.host.Close()
	}
	if s.db != nil {
		return s.db.Close()
	}
	return nil
}

// drive builds the driver of each configured host.
func (s *Server) drive(hosts []config.Host) ([]compute.HostConfig, error) {
	var out []compute.HostConfig
	for _, h := range hosts {
		t, err := s.transport(h)
		if err != nil {
			return nil, fmt.Errorf("host %s: %w", h.Name, err)
		}
		s.drivers = append(s.drivers, t)
		if err := s.hosts.remember(h, t); err != nil {
			return nil, err
		}
		d := hypervisor.NewESXi(t, hypervisor.Options{
			Host:        h.Name,
			VolumesRoot: h.VolumesRoot,
			Logger:      s.Logger.With("component", "driver", "host", h.Name),
		})
		out = append(out, compute.HostConfig{
			Name: h.Name, Address: h.Address, Zone: h.Zone,
			Datastore: h.Datastore, Network: h.Network, Driver: d,
		})
	}
	return out, nil
}

// transport connects to one host: directly when minicloud runs on it, by
// SSH otherwise.
func (s *Server) transport(h config.Host) (hypervisor.Transport, error) {
	if h.Local {
		return &hypervisor.LocalTransport{}, nil
	}
	password, err := h.ReadPassword()
	if err != nil {
		return nil, err
	}
	var signers []ssh.Signer
	if h.KeyFile != "" {
		pem, err := os.ReadFile(h.KeyFile)
		if err != nil {
			return nil, err
		}
		signer, err := ssh.ParsePrivateKey(pem)
		if err != nil {
			return nil, fmt.Errorf("key_file %s: %w", h.KeyFile, err)
		}
		signers = append(signers, signer)
	}
	return hypervisor.NewSSH(hypervisor.SSHConfig{
		Host: h.Name, Addr: h.Address, User: h.User,
		Password: password, Signers: signers, KnownHost: h.HostKey,
		MaxSessions: h.MaxSessions,
	})
}

// imageConfigs converts configured images for the service.
func imageConfigs(images []config.Image) []compute.ImageConfig {
	out := make([]compute.ImageConfig, len(images))
	for i, img := range images {
		out[i] = compute.ImageConfig{
			Name: img.Name, Description: img.Description, Location: img.Location,
			Architecture: img.Architecture, GuestOS: img.GuestOS, VolumeSizeGiB: img.SizeGiB,
		}
	}
	return out
}

// accounts returns the accounts of the configured keys, each once and
// sorted; the default account when none are configured.
func accounts(cfg *config.Config) []string {
	var out []string
	for _, c := range newCredentials(cfg) {
		if !slices.Contains(out, c.AccountID) {
			out = append(out, c.AccountID)
		}
	}
	slices.Sort(out)
	return out
}

// credentialStore maps access keys to their secrets and accounts.
type credentialStore map[string]config.Credential

// newCredentials returns the configured keys, or the well-known test
// pair when none are configured; Validate has made sure minicloud then
// listens on loopback only.
func newCredentials(cfg *config.Config) credentialStore {
	creds := credentialStore{}
	for _, c := range cfg.Credentials {
		creds[c.AccessKeyID] = c
	}
	if len(creds) == 0 {
		creds[config.TestAccessKeyID] = config.Credential{
			AccessKeyID: config.TestAccessKeyID, SecretAccessKey: config.TestSecretAccessKey,
			AccountID: cloud.DefaultAccountID,
		}
	}
	return creds
}

// Lookup returns the secret and account of an access key.
func (c credentialStore) Lookup(id string) (secret, account string, ok bool) {
	cr, ok := c[id]
	return cr.SecretAccessKey, cr.AccountID, ok
}

// welcome prints how to use the server.
func (s *Server) welcome() {
	if s.Stdout == nil {
		return
	}
	cfg := s.Config
	w := s.Stdout
	fmt.Fprintf(w, "minicloud %s is serving the EC2 API\n", Version)
	fmt.Fprintf(w, "  endpoint:  %s\n", s.Endpoint())
	fmt.Fprintf(w, "  region:    %s\n", cfg.Region)
	fmt.Fprintf(w, "  data:      %s\n", cfg.Data)
	key, secret := config.TestAccessKeyID, config.TestSecretAccessKey
	if len(cfg.Credentials) > 0 {
		key, secret = cfg.Credentials[0].AccessKeyID, "(as configured)"
	}
	fmt.Fprintf(w, "  access key: %s  secret key: %s\n", key, secret)
	if len(s.sims) > 0 {
		fmt.Fprintln(w, "simulated ESXi hosts (log in and watch the VMs appear):")
		for _, sim := range s.sims {
			fmt.Fprintf(w, "  %s (%s): ssh -p %d root@127.0.0.1   password: %s\n",
				sim.name, sim.zone, sim.port, sim.password)
		}
	}
	fmt.Fprintf(w, "try:\n  export AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s AWS_DEFAULT_REGION=%s\n",
		key, strings.ReplaceAll(secret, " ", ""), cfg.Region)
	fmt.Fprintf(w, "  aws --endpoint-url %s ec2 describe-images\n", s.Endpoint())
}

// newLogger returns a text logger at the named level.
func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}
