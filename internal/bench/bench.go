// Package bench measures minicloud as its users meet it: an EC2 endpoint
// driven by aws-sdk-go-v2 from concurrent clients, and instances launched
// on simulated ESXi hosts.
//
// Each API scenario runs against three targets with the same client:
// minicloud, moto (a Python EC2 mock, when moto_server is installed) and
// a ceiling, a bare net/http handler that sends back the bytes minicloud
// sent. The ceiling is what this client reaches on this machine when the
// server costs nothing; minicloud's figure over it says how much of that
// minicloud leaves on the table. Beside the SDK client, a raw client signs
// requests with the SDK's signer and reads answers without parsing them,
// so a large listing shows the server's cost rather than the SDK's.
//
// The API scenarios run on simulated hosts that are probed but whose
// controllers are not started: instances are placed, written to the state
// file with fsync and acknowledged as always, and stay pending, so that
// ten thousand of them do not turn into ten thousand simulated VMs. The
// launch scenarios start a whole minicloud server, controllers included,
// and time instances until they run.
package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/minicloud/minicloud/internal/cloud"
	"github.com/minicloud/minicloud/internal/esxisim"
)

// Server is a running minicloud with embedded simulated hosts, as
// cmd/minicloud's Server is.
type Server interface {
	// Endpoint returns the EC2 API's URL.
	Endpoint() string
	// Hosts returns the hosts as the service sees them.
	Hosts() []cloud.Host
	// SimulatedHosts returns the simulated hosts, to read their Stats.
	SimulatedHosts() []*esxisim.Host
	// Close stops the server.
	Close() error
}

// ServerSpec describes a minicloud for OpenFunc to start.
type ServerSpec struct {
	// Dir is the data folder; the simulated hosts live under it.
	Dir string
	// Hosts is the number of simulated hosts.
	Hosts int
	// Latency is slept at the start of each vim-cmd, vmkfstools and
	// esxcli call on the simulated hosts.
	Latency time.Duration
}

// OpenFunc starts a minicloud and returns once its API is listening.
type OpenFunc func(ctx context.Context, spec ServerSpec) (Server, error)

// LaunchSpec is one launch scenario: Instances instances over Hosts hosts
// whose every vim-cmd takes Latency.
type LaunchSpec struct {
	Instances int
	Hosts     int
	Latency   time.Duration
}

// Options configure Run. Zero values take the defaults in brackets.
type Options struct {
	// Instances is how many instances the API scenarios create and read
	// [10000].
	Instances int
	// Clients is the number of concurrent clients of describe-one, run
	// and tags [8]; ListClients that of describe-all [1].
	Clients     int
	ListClients int
	// Duration is how long each timed scenario runs [5s].
	Duration time.Duration
	// APIHosts is the number of simulated hosts behind the API
	// scenarios [4].
	APIHosts int
	// NoMoto skips the comparison with moto_server, which otherwise runs
	// when it is installed.
	NoMoto bool

	// Launches are the launch scenarios [1 instance on 1 host and 40 on
	// 4, each with no latency and with 1s per vim-cmd]. They need Open.
	Launches []LaunchSpec

	// Open starts a whole minicloud, for the launch and start-up
	// measures; nil skips them.
	Open OpenFunc
	// ServeCommand runs `minicloud serve` as its own process, to read
	// its resident memory from /proc; nil skips that measure. Run adds
	// --data and --listen.
	ServeCommand []string

	// Placements instances are placed one at a time over PlacementHosts
	// hosts to time the scheduler [10000 over 1000].
	Placements     int
	PlacementHosts int

	// Dir holds the scenarios' state files and hosts [a temporary
	// folder, removed afterwards].
	Dir string

	// Progress receives a line per measure as the run goes; nil for
	// none.
	Progress io.Writer
}

func (o *Options) setDefaults() {
	if o.Instances <= 0 {
		o.Instances = 10000
	}
	o.Instances = max(o.Instances/runBatch*runBatch, 2*runBatch)
	if o.Clients <= 0 {
		o.Clients = 8
	}
	if o.ListClients <= 0 {
		o.ListClients = 1
	}
	if o.Duration <= 0 {
		o.Duration = 5 * time.Second
	}
	if o.APIHosts <= 0 {
		o.APIHosts = 4
	}
	if o.Launches == nil {
		o.Launches = []LaunchSpec{
			{Instances: 1, Hosts: 1}, {Instances: 40, Hosts: 4},
			{Instances: 1, Hosts: 1, Latency: time.Second},
			{Instances: 40, Hosts: 4, Latency: time.Second},
		}
	}
	if o.Placements <= 0 {
		o.Placements = 10000
	}
	if o.PlacementHosts <= 0 {
		o.PlacementHosts = 1000
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
}

// runner carries one Run.
type runner struct {
	opts Options
	dir  string
}

func (r *runner) progress(format string, args ...any) {
	fmt.Fprintf(r.opts.Progress, format+"\n", args...)
}

// Run measures every scenario and returns the report. It fails only when
// minicloud itself cannot be measured; moto missing or failing is noted
// in the report.
func Run(ctx context.Context, opts Options) (*Report, error) {
	opts.setDefaults()
	r := &runner{opts: opts, dir: opts.Dir}
	if r.dir == "" {
		dir, err := os.MkdirTemp("", "minicloud-bench-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		r.dir = dir
	}
	rep := &Report{Machine: machine(), Started: time.Now().UTC(), Options: reportOptions(opts)}

	// The API scenarios against minicloud, moto and the ceiling.
	results, err := r.apiScenarios(ctx, rep)
	if err != nil {
		return nil, err
	}
	rep.Scenarios = results

	// A whole server: launches, the observer, start-up and memory.
	if opts.Open != nil {
		for i, spec := range opts.Launches {
			dir := filepath.Join(r.dir, fmt.Sprintf("launch-%d", i+1))
			lr, err := r.launch(ctx, dir, spec)
			if err != nil {
				return nil, fmt.Errorf("launch %d on %d hosts: %w", spec.Instances, spec.Hosts, err)
			}
			rep.Launches = append(rep.Launches, lr)
		}
		st, err := r.startup(ctx, filepath.Join(r.dir, "startup"))
		if err != nil {
			return nil, fmt.Errorf("start-up: %w", err)
		}
		rep.Startup = st
	}

	// The scheduler alone.
	if rep.Scheduler, err = placements(r.opts.Placements, r.opts.PlacementHosts); err != nil {
		return nil, fmt.Errorf("placements: %w", err)
	}
	r.progress("scheduler: %d placements over %d hosts in %.1fms",
		rep.Scheduler.Placements, rep.Scheduler.Hosts, rep.Scheduler.TotalMS)

	rep.Machine.LoadAfter = loadAverage()
	rep.Seconds = time.Since(rep.Started).Seconds()
	rep.Targets = checkTargets(rep)
	return rep, nil
}

// apiScenarios drives minicloud, then moto, then the ceiling, and pairs
// their results by scenario.
func (r *runner) apiScenarios(ctx context.Context, rep *Report) ([]*ScenarioReport, error) {
	// minicloud, recording its answers.
	r.progress("minicloud: %d simulated hosts, %d instances", r.opts.APIHosts, r.opts.Instances)
	api, err := startAPI(ctx, filepath.Join(r.dir, "api"), r.opts.APIHosts)
	if err != nil {
		return nil, fmt.Errorf("start minicloud: %w", err)
	}
	defer api.close()
	rec := newRecorder()
	mc := newEndpoint("minicloud", api.url, r.opts.Clients, rec)
	defer mc.close()
	image, err := firstImage(ctx, mc)
	if err != nil {
		return nil, err
	}
	mcRes, mcFleet, err := r.driveAPI(ctx, mc, &fleet{imageID: image})
	if err != nil {
		return nil, err
	}
	out := pairResults(nil, mcRes, "minicloud")

	// moto, when it is there.
	if r.opts.NoMoto {
		rep.MotoNote = "not run (turned off)"
	} else if err := r.driveMoto(ctx, &out); err != nil {
		rep.MotoNote = err.Error()
		r.progress("moto: %v", err)
	}

	// The ceiling, with minicloud's own answers.
	c, err := startCeiling(rec.recorded())
	if err != nil {
		return nil, err
	}
	defer c.close()
	ce := newEndpoint("ceiling", c.url, r.opts.Clients, nil)
	defer ce.close()
	ceRes, _, err := r.driveAPI(ctx, ce, mcFleet)
	if err != nil {
		return nil, err
	}
	out = pairResults(out, ceRes, "ceiling")
	for _, s := range out {
		s.ratios()
	}
	return out, nil
}

// driveMoto runs the API scenarios against a moto_server of its own.
func (r *runner) driveMoto(ctx context.Context, out *[]*ScenarioReport) error {
	m, err := startMoto(ctx, io.Discard)
	if err != nil {
		return fmt.Errorf("moto_server not available: %w", err)
	}
	defer m.stop()
	r.progress("moto: %s", m.url)
	ep := newEndpoint("moto", m.url, r.opts.Clients, nil)
	defer ep.close()
	image, err := firstImage(ctx, ep)
	if err != nil {
		return fmt.Errorf("moto: %w", err)
	}
	res, _, err := r.driveAPI(ctx, ep, &fleet{imageID: image})
	if err != nil {
		return err
	}
	*out = pairResults(*out, res, "moto")
	return nil
}

// firstImage returns the id of an image the target can launch.
func firstImage(ctx context.Context, ep *endpoint) (string, error) {
	out, err := ep.sdk.DescribeImages(ctx, nil)
	if err != nil {
		return "", fmt.Errorf("DescribeImages: %w", err)
	}
	if len(out.Images) == 0 {
		return "", fmt.Errorf("%s offers no image", ep.name)
	}
	return *out.Images[0].ImageId, nil
}

// machine describes where the run happens.
func machine() Machine {
	host, _ := os.Hostname()
	return Machine{
		CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH,
		Host: host, LoadBefore: loadAverage(),
	}
}

// loadAverage returns the 1, 5 and 15 minute load averages as
// /proc/loadavg prints them, or "" where there is none.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
