package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/minicloud/minicloud/internal/bench"
	"github.com/minicloud/minicloud/internal/cloud"
	"github.com/minicloud/minicloud/internal/config"
	"github.com/minicloud/minicloud/internal/esxisim"
)

// runBench measures minicloud against moto and a bare HTTP server, and
// launches instances on simulated hosts; see internal/bench.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	instances := fs.Int("instances", 10000, "instances the API scenarios create and read")
	clients := fs.Int("clients", 8, "concurrent clients of describe-one, run and tags")
	listClients := fs.Int("list-clients", 1, "concurrent clients of describe-all")
	duration := fs.Duration("duration", 5*time.Second, "how long each timed scenario runs")
	hosts := fs.Int("hosts", 4, "simulated hosts behind the API scenarios")
	noMoto := fs.Bool("no-moto", false, "do not compare with moto_server")
	noLaunch := fs.Bool("no-launch", false, "skip the launch, start-up and memory measures")
	launches := fs.String("launches", "1x1,40x4,1x1@1s,40x4@1s",
		"launch scenarios: `list` of INSTANCESxHOSTS[@VIM-CMD-LATENCY]")
	jsonOut := fs.String("json", "", "also write the report as JSON to `file` (- for standard output)")
	dir := fs.String("dir", "", "scratch `folder` for state files and hosts (default: a temporary one)")
	quiet := fs.Bool("quiet", false, "do not print progress on standard error")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run, "+
		"servers and clients alike, to `file`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	specs, err := parseLaunches(*launches)
	if err != nil {
		return err
	}

	opts := bench.Options{
		Launches:  specs,
		Instances: *instances, Clients: *clients, ListClients: *listClients,
		Duration: *duration, APIHosts: *hosts, NoMoto: *noMoto, Dir: *dir,
	}
	if !*quiet {
		opts.Progress = stderr
	}
	if !*noLaunch {
		opts.Open = openBenchServer
		if exe, err := os.Executable(); err == nil {
			opts.ServeCommand = []string{exe, "serve"}
		}
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	rep, err := bench.Run(ctx, opts)
	if err != nil {
		return err
	}

	// The table for people; JSON where asked.
	table := stdout
	if *jsonOut == "-" {
		table = stderr
	}
	fmt.Fprintln(table)
	rep.WriteTable(table)
	switch *jsonOut {
	case "":
	case "-":
		return rep.WriteJSON(stdout)
	default:
		f, err := os.Create(*jsonOut)
		if err != nil {
			return err
		}
		if err := rep.WriteJSON(f); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	return nil
}

// parseLaunches reads launch scenarios such as "1x1,40x4@1s".
func parseLaunches(list string) ([]bench.LaunchSpec, error) {
	var out []bench.LaunchSpec
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		var spec bench.LaunchSpec
		sizes, latency, hasLatency := strings.Cut(item, "@")
		n, h, ok := strings.Cut(sizes, "x")
		var err1, err2, err3 error
		spec.Instances, err1 = strconv.Atoi(n)
		spec.Hosts, err2 = strconv.Atoi(h)
		if hasLatency {
			spec.Latency, err3 = time.ParseDuration(latency)
		}
		if !ok || errors.Join(err1, err2, err3) != nil || spec.Instances < 1 || spec.Hosts < 1 {
			return nil, fmt.Errorf("launch scenario %q: want INSTANCESxHOSTS[@LATENCY], as 40x4@1s", item)
		}
		out = append(out, spec)
	}
	return out, nil
}

// benchServer is a Server as the benchmark sees it.
type benchServer struct{ *Server }

func (s benchServer) Hosts() []cloud.Host { return s.svc.Hosts() }

func (s benchServer) SimulatedHosts() []*esxisim.Host {
	out := make([]*esxisim.Host, len(s.sims))
	for i, sim := range s.sims {
		out[i] = sim.host
	}
	return out
}

// openBenchServer opens a minicloud as `minicloud serve` would with its
// defaults, on a loopback port, with spec's simulated hosts.
func openBenchServer(ctx context.Context, spec bench.ServerSpec) (bench.Server, error) {
	cfg, err := config.Load("")
	if err != nil {
		return nil, err
	}
	cfg.Listen, cfg.Data = "127.0.0.1:0", spec.Dir
	cfg.Simulator.Hosts = spec.Hosts
	cfg.Simulator.Latency.Duration = spec.Latency
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{Config: cfg, Logger: slog.New(slog.DiscardHandler)}
	if err := s.Open(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return benchServer{s}, nil
}
