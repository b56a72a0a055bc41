package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/minicloud/minicloud/api/admin"
	"github.com/minicloud/minicloud/internal/cloud"
	"github.com/minicloud/minicloud/internal/config"
)

// runHosts lists the hosts of a running minicloud, or with "retry NAME"
// asks it to contact a held host once more.
func runHosts(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hosts", flag.ContinueOnError)
	fs.SetOutput(stderr)
	endpoint := fs.String("endpoint", defaultEndpoint(), "the server's `URL`")
	region := fs.String("region", firstEnv(config.DefaultRegion, "AWS_REGION", "AWS_DEFAULT_REGION"),
		"the `region` requests are signed for")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c := &admin.Client{
		Endpoint:        *endpoint,
		Region:          *region,
		AccessKeyID:     firstEnv(config.TestAccessKeyID, "AWS_ACCESS_KEY_ID"),
		SecretAccessKey: firstEnv(config.TestSecretAccessKey, "AWS_SECRET_ACCESS_KEY"),
	}

	switch rest := fs.Args(); {
	case len(rest) == 0:
		hosts, err := c.Hosts(ctx)
		if err != nil {
			return err
		}
		printHosts(stdout, hosts)
		return nil
	case len(rest) == 2 && rest[0] == "retry":
		h, err := c.RetryHost(ctx, rest[1])
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "asked minicloud to contact %s again (it was %s); "+
			"run minicloud hosts to see the outcome\n", h.Name, h.State)
		return nil
	}
	return errors.New("usage: minicloud hosts [--endpoint URL] [retry NAME]")
}

// printHosts prints one line per host, then why each host that is not
// ready cannot be driven and which VMs no instance claims.
func printHosts(w io.Writer, hosts []cloud.Host) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tZONE\tSTATE\tINSTANCES\tVCPUS/THREADS\tMEMORY MIB\tADDRESS")
	for _, h := range hosts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d/%d\t%d/%d\t%s\n", h.Name, h.AvailabilityZone,
			h.State, h.Instances, h.UsedVCPUs, h.CPUThreads, h.UsedMemoryMiB, h.MemoryMiB,
			h.Address)
	}
	tw.Flush()
	for _, h := range hosts {
		if h.Message != "" {
			fmt.Fprintf(w, "\n%s: %s\n", h.Name, h.Message)
		}
		if len(h.UnclaimedVMs) > 0 {
			fmt.Fprintf(w, "\n%s: VMs no instance claims, left alone: %s\n", h.Name,
				strings.Join(h.UnclaimedVMs, ", "))
		}
	}
}

// defaultEndpoint is where a local minicloud listens unless told
// otherwise: MINICLOUD_ENDPOINT, else MINICLOUD_LISTEN, else the default.
func defaultEndpoint() string {
	if v := os.Getenv("MINICLOUD_ENDPOINT"); v != "" {
		return v
	}
	return "http://" + firstEnv(config.DefaultListen, "MINICLOUD_LISTEN")
}

// firstEnv returns the first of the named variables that is set, or def.
func firstEnv(def string, names ...string) string {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v
		}
	}
	return def
}
