package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is everything one Run measured.
type Report struct {
	Machine Machine       `json:"machine"`
	Options ReportOptions `json:"options"`
	Started time.Time     `json:"started"`
	Seconds float64       `json:"seconds"`

	// Scenarios are the API scenarios, each against every target.
	Scenarios []*ScenarioReport `json:"scenarios"`
	// MotoNote says why moto has no figures, when it has none.
	MotoNote string `json:"moto_note,omitempty"`

	Launches  []*LaunchReport `json:"launches,omitempty"`
	Startup   *StartupReport  `json:"startup,omitempty"`
	Scheduler *SchedReport    `json:"scheduler,omitempty"`

	// Targets compares the figures with minicloud's performance goals.
	Targets []Target `json:"targets"`
}

// Machine is where a run happened, with the load average before and
// after it: other work on the machine makes figures noisy.
type Machine struct {
	CPUs       int    `json:"cpus"`
	OS         string `json:"os"`
	GoVersion  string `json:"go_version"`
	Host       string `json:"host"`
	LoadBefore string `json:"load_before"`
	LoadAfter  string `json:"load_after"`
}

// ReportOptions are the options a run used.
type ReportOptions struct {
	Instances   int     `json:"instances"`
	Clients     int     `json:"clients"`
	ListClients int     `json:"list_clients"`
	Seconds     float64 `json:"seconds_per_scenario"`
	APIHosts    int     `json:"api_hosts"`
}

func reportOptions(o Options) ReportOptions {
	return ReportOptions{
		Instances: o.Instances, Clients: o.Clients, ListClients: o.ListClients,
		Seconds: o.Duration.Seconds(), APIHosts: o.APIHosts,
	}
}

// ScenarioReport is one API scenario with one client against each
// target, and minicloud's rate over moto's and over the ceiling's.
type ScenarioReport struct {
	Name      string  `json:"name"`
	Mode      string  `json:"mode"`
	Minicloud *Result `json:"minicloud"`
	Moto      *Result `json:"moto,omitempty"`
	Ceiling   *Result `json:"ceiling,omitempty"`

	OverMoto    float64 `json:"minicloud_over_moto,omitempty"`
	OverCeiling float64 `json:"minicloud_over_ceiling,omitempty"`
}

// pairResults files each result of target under its scenario.
func pairResults(out []*ScenarioReport, res []apiResult, target string) []*ScenarioReport {
	for _, a := range res {
		var s *ScenarioReport
		for _, have := range out {
			if have.Name == a.scenario && have.Mode == a.mode {
				s = have
			}
		}
		if s == nil {
			s = &ScenarioReport{Name: a.scenario, Mode: a.mode}
			out = append(out, s)
		}
		r := a.result
		switch target {
		case "minicloud":
			s.Minicloud = &r
		case "moto":
			s.Moto = &r
		case "ceiling":
			s.Ceiling = &r
		}
	}
	return out
}

// ratios computes minicloud's rate over the others'.
func (s *ScenarioReport) ratios() {
	if s.Minicloud == nil {
		return
	}
	if s.Moto != nil && s.Moto.PerSecond > 0 {
		s.OverMoto = s.Minicloud.PerSecond / s.Moto.PerSecond
	}
	if s.Ceiling != nil && s.Ceiling.PerSecond > 0 {
		s.OverCeiling = s.Minicloud.PerSecond / s.Ceiling.PerSecond
	}
}

// LaunchReport is one launch scenario: how long until the instances ran,
// and what the simulated hosts were asked to do.
type LaunchReport struct {
	Instances int     `json:"instances"`
	Hosts     int     `json:"hosts"`
	LatencyMS float64 `json:"vim_cmd_latency_ms"`

	// AckMS is how long RunInstances took to answer.
	AckMS float64 `json:"ack_ms"`
	// FirstRunning and AllRunning are the seconds from the RunInstances
	// call until the first and the last instance was running.
	FirstRunning float64 `json:"first_running_s"`
	AllRunning   float64 `json:"all_running_s"`

	// HostdCallsPerLaunch counts the vim-cmd and vmkfstools runs that
	// launched each instance; they run one after the other.
	HostdCallsPerLaunch float64 `json:"hostd_calls_per_launch"`
	// SSHExecsPerLaunch counts the SSH exec requests the launch made per
	// instance, the observer's left out.
	SSHExecsPerLaunch float64 `json:"ssh_execs_per_launch"`

	// Observer is what one observer tick asked of a host afterwards,
	// with the instances running.
	Observer ObserverReport `json:"observer"`
}

// ObserverReport is what the observer asks of one host per tick.
type ObserverReport struct {
	VMsPerHost      float64 `json:"vms_per_host"`
	Ticks           int     `json:"ticks"`
	SSHExecsPerTick float64 `json:"ssh_execs_per_tick_per_host"`
	VimCmdsPerTick  float64 `json:"vim_cmds_per_tick_per_host"`
}

// StartupReport is minicloud's start-up over a data folder holding
// Instances instances, and its resident memory afterwards.
type StartupReport struct {
	Instances int `json:"instances"`

	// OpenSeconds is how long Server.Open took, in this process.
	OpenSeconds float64 `json:"open_s"`
	// ServeSeconds is how long `minicloud serve`, as its own process,
	// took from exec until it printed its endpoint.
	ServeSeconds float64 `json:"serve_s,omitempty"`

	// RSS of that process once serving, after one full listing, and its
	// peak, in MiB, from /proc/PID/status.
	RSSIdleMiB    float64 `json:"rss_idle_mib,omitempty"`
	RSSListedMiB  float64 `json:"rss_after_listing_mib,omitempty"`
	RSSPeakMiB    float64 `json:"rss_peak_mib,omitempty"`
	MemoryNote    string  `json:"memory_note,omitempty"`
	ListedSeconds float64 `json:"listing_s,omitempty"`
}

// SchedReport times placements one instance at a time, as RunInstances
// places them, with each host's use updated between calls: TotalMS as the
// compute service places them, ScanMS with a pass over every host each
// time.
type SchedReport struct {
	Placements int     `json:"placements"`
	Hosts      int     `json:"hosts"`
	TotalMS    float64 `json:"total_ms"`
	ScanMS     float64 `json:"scan_ms"`
}

// WriteJSON writes rep as indented JSON.
func (rep *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// WriteTable writes rep as tables for people.
func (rep *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	m := rep.Machine
	fmt.Fprintf(w, "minicloud bench: %d CPUs, %s, %s; load %s before, %s after; %.0fs\n",
		m.CPUs, m.OS, m.GoVersion, m.LoadBefore, m.LoadAfter, rep.Seconds)
	o := rep.Options
	fmt.Fprintf(w, "%d instances on %d simulated hosts; %d clients (%d for describe-all); "+
		"%.0fs per timed scenario\n\n", o.Instances, o.APIHosts, o.Clients, o.ListClients, o.Seconds)

	// The API scenarios.
	fmt.Fprintln(tw, "scenario\tclient\tminicloud/s\tp50 ms\tp99 ms\tmoto/s\tp50 ms\tp99 ms\t"+
		"ceiling/s\tp50 ms\tp99 ms\tx moto\tx ceiling\t")
	for _, s := range rep.Scenarios {
		fmt.Fprintf(tw, "%s\t%s\t%s%s%s%s\t%s\t\n", s.Name, s.Mode,
			cells(s.Minicloud), cells(s.Moto), cells(s.Ceiling),
			ratio(s.OverMoto), ratio(s.OverCeiling))
	}
	tw.Flush()
	if rep.MotoNote != "" {
		fmt.Fprintf(w, "moto: %s\n", rep.MotoNote)
	}
	for _, s := range rep.Scenarios {
		for _, r := range []*Result{s.Minicloud, s.Moto, s.Ceiling} {
			if r != nil && r.Errors > 0 {
				fmt.Fprintf(w, "%s %s: %d errors, first: %s\n", s.Name, s.Mode, r.Errors, r.FirstError)
			}
		}
	}

	rep.writeLaunches(w)
	rep.writeStartup(w)
	rep.writeTargets(w)
	return nil
}

// cells formats a result's rate and percentiles, or dashes.
func cells(r *Result) string {
	if r == nil || r.Ops == 0 {
		return "-\t-\t-\t"
	}
	return fmt.Sprintf("%s\t%.2f\t%.2f\t", rate(r.PerSecond), r.P50, r.P99)
}

// rate formats a rate with the precision it deserves.
func rate(v float64) string {
	if v < 10 {
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.0f", v)
}

func ratio(v float64) string {
	if v == 0 {
		return "-"
	}
	if v < 10 {
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.0f", v)
}

func (rep *Report) writeLaunches(w io.Writer) {
	if len(rep.Launches) == 0 {
		return
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "launch\thosts\tvim-cmd\tack ms\tfirst running s\tall running s\t"+
		"hostd calls/launch\tssh execs/launch\tobserver: vms/host\tticks\tssh execs/tick\t"+
		"vim-cmds/tick\t")
	for _, l := range rep.Launches {
		o := l.Observer
		fmt.Fprintf(tw, "%d\t%d\t%v\t%.1f\t%.2f\t%.2f\t%.1f\t%.1f\t%.0f\t%d\t%.2f\t%.2f\t\n",
			l.Instances, l.Hosts, time.Duration(l.LatencyMS*float64(time.Millisecond)),
			l.AckMS, l.FirstRunning, l.AllRunning, l.HostdCallsPerLaunch, l.SSHExecsPerLaunch,
			o.VMsPerHost, o.Ticks, o.SSHExecsPerTick, o.VimCmdsPerTick)
	}
	tw.Flush()
}

func (rep *Report) writeStartup(w io.Writer) {
	if s := rep.Startup; s != nil {
		fmt.Fprintf(w, "\nstart-up with %d instances stored: Server.Open %.3fs", s.Instances, s.OpenSeconds)
		if s.ServeSeconds > 0 {
			fmt.Fprintf(w, "; `minicloud serve` serving %.3fs after exec", s.ServeSeconds)
		}
		fmt.Fprintln(w)
		if s.RSSIdleMiB > 0 {
			fmt.Fprintf(w, "resident memory: %.1f MiB serving, %.1f MiB after a full listing "+
				"(%.2fs), peak %.1f MiB\n", s.RSSIdleMiB, s.RSSListedMiB, s.ListedSeconds, s.RSSPeakMiB)
		}
		if s.MemoryNote != "" {
			fmt.Fprintf(w, "memory: %s\n", s.MemoryNote)
		}
	}
	if s := rep.Scheduler; s != nil {
		fmt.Fprintf(w, "scheduler: %d placements one at a time over %d hosts in %.1f ms "+
			"(%.1f ms scanning every host each time)\n", s.Placements, s.Hosts, s.TotalMS, s.ScanMS)
	}
}

func (rep *Report) writeTargets(w io.Writer) {
	if len(rep.Targets) == 0 {
		return
	}
	fmt.Fprintln(w, "\ntargets:")
	for _, t := range rep.Targets {
		mark := "met "
		switch {
		case t.Skipped:
			mark = "n/a "
		case !t.Met:
			mark = "MISS"
		}
		fmt.Fprintf(w, "  %s %-58s %s\n", mark, t.Goal, strings.TrimSpace(t.Got))
	}
}
