// Command minicloud is a small EC2 for VMware ESXi hosts: an API server
// that speaks the EC2 Query protocol and runs each instance as a VM on an
// ESXi host, driven with vim-cmd over SSH.
//
// Usage:
//
//	minicloud serve [--config FILE] [--listen ADDR] [--data DIR]
//	minicloud hosts [--endpoint URL] [retry NAME]
//	minicloud esxi-sim [--listen ADDR] [--dir DIR]
//	minicloud bench [--instances N] [--clients C] [--duration D] [--json FILE]
//	minicloud version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Version is minicloud's version, set at build time with
// -ldflags "-X main.Version=...".
var Version = "0.1.0-dev"

func main() {
	ctx, stop := signalContext()
	defer stop()

	err := Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "minicloud:", err)
		os.Exit(1)
	}
}

// signalContext returns a context cancelled by the first SIGINT or
// SIGTERM, so the server shuts down gracefully; a second signal exits at
// once.
func signalContext() (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ch
		fmt.Fprintln(os.Stderr, "minicloud: shutting down (signal again to exit at once)")
		cancel()
		<-ch
		os.Exit(1)
	}()
	return ctx, func() { signal.Stop(ch); cancel() }
}

// Main runs the subcommand named by args[0].
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		usage(stderr)
		return flag.ErrHelp
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], stdout, stderr)
	case "hosts":
		return runHosts(ctx, args[1:], stdout, stderr)
	case "esxi-sim":
		return runSim(ctx, args[1:], stdout, stderr)
	case "bench":
		return runBench(ctx, args[1:], stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "minicloud", Version)
		return nil
	case "help", "-h", "--help":
		usage(stdout)
		return nil
	}
	usage(stderr)
	return fmt.Errorf("unknown command %q", args[0])
}

func usage(w io.Writer) {
	fmt.Fprint(w, `minicloud: a small EC2 for VMware ESXi hosts

Usage:
  minicloud serve [--config FILE] [--listen ADDR] [--data DIR]
      Serve the EC2 API. With no hosts configured, start two simulated
      ESXi hosts under the data folder. Environment: MINICLOUD_CONFIG,
      MINICLOUD_LISTEN, MINICLOUD_DATA. SIGHUP reads the file again and
      reconnects to each host whose address or credentials changed.
  minicloud hosts [--endpoint URL] [retry NAME]
      Show the state of a running server's ESXi hosts and why any cannot
      be driven; retry asks it to contact a host held after a refused
      login once more. Signs with AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY.
  minicloud esxi-sim [--listen ADDR] [--dir DIR]
      Run one simulated ESXi host that you can ssh into.
  minicloud bench [--instances N] [--clients C] [--duration D] [--json FILE]
      Measure the EC2 API against moto and a bare HTTP server, and launch
      instances on simulated hosts (docs/performance.md).
  minicloud version
      Print the version.
`)
}
