package hypervisor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// DefaultVolumesRoot is where ESXi mounts its datastores.
const DefaultVolumesRoot = "/vmfs/volumes"

// Options configures an ESXi driver.
type Options struct {
	// Host names the host in errors and logs, e.g. "esxi01".
	Host string

	// VolumesRoot is where datastores are mounted; empty means
	// /vmfs/volumes. The simulated host may mount them elsewhere.
	VolumesRoot string

	// Logger receives a Debug record for every command; nil discards.
	Logger *slog.Logger

	// Now is the clock for Inventory.Taken; nil means time.Now.
	Now func() time.Time
}

// ESXi drives one ESXi host through a Transport with vim-cmd, vmkfstools
// and esxcli. Its methods are safe for concurrent use; the transport
// bounds how many commands run at once. Transient faults are classified
// (IsTransient) but never retried here: the caller owns the retry policy.
type ESXi struct {
	t     Transport
	host  string
	root  string
	log   *slog.Logger
	now   func() time.Time
	mu    sync.Mutex        // guards uuids
	uuids map[string]string // datastore UUID -> name, learnt by Probe
}

// NewESXi returns a driver for the host behind t.
func NewESXi(t Transport, opts Options) *ESXi {
	d := &ESXi{t: t, host: opts.Host, root: opts.VolumesRoot, log: opts.Logger, now: opts.Now}
	if d.root == "" {
		d.root = DefaultVolumesRoot
	}
	d.root = strings.TrimRight(d.root, "/")
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	d.log = d.log.With("host", opts.Host)
	if d.now == nil {
		d.now = time.Now
	}
	return d
}

// Host returns the host's name as given in Options.
func (d *ESXi) Host() string { return d.host }

// exec runs cmd and returns its result. A transport failure comes back as
// an *Error wrapping the transport's error; the exit status is not judged.
// Only the command line is logged: file contents travel on stdin.
func (d *ESXi) exec(ctx context.Context, op, cmd string, stdin io.Reader) (Result, error) {
	d.log.DebugContext(ctx, "esxi exec", "op", op, "cmd", cmd)
	res, err := d.t.Run(ctx, cmd, stdin)
	if err != nil {
		return res, &Error{Host: d.host, Op: op, Cmd: cmd, Err: err}
	}
	return res, nil
}

// execOK runs cmd and returns an *Error if it exits non-zero or prints a
// vim fault (some vim-cmd failures exit 0).
func (d *ESXi) execOK(ctx context.Context, op, cmd string, stdin io.Reader) (Result, error) {
	res, err := d.exec(ctx, op, cmd, stdin)
	if err != nil {
		return res, err
	}
	if res.ExitStatus != 0 || hasFault(string(res.Stdout)) || hasFault(string(res.Stderr)) {
		return res, newCmdError(d.host, op, cmd, res)
	}
	return res, nil
}

// runBatch runs every section of b in one exec and splits the output.
func (d *ESXi) runBatch(ctx context.Context, op string, b *batch) (map[string]section, error) {
	res, err := d.exec(ctx, op, b.script(), nil)
	if err != nil {
		return nil, err
	}
	secs, err := b.split(string(res.Stdout))
	if err != nil {
		e := newCmdError(d.host, op, b.script(), res)
		e.Err = err
		return nil, e
	}
	return secs, nil
}

// sectionError describes a section of a batch that failed.
func (d *ESXi) sectionError(op, cmd string, s section) *Error {
	return newCmdError(d.host, op, cmd, Result{Stdout: []byte(s.out), ExitStatus: s.status})
}

// hasFault reports whether out holds a vim fault block.
func hasFault(out string) bool {
	f, _ := parseFault(out)
	return f != ""
}

// listingFault reports whether the output of getallvms holds a vim fault
// before its table header. A fault block after the header is the text of
// a VM's annotation, which anyone with the host client can write, and must
// not make the whole host unreadable.
func listingFault(out string) bool {
	if i := headerIndex(out); i >= 0 {
		out = out[:i]
	}
	return hasFault(out)
}

// headerIndex returns where the getallvms header line starts in out, or
// -1 if out has none.
func headerIndex(out string) int {
	for off := 0; off < len(out); {
		line, _, _ := strings.Cut(out[off:], "\n")
		if strings.HasPrefix(strings.TrimSpace(line), "Vmid") {
			return off
		}
		off += len(line) + 1
	}
	return -1
}

// HostInfo is a host's identity and capacity, as Probe reads it.
type HostInfo struct {
	Version       string // "7.0.3"
	Build         string // "24784741"
	CPUModel      string
	CPUCores      int
	CPUThreads    int
	CPUMhz        int // per core
	MemoryBytes   int64
	CPUUsageMhz   int
	MemoryUsageMB int
	Datastores    []Datastore
}

// Datastore is a mounted datastore that can hold VMs.
type Datastore struct {
	Name          string // the volume name, as in "[Name] path"
	Path          string // its mount point, often /vmfs/volumes/UUID
	UUID          string
	Type          string // VMFS-6, NFS, ...
	CapacityBytes int64
	FreeBytes     int64
}

// systemFilesystems are filesystem types that hold ESXi itself, not VMs.
var systemFilesystems = map[string]bool{"vfat": true, "VMFSOS": true, "VMFS-L": true}

// Probe reads the host's version, hardware, load and datastores in one
// exec. It returns an *Error if any of the three commands fails.
func (d *ESXi) Probe(ctx context.Context) (HostInfo, error) {
	const op = "probe"
	cmds := map[string]string{
		"version":     "vmware -v",
		"hostsummary": "vim-cmd hostsvc/hostsummary",
		"filesystems": "esxcli storage filesystem list",
	}
	b := newBatch()
	for _, name := range []string{"version", "hostsummary", "filesystems"} {
		b.add(name, cmds[name])
	}
	secs, err := d.runBatch(ctx, op, b)
	if err != nil {
		return HostInfo{}, err
	}
	for name, s := range secs {
		if s.status != 0 || hasFault(s.out) {
			return HostInfo{}, d.sectionError(op, cmds[name], s)
		}
	}

	// Read each section.
	ver, err := parseVersion(secs["version"].out)
	if err != nil {
		return HostInfo{}, &Error{Host: d.host, Op: op, Cmd: cmds["version"], Err: err}
	}
	fss, err := parseFilesystems(secs["filesystems"].out)
	if err != nil {
		return HostInfo{}, &Error{Host: d.host, Op: op, Cmd: cmds["filesystems"], Err: err}
	}
	hs := parseHostSummary(secs["hostsummary"].out)
	info := HostInfo{
		Version: ver.Version, Build: ver.Build,
		CPUModel: hs.CPUModel, CPUCores: hs.CPUCores, CPUThreads: hs.CPUThreads,
		CPUMhz: hs.CPUMhz, MemoryBytes: hs.MemoryBytes,
		CPUUsageMhz: hs.CPUUsageMhz, MemoryUsageMB: hs.MemoryUsageMB,
	}

	// Keep the datastores that can hold VMs, and learn their UUIDs so
	// Observe can match running VMs whose paths name the UUID.
	uuids := map[string]string{}
	for _, fs := range fss {
		if !fs.Mounted || systemFilesystems[fs.Type] || fs.VolumeName == "" {
			continue
		}
		info.Datastores = append(info.Datastores, Datastore{
			Name: fs.VolumeName, Path: fs.MountPoint, UUID: fs.UUID, Type: fs.Type,
			CapacityBytes: fs.Size, FreeBytes: fs.Free,
		})
		uuids[fs.UUID] = fs.VolumeName
	}
	d.mu.Lock()
	d.uuids = uuids
	d.mu.Unlock()
	return info, nil
}

// FilesExist reports, for each path, whether it exists on the host, in
// one exec. Paths are absolute host paths (see DatastorePath).
func (d *ESXi) FilesExist(ctx context.Context, paths []string) ([]bool, error) {
	const op = "check files"
	if len(paths) == 0 {
		return nil, nil
	}
	var b strings.Builder
	for _, p := range paths {
		fmt.Fprintf(&b, "if [ -e %s ]; then echo 1; else echo 0; fi\n", Quote(p))
	}
	cmd := b.String()
	res, err := d.execOK(ctx, op, cmd, nil)
	if err != nil {
		return nil, err
	}
	fields := strings.Fields(string(res.Stdout))
	if len(fields) != len(paths) {
		return nil, &Error{Host: d.host, Op: op, Cmd: cmd,
			Err: fmt.Errorf("got %d answers for %d paths", len(fields), len(paths))}
	}
	out := make([]bool, len(paths))
	for i, f := range fields {
		out[i] = f == "1"
	}
	return out, nil
}

// SplitDatastorePath splits "[ds] a/b.vmdk" into "ds" and "a/b.vmdk". It
// returns an error for text that is not a datastore path.
func SplitDatastorePath(p string) (ds, rel string, err error) {
	if !strings.HasPrefix(p, "[") {
		return "", "", fmt.Errorf("not a datastore path: %q", p)
	}
	ds, rel, ok := strings.Cut(p[1:], "]")
	if !ok || checkName("datastore", ds) != nil {
		return "", "", fmt.Errorf("not a datastore path: %q", p)
	}
	return ds, strings.TrimLeft(rel, " /"), nil
}

// DatastorePath turns "[ds] a/b.vmdk" into "/vmfs/volumes/ds/a/b.vmdk"
// (under the driver's VolumesRoot). It refuses paths with ".." elements.
func (d *ESXi) DatastorePath(p string) (string, error) {
	ds, rel, err := SplitDatastorePath(p)
	if err != nil {
		return "", err
	}
	for _, elem := range strings.Split(rel, "/") {
		if elem == ".." {
			return "", fmt.Errorf("datastore path %q leaves its datastore", p)
		}
	}
	if rel == "" {
		return d.root + "/" + ds, nil
	}
	return d.root + "/" + ds + "/" + rel, nil
}

// ToDatastorePath turns "/vmfs/volumes/ds/a/b.vmdk" into "[ds] a/b.vmdk";
// a datastore mounted by UUID is named if Probe has seen it. It returns an
// error for a path outside VolumesRoot.
func (d *ESXi) ToDatastorePath(abs string) (string, error) {
	rest, ok := strings.CutPrefix(abs, d.root+"/")
	if !ok || rest == "" {
		return "", fmt.Errorf("path %q is not under %s", abs, d.root)
	}
	ds, rel, _ := strings.Cut(rest, "/")
	d.mu.Lock()
	if name, ok := d.uuids[ds]; ok {
		ds = name
	}
	d.mu.Unlock()
	return "[" + ds + "] " + rel, nil
}

// errInvalidName reports a VM or datastore name the driver will not use.
var errInvalidName = errors.New("invalid name")

// checkName refuses names that are not one plain path element, so that a
// name can never point rm -rf or mkdir anywhere but its own folder.
func checkName(kind, name string) error {
	switch {
	case name == "", name == ".", name == "..":
	case strings.ContainsAny(name, "/\x00\n\r"):
	default:
		return nil
	}
	return fmt.Errorf("%w: %s %q is not a plain path element", errInvalidName, kind, name)
}
