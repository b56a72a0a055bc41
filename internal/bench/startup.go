package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/minicloud/minicloud/internal/cloud"
	"github.com/minicloud/minicloud/internal/store"
)

// startupHosts is the number of simulated hosts of the start-up measure:
// what `minicloud serve` starts by default.
const startupHosts = 2

// startup fills a data folder with Instances instances, then times
// Server.Open over it and reads the resident memory of `minicloud serve`
// over it.
func (r *runner) startup(ctx context.Context, dir string) (*StartupReport, error) {
	spec := ServerSpec{Dir: dir, Hosts: startupHosts}
	if err := r.prefill(ctx, spec); err != nil {
		return nil, err
	}
	st := &StartupReport{Instances: r.opts.Instances}

	// Open it in this process, as a restart would, and check it serves
	// every instance.
	start := time.Now()
	srv, err := r.opts.Open(ctx, spec)
	if err != nil {
		return nil, err
	}
	st.OpenSeconds = time.Since(start).Seconds()
	ep := newEndpoint("minicloud", srv.Endpoint(), 1, nil)
	_, err = listRaw(ctx, ep, r.opts.Instances)
	ep.close()
	srv.Close()
	if err != nil {
		return nil, err
	}
	r.progress("  start-up: Server.Open %.3fs with %d instances", st.OpenSeconds, st.Instances)

	// Its memory, as a process of its own.
	switch {
	case len(r.opts.ServeCommand) == 0:
		st.MemoryNote = "not measured: no serve command"
	case !procAvailable():
		st.MemoryNote = "not measured: no /proc on this system"
	default:
		if err := r.serveMemory(ctx, dir, st); err != nil {
			return nil, fmt.Errorf("minicloud serve: %w", err)
		}
		r.progress("  memory: %.1f MiB serving, %.1f MiB after a listing, peak %.1f MiB",
			st.RSSIdleMiB, st.RSSListedMiB, st.RSSPeakMiB)
	}
	return st, nil
}

// prefill opens a server on spec.Dir once, so that its hosts and images
// exist, then writes Instances stopped instances spread over its hosts
// straight into its state file, ten to a reservation as the run scenario
// makes them. Stopped instances hold no VM, so the controllers leave
// them be and the measure is of minicloud alone.
func (r *runner) prefill(ctx context.Context, spec ServerSpec) error {
	srv, err := r.opts.Open(ctx, spec)
	if err != nil {
		return err
	}
	ep := newEndpoint("minicloud", srv.Endpoint(), 1, nil)
	image, err := firstImage(ctx, ep)
	ep.close()
	hosts := srv.Hosts()
	if cerr := srv.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}

	db, err := store.Open(filepath.Join(spec.Dir, "minicloud.db"), store.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	now := time.Now().UTC().Truncate(time.Second)
	var batch []*cloud.Instance
	var resID string
	for i := range r.opts.Instances {
		if i%runBatch == 0 {
			resID = cloud.NewID(cloud.PrefixReservation)
		}
		h := hosts[i%len(hosts)]
		reason := cloud.ReasonUserShutdown
		batch = append(batch, &cloud.Instance{
			ID: cloud.NewID(cloud.PrefixInstance), ReservationID: resID,
			OwnerID: cloud.DefaultAccountID, ImageID: image, InstanceType: instanceType,
			LaunchIndex: i % runBatch, LaunchTime: now,
			Architecture: "x86_64", RootDeviceName: "/dev/xvda", RootDeviceType: "ebs",
			VCPUs: 2, MemoryMiB: 1024,
			State: cloud.StateStopped, Desired: cloud.StateStopped, StateChanged: now,
			StateReason:           &reason,
			StateTransitionReason: cloud.UserInitiated(now),
			Host:                  h.Name, AvailabilityZone: h.AvailabilityZone,
			Datastore: "datastore1", Network: "VM Network",
		})
		if len(batch) == 1000 || i == r.opts.Instances-1 {
			if _, err := db.CreateInstances(batch, nil); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	return nil
}

// serveMemory runs `minicloud serve` over dir and reads its resident
// memory once it serves, and again after one full listing.
func (r *runner) serveMemory(ctx context.Context, dir string, st *StartupReport) error {
	args := append(r.opts.ServeCommand[1:len(r.opts.ServeCommand):len(r.opts.ServeCommand)],
		"--data", dir, "--listen", "127.0.0.1:0")
	cmd := exec.Command(r.opts.ServeCommand[0], args...)
	stdout, pw := io.Pipe()
	stderr := &tailWriter{}
	cmd.Stdout, cmd.Stderr = pw, stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		pw.Close()
		done <- err
	}()
	defer stopProcess(cmd, done)

	// It prints its endpoint once it serves.
	found := make(chan string, 1)
	go scanEndpoint(stdout, found)
	var url string
	select {
	case url = <-found:
	case err := <-done:
		return fmt.Errorf("exited before serving (%v): %s", err, stderr.bytes())
	case <-time.After(time.Minute):
		return errors.New("not serving after a minute")
	case <-ctx.Done():
		return ctx.Err()
	}
	if url == "" {
		return fmt.Errorf("printed no endpoint: %s", stderr.bytes())
	}
	st.ServeSeconds = time.Since(start).Seconds()
	pid := cmd.Process.Pid
	var err error
	if st.RSSIdleMiB, _, err = readRSS(pid); err != nil {
		return err
	}

	// One listing of everything, then read again.
	ep := newEndpoint("minicloud", url, 1, nil)
	defer ep.close()
	t := time.Now()
	if _, err := listRaw(ctx, ep, st.Instances); err != nil {
		return err
	}
	st.ListedSeconds = time.Since(t).Seconds()
	st.RSSListedMiB, st.RSSPeakMiB, err = readRSS(pid)
	return err
}

// scanEndpoint reads the welcome text of `minicloud serve` and sends the
// endpoint it names, or "" if it names none, then drains the rest.
func scanEndpoint(r io.Reader, found chan<- string) {
	sc := bufio.NewScanner(r)
	sent := false
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if !sent && len(f) == 2 && f[0] == "endpoint:" {
			found <- f[1]
			sent = true
		}
	}
	if !sent {
		found <- ""
	}
	io.Copy(io.Discard, r)
}

// stopProcess ends a process started by the benchmark: SIGTERM first,
// as an operator would, then SIGKILL.
func stopProcess(cmd *exec.Cmd, done <-chan error) {
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

// procAvailable reports whether /proc describes this process.
func procAvailable() bool {
	_, err := os.Stat("/proc/self/status")
	return err == nil
}

// readRSS returns the resident set size of process pid and its peak, in
// MiB, from /proc/PID/status.
func readRSS(pid int) (rss, peak float64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || f[2] != "kB" {
			continue
		}
		kb, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			continue
		}
		switch f[0] {
		case "VmRSS:":
			rss = kb / 1024
		case "VmHWM:":
			peak = kb / 1024
		}
	}
	if rss == 0 {
		return 0, 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
	}
	return rss, peak, nil
}
