package bench

import "fmt"

// Target is one of minicloud's performance goals and how a run fared.
type Target struct {
	Goal    string `json:"goal"`
	Got     string `json:"got"`
	Met     bool   `json:"met"`
	Skipped bool   `json:"skipped,omitempty"` // the run did not measure it
}

// checkTargets compares rep with minicloud's performance goals.
func checkTargets(rep *Report) []Target {
	var out []Target
	add := func(goal string, ok, measured bool, got string, args ...any) {
		out = append(out, Target{Goal: goal, Got: fmt.Sprintf(got, args...), Met: ok && measured,
			Skipped: !measured})
	}
	find := func(name, mode string) *ScenarioReport {
		for _, s := range rep.Scenarios {
			if s.Name == name && s.Mode == mode {
				return s
			}
		}
		return &ScenarioReport{}
	}

	// describe-one with the SDK, over the ceiling and over moto.
	one := find(ScenarioDescribeOne, ModeSDK)
	add("describe-one (SDK) at least 0.5x the ceiling", one.OverCeiling >= 0.5,
		one.OverCeiling > 0, "%.2fx", one.OverCeiling)
	add("describe-one (SDK) at least 20x moto", one.OverMoto >= 20, one.OverMoto > 0,
		"%.1fx", one.OverMoto)

	// describe-all: raw against moto, SDK against the ceiling.
	raw := find(ScenarioDescribeAll, ModeRaw)
	add("describe-all (raw) at least 50x faster than moto", raw.OverMoto >= 50,
		raw.OverMoto > 0, "%.1fx", raw.OverMoto)
	all := find(ScenarioDescribeAll, ModeSDK)
	slower := 0.0
	if all.OverCeiling > 0 {
		slower = 1 / all.OverCeiling
	}
	add("describe-all (SDK) within 1.3x the ceiling's time", slower <= 1.3, slower > 0,
		"%.2fx the ceiling's time", slower)

	// run: instances acknowledged per second.
	run := find(ScenarioRun, ModeSDK)
	perSec := 0.0
	if run.Minicloud != nil {
		perSec = run.Minicloud.PerSecond * runBatch
	}
	add(fmt.Sprintf("run: at least 2000 instances acknowledged/s (%d clients)", rep.Options.Clients),
		perSec >= 2000, perSec > 0, "%.0f/s", perSec)

	checkLaunchTargets(rep, add)
	checkStartupTargets(rep, add)
	return out
}

// checkLaunchTargets adds the goals of the launch scenarios.
func checkLaunchTargets(rep *Report, add func(string, bool, bool, string, ...any)) {
	calls, execs := 0.0, 0.0
	for _, l := range rep.Launches {
		calls = max(calls, l.HostdCallsPerLaunch)
		execs = max(execs, l.Observer.SSHExecsPerTick)
	}
	measured := len(rep.Launches) > 0
	add("launch: at most 4 sequential hostd calls per instance", calls <= 4, measured,
		"%.1f", calls)
	add("observer: one SSH exec per host per tick", execs <= 1, measured && execs > 0,
		"%.2f", execs)

	for _, want := range []struct {
		instances, hosts int
		seconds          float64
	}{{1, 1, 5}, {40, 4, 20}} {
		goal := fmt.Sprintf("launch %d on %d host(s), 1s per vim-cmd: running within %.0fs",
			want.instances, want.hosts, want.seconds)
		var got *LaunchReport
		for _, l := range rep.Launches {
			if l.Instances == want.instances && l.Hosts == want.hosts && l.LatencyMS == 1000 {
				got = l
			}
		}
		if got == nil {
			add(goal, false, false, "not run")
			continue
		}
		add(goal, got.AllRunning <= want.seconds, true, "%.2fs", got.AllRunning)
	}
}

// checkStartupTargets adds the goals of start-up, memory and placement.
func checkStartupTargets(rep *Report, add func(string, bool, bool, string, ...any)) {
	s := rep.Startup
	if s == nil {
		s = &StartupReport{Instances: rep.Options.Instances}
	}
	add(fmt.Sprintf("start to serving in under 1s with %d instances", s.Instances),
		s.OpenSeconds < 1, s.OpenSeconds > 0, "Server.Open %.3fs", s.OpenSeconds)
	rss := max(s.RSSIdleMiB, s.RSSListedMiB)
	add(fmt.Sprintf("under 150 MB resident with %d instances", s.Instances),
		rss*(1<<20) < 150e6, rss > 0, "%.1f MiB", rss)

	if p := rep.Scheduler; p != nil {
		add(fmt.Sprintf("scheduler: %d placements over %d hosts under 100ms", p.Placements, p.Hosts),
			p.TotalMS < 100, true, "%.1f ms (%.0f ms scanning every host each time)",
			p.TotalMS, p.ScanMS)
	}
}
