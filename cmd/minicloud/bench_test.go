package main

import (
	"context"
	"testing"
	"time"

	"github.com/minicloud/minicloud/internal/bench"
)

func TestParseLaunches(t *testing.T) {
	got, err := parseLaunches("1x1, 40x4@1s")
	if err != nil {
		t.Fatal(err)
	}
	want := []bench.LaunchSpec{{Instances: 1, Hosts: 1}, {Instances: 40, Hosts: 4, Latency: time.Second}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("parseLaunches = %+v, want %+v", got, want)
	}
	for _, bad := range []string{"40", "0x1", "4x", "1x1@soon"} {
		if _, err := parseLaunches(bad); err == nil {
			t.Errorf("parseLaunches(%q) succeeded, want an error", bad)
		}
	}
}

// TestBench_Launch runs the benchmark with a whole server: one launch on
// one simulated host, and the start-up over a pre-filled data folder.
func TestBench_Launch(t *testing.T) {
	if testing.Short() {
		t.Skip("starts minicloud servers")
	}
	rep, err := bench.Run(context.Background(), bench.Options{
		Instances: 40, Clients: 2, Duration: 100 * time.Millisecond, APIHosts: 1, NoMoto: true,
		Launches:   []bench.LaunchSpec{{Instances: 2, Hosts: 1}},
		Placements: 100, PlacementHosts: 10,
		Open: openBenchServer, Dir: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}

	if len(rep.Launches) != 1 {
		t.Fatalf("%d launch results, want 1", len(rep.Launches))
	}
	l := rep.Launches[0]
	if l.AllRunning <= 0 || l.HostdCallsPerLaunch < 1 || l.Observer.Ticks < 3 {
		t.Errorf("launch %+v: want a time, hostd calls and observer ticks", l)
	}
	if got := l.Observer.SSHExecsPerTick; got != 1 {
		t.Errorf("observer made %.2f SSH execs per tick, want 1", got)
	}
	s := rep.Startup
	if s == nil || s.Instances != 40 || s.OpenSeconds <= 0 || s.MemoryNote == "" {
		t.Errorf("start-up %+v: want Server.Open timed over 40 instances, memory not read", s)
	}
}
