package hypervisor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
)

// SSHConfig configures an SSHTransport.
type SSHConfig struct {
	// Host names the host in errors and logs; empty means Addr.
	Host string

	// Addr is the host's SSH address, "host:port"; a bare host means port 22.
	Addr string

	// User is the account to log in as; empty means "root".
	User string

	// Password is offered through keyboard-interactive (ESXi's prompt is
	// "(root@host) Password: ") and the password method, at most once per
	// connection. It is never logged.
	Password string

	// Signers are private keys for public-key authentication, tried first.
	Signers []ssh.Signer

	// HostKey is the host's public key. Either it or KnownHost is required:
	// the host key is always checked.
	HostKey ssh.PublicKey

	// KnownHost is the host's key as a known_hosts line, an
	// authorized_keys-style line or a SHA256 fingerprint (see ParseHostKey).
	KnownHost string

	// MaxSessions bounds the commands running at once on the connection;
	// 0 means 4.
	MaxSessions int

	// DialTimeout bounds the TCP connect and SSH handshake; 0 means 15s.
	DialTimeout time.Duration

	// MinBackoff and MaxBackoff bound the wait after a failed dial before
	// the next is tried; 0 means 1s and 1m. The wait doubles per failure.
	MinBackoff, MaxBackoff time.Duration

	// KeepAlive is how often an idle connection is checked; a connection
	// that does not answer within that time is dropped. 0 means 30s;
	// negative disables the check.
	KeepAlive time.Duration

	// Logger receives connection events; nil discards them.
	Logger *slog.Logger
}

// ConnStatus is the state of an SSHTransport's connection.
type ConnStatus string

// Connection states. AuthFailed and HostKeyMismatch are permanent until
// Reset.
const (
	StatusDisconnected    ConnStatus = "disconnected"
	StatusConnected       ConnStatus = "connected"
	StatusAuthFailed      ConnStatus = "auth-failed"
	StatusHostKeyMismatch ConnStatus = "host-key-mismatch"
)

// ConnState is an SSHTransport's connection state, why, and since when.
type ConnState struct {
	Status  ConnStatus
	Message string // the last failure, "" when connected
	Since   time.Time
}

// SSHStats counts an SSHTransport's work since it was made.
type SSHStats struct {
	Execs       int64 // commands started
	Dials       int64 // connections attempted
	FailedDials int64 // connections that failed to dial or log in
}

// SSHTransport runs commands on one host over a single SSH connection,
// one session per command. It dials lazily, redials after a lost
// connection with a capped backoff between failed dials, and bounds the
// sessions running at once. A rejected login or a wrong host key stops it
// from dialling at all until Reset, so it can never lock the ESXi account
// by retrying. It is safe for concurrent use.
type SSHTransport struct {
	cfg     SSHConfig
	hostKey HostKey
	log     *slog.Logger
	sem     chan struct{} // one token per running session
	dialing chan struct{} // held by the one goroutine dialling

	mu        sync.Mutex // guards the fields that follow
	client    *ssh.Client
	state     ConnState
	permanent error     // an auth or host-key failure; no dialling until Reset
	lastErr   error     // the last failed dial
	failures  int       // failed dials since the last success
	nextDial  time.Time // no dial before this, after failures
	closed    bool

	execs, dials, failedDials atomic.Int64
}

// errPasswordRejected stops a login that would send the password twice.
var errPasswordRejected = errors.New("the host rejected the password")

// NewSSH returns a transport for cfg. It does not dial. It returns an
// error if cfg has no usable host key or no credentials.
func NewSSH(cfg SSHConfig) (*SSHTransport, error) {
	// Fill in defaults.
	if cfg.Addr == "" {
		return nil, errors.New("ssh config: no address")
	}
	if _, _, err := net.SplitHostPort(cfg.Addr); err != nil {
		cfg.Addr = net.JoinHostPort(cfg.Addr, "22")
	}
	if cfg.Host == "" {
		cfg.Host = cfg.Addr
	}
	if cfg.User == "" {
		cfg.User = "root"
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = 4
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 15 * time.Second
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = time.Second
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(time.Minute, cfg.MinBackoff)
	}
	if cfg.KeepAlive == 0 {
		cfg.KeepAlive = 30 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}

	// The host key is mandatory.
	var hk HostKey
	switch {
	case cfg.HostKey != nil:
		hk = HostKey{Key: cfg.HostKey}
	case cfg.KnownHost != "":
		var err error
		if hk, err = ParseHostKey(cfg.KnownHost); err != nil {
			return nil, fmt.Errorf("ssh config for %s: %w", cfg.Host, err)
		}
	default:
		return nil, fmt.Errorf("ssh config for %s: no host key", cfg.Host)
	}
	if cfg.Password == "" && len(cfg.Signers) == 0 {
		return nil, fmt.Errorf("ssh config for %s: no password or key", cfg.Host)
	}

	return &SSHTransport{
		cfg:     cfg,
		hostKey: hk,
		log:     log.With("host", cfg.Host),
		sem:     make(chan struct{}, cfg.MaxSessions),
		dialing: make(chan struct{}, 1),
		state:   ConnState{Status: StatusDisconnected, Since: time.Now()},
	}, nil
}

// Run implements Transport. Besides ctx's error it returns errors that
// wrap ErrAuthFailed or ErrHostKeyMismatch (permanent until Reset),
// ErrUnreachable, ErrSessionRefused or ErrConnectionLost (transient), and
// ErrClosed.
func (t *SSHTransport) Run(ctx context.Context, cmd string, stdin io.Reader) (Result, error) {
	// Wait for a session slot.
	select {
	case t.sem <- struct{}{}:
		defer func() { <-t.sem }()
	case <-ctx.Done():
		return Result{}, fmt.Errorf("%s: wait for a session: %w", t.cfg.Host, ctx.Err())
	}

	// Open a session. A connection that broke while idle is found here,
	// before the command started, so it is safe to redial once.
	for attempt := 0; ; attempt++ {
		client, fresh, err := t.connect(ctx)
		if err != nil {
			return Result{}, err
		}
		sess, err := client.NewSession()
		if err == nil {
			return t.runSession(ctx, sess, cmd, stdin)
		}
		var refused *ssh.OpenChannelError
		if errors.As(err, &refused) {
			return Result{}, fmt.Errorf("%w: %s: %v", ErrSessionRefused, t.cfg.Host, err)
		}
		t.drop(client, err)
		if fresh || attempt > 0 {
			return Result{}, fmt.Errorf("%w: %s: open session: %v", ErrConnectionLost, t.cfg.Host, err)
		}
	}
}

// runSession runs cmd in sess and waits for its exit or for ctx.
func (t *SSHTransport) runSession(ctx context.Context, sess *ssh.Session, cmd string,
	stdin io.Reader) (Result, error) {
	var stdout, stderr bytes.Buffer
	sess.Stdin, sess.Stdout, sess.Stderr = stdin, &stdout, &stderr
	t.execs.Add(1)
	if err := sess.Start(cmd); err != nil {
		sess.Close()
		return Result{}, fmt.Errorf("%w: %s: start command: %v", ErrConnectionLost, t.cfg.Host, err)
	}

	// Wait; on cancellation kill the command and leave without waiting, as
	// a blocked stdin reader could hold Wait forever.
	done := make(chan error, 1)
	go func() { done <- sess.Wait() }()
	var err error
	select {
	case err = <-done:
		sess.Close()
	case <-ctx.Done():
		_ = sess.Signal(ssh.SIGKILL)
		sess.Close()
		return Result{}, fmt.Errorf("%s: %w", t.cfg.Host, ctx.Err())
	}

	// A non-zero exit is a result; anything else lost the command's end.
	res := Result{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	var exit *ssh.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		res.ExitStatus = exit.ExitStatus()
		if exit.Signal() != "" && res.ExitStatus == 0 {
			res.ExitStatus = -1
		}
	default:
		return res, fmt.Errorf("%w: %s: %v", ErrConnectionLost, t.cfg.Host, err)
	}
	return res, nil
}

// connect returns the live client, dialling if there is none. fresh says
// whether it was dialled by this call.
func (t *SSHTransport) connect(ctx context.Context) (c *ssh.Client, fresh bool, err error) {
	if c, err := t.current(); c != nil || err != nil {
		return c, false, err
	}

	// One dial at a time; the others wait for its outcome.
	select {
	case t.dialing <- struct{}{}:
		defer func() { <-t.dialing }()
	case <-ctx.Done():
		return nil, false, fmt.Errorf("%s: wait for dial: %w", t.cfg.Host, ctx.Err())
	}
	if c, err := t.current(); c != nil || err != nil {
		return c, false, err
	}

	// Back off after failed dials.
	t.mu.Lock()
	if wait := time.Until(t.nextDial); wait > 0 {
		err := fmt.Errorf("%w: %s: last dial failed (%v), next in %s",
			ErrUnreachable, t.cfg.Host, t.lastErr, wait.Round(time.Millisecond))
		t.mu.Unlock()
		return nil, false, err
	}
	t.mu.Unlock()

	// Dial and record the outcome.
	c, err = t.dial(ctx)
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		t.recordFailureLocked(ctx, err)
		return nil, false, err
	}
	if t.closed {
		c.Close()
		return nil, false, fmt.Errorf("%s: %w", t.cfg.Host, ErrClosed)
	}
	t.client, t.failures, t.lastErr = c, 0, nil
	t.state = ConnState{Status: StatusConnected, Since: time.Now()}
	t.log.Info("ssh connected", "addr", t.cfg.Addr)
	go t.watch(c)
	return c, true, nil
}

// current returns the live client, or the error that forbids dialling,
// or neither when a dial is needed.
func (t *SSHTransport) current() (*ssh.Client, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.closed:
		return nil, fmt.Errorf("%s: %w", t.cfg.Host, ErrClosed)
	case t.permanent != nil:
		return nil, fmt.Errorf("%w (not dialling again until Reset)", t.permanent)
	}
	return t.client, nil
}

// recordFailureLocked notes a failed dial: permanently for a rejected
// login or host key, otherwise with a backoff before the next dial. A dial
// cut short by ctx says nothing about the host and is not counted.
func (t *SSHTransport) recordFailureLocked(ctx context.Context, err error) {
	if ctxErr(ctx) != nil {
		return
	}
	t.failedDials.Add(1)
	now := time.Now()
	switch {
	case errors.Is(err, ErrHostKeyMismatch):
		t.permanent = err
		t.state = ConnState{Status: StatusHostKeyMismatch, Message: err.Error(), Since: now}
	case errors.Is(err, ErrAuthFailed):
		t.permanent = err
		t.state = ConnState{Status: StatusAuthFailed, Message: err.Error(), Since: now}
	default:
		t.failures++
		wait := t.cfg.MinBackoff << min(t.failures-1, 20)
		t.nextDial = now.Add(min(wait, t.cfg.MaxBackoff))
		t.lastErr = err
		t.state = ConnState{Status: StatusDisconnected, Message: err.Error(), Since: now}
	}
	t.log.Warn("ssh dial failed", "addr", t.cfg.Addr, "err", err)
}

// watch waits for the connection to end, keeping it alive meanwhile, and
// then forgets it so that the next Run redials.
func (t *SSHTransport) watch(c *ssh.Client) {
	stop := make(chan struct{})
	if t.cfg.KeepAlive > 0 {
		go keepAlive(c, t.cfg.KeepAlive, stop)
	}
	err := c.Wait()
	close(stop)
	t.drop(c, err)
}

// drop forgets c if it is the live client.
func (t *SSHTransport) drop(c *ssh.Client, cause error) {
	c.Close()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.client != c {
		return
	}
	t.client = nil
	msg := "connection closed"
	if cause != nil {
		msg = "connection lost: " + cause.Error()
	}
	if t.permanent == nil {
		t.state = ConnState{Status: StatusDisconnected, Message: msg, Since: time.Now()}
	}
	if !t.closed {
		t.log.Warn("ssh connection lost", "addr", t.cfg.Addr, "err", cause)
	}
}

// keepAlive sends a request every interval and closes c if one goes
// unanswered for an interval, so a host that vanished is noticed.
func keepAlive(c *ssh.Client, interval time.Duration, stop <-chan struct{}) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		errc := make(chan error, 1)
		go func() {
			_, _, err := c.SendRequest("keepalive@openssh.com", true, nil)
			errc <- err
		}()
		select {
		case err := <-errc:
			if err != nil {
				c.Close()
				return
			}
		case <-time.After(interval):
			c.Close()
			return
		case <-stop:
			return
		}
	}
}

// Reset clears a recorded authentication or host-key failure and any
// backoff, so the next Run dials again. Call it after fixing the
// credentials or the expected key.
func (t *SSHTransport) Reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.permanent, t.lastErr = nil, nil
	t.failures, t.nextDial = 0, time.Time{}
	if t.client == nil {
		t.state = ConnState{Status: StatusDisconnected, Since: time.Now()}
	}
}

// State returns the connection's state.
func (t *SSHTransport) State() ConnState {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.state
}

// Stats returns the transport's counters.
func (t *SSHTransport) Stats() SSHStats {
	return SSHStats{
		Execs:       t.execs.Load(),
		Dials:       t.dials.Load(),
		FailedDials: t.failedDials.Load(),
	}
}

// Close closes the connection; Run fails with ErrClosed afterwards.
func (t *SSHTransport) Close() error {
	t.mu.Lock()
	c := t.client
	t.client, t.closed = nil, true
	t.mu.Unlock()
	if c != nil {
		return c.Close()
	}
	return nil
}

// dial connects and logs in, bounded by ctx and DialTimeout.
func (t *SSHTransport) dial(ctx context.Context) (*ssh.Client, error) {
	t.dials.Add(1)
	addr := t.cfg.Addr
	dctx, cancel := context.WithTimeout(ctx, t.cfg.DialTimeout)
	defer cancel()

	// Connect.
	var d net.Dialer
	conn, err := d.DialContext(dctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrUnreachable, t.cfg.Host, err)
	}

	// Shake hands within the same bounds.
	if deadline, ok := dctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	stop := context.AfterFunc(dctx, func() { conn.Close() })
	var hostKeyErr error
	cfg := &ssh.ClientConfig{
		User: t.cfg.User,
		Auth: t.authMethods(),
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			if t.hostKey.matches(key) {
				return nil
			}
			hostKeyErr = fmt.Errorf("%w: %s presented %s, expected %s", ErrHostKeyMismatch,
				t.cfg.Host, ssh.FingerprintSHA256(key), t.hostKey)
			return hostKeyErr
		},
		HostKeyAlgorithms: t.hostKey.algorithms(),
	}
	sc, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
	stopped := stop()

	// Tell a rejected key or login, which are permanent, from the rest.
	switch {
	case err == nil && stopped:
		_ = conn.SetDeadline(time.Time{})
		return ssh.NewClient(sc, chans, reqs), nil
	case err == nil:
		sc.Close()
		return nil, fmt.Errorf("%s: dial: %w", t.cfg.Host, dctx.Err())
	case hostKeyErr != nil:
		return nil, hostKeyErr
	case isAuthFailure(err):
		return nil, fmt.Errorf("%w: %s as %s: %v", ErrAuthFailed, t.cfg.Host, t.cfg.User, err)
	case ctxErr(ctx) != nil:
		return nil, fmt.Errorf("%s: dial: %w", t.cfg.Host, ctxErr(ctx))
	}
	return nil, fmt.Errorf("%w: %s: %v", ErrUnreachable, t.cfg.Host, err)
}

// ctxErr returns ctx's error, or context.DeadlineExceeded once its
// deadline has passed: a connection's deadline, set from ctx's, can fire a
// moment before ctx's own timer does, and a dial the caller cut short says
// nothing about the host.
func ctxErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		return context.DeadlineExceeded
	}
	return nil
}

// isAuthFailure reports whether a handshake error means the host turned
// the credentials down.
func isAuthFailure(err error) bool {
	return errors.Is(err, errPasswordRejected) ||
		strings.Contains(err.Error(), "unable to authenticate")
}

// authMethods returns the login methods for one connection: public keys,
// then the password through keyboard-interactive, then through the password
// method. The password is sent at most once per connection, so a wrong one
// costs exactly one failed login.
func (t *SSHTransport) authMethods() []ssh.AuthMethod {
	var methods []ssh.AuthMethod
	if len(t.cfg.Signers) > 0 {
		methods = append(methods, ssh.PublicKeys(t.cfg.Signers...))
	}
	if t.cfg.Password == "" {
		return methods
	}
	var sent atomic.Bool
	password := t.cfg.Password
	answer := func(name, instruction string, questions []string, echos []bool) ([]string, error) {
		answers := make([]string, len(questions))
		for i, q := range questions {
			if !strings.Contains(strings.ToLower(q), "password") {
				continue
			}
			if sent.Swap(true) {
				return nil, errPasswordRejected
			}
			answers[i] = password
		}
		return answers, nil
	}
	once := func() (string, error) {
		if sent.Swap(true) {
			return "", errPasswordRejected
		}
		return password, nil
	}
	return append(methods, ssh.KeyboardInteractive(answer), ssh.PasswordCallback(once))
}
