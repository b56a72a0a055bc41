package scheduler_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/minicloud/minicloud/internal/scheduler"
)

func host(name, zone string, threads, memMiB int) scheduler.Host {
	return scheduler.Host{
		Name: name, Zone: zone, Ready: true,
		Threads: threads, MemoryMiB: memMiB,
		Images: map[string]bool{"ami-1": true},
	}
}

func count(hosts []string) map[string]int {
	m := map[string]int{}
	for _, h := range hosts {
		m[h]++
	}
	return m
}

func TestPlace(t *testing.T) {
	micro := scheduler.Request{Min: 1, Max: 1, VCPUs: 2, MemoryMiB: 1024, ImageID: "ami-1"}

	t.Run("Spreads", func(t *testing.T) {
		hosts := []scheduler.Host{host("a", "z1", 8, 16384), host("b", "z1", 8, 16384)}
		req := micro
		req.Min, req.Max = 4, 4
		plan, err := scheduler.Place(hosts, req, scheduler.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := count(plan.Hosts); got["a"] != 2 || got["b"] != 2 {
			t.Errorf("placement = %v, want 2 on each host", got)
		}
	})

	t.Run("CountsExistingUse", func(t *testing.T) {
		busy := host("a", "z1", 8, 16384)
		busy.UsedMemoryMiB = 12288
		hosts := []scheduler.Host{busy, host("b", "z1", 8, 16384)}
		req := micro
		req.Min, req.Max = 3, 3
		plan, err := scheduler.Place(hosts, req, scheduler.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := count(plan.Hosts); got["b"] != 3 {
			t.Errorf("placement = %v, want all on the emptier host b", got)
		}
	})

	t.Run("Zone", func(t *testing.T) {
		hosts := []scheduler.Host{host("a", "z1", 8, 16384), host("b", "z2", 8, 16384)}
		req := micro
		req.Zone = "z2"
		plan, err := scheduler.Place(hosts, req, scheduler.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if plan.Hosts[0] != "b" {
			t.Errorf("placed on %s, want b in z2", plan.Hosts[0])
		}
		if len(plan.Rejected) != 1 || plan.Rejected[0] != (scheduler.Rejection{"a", scheduler.ReasonZone}) {
			t.Errorf("rejected = %v, want a for its zone", plan.Rejected)
		}
	})

	t.Run("Reasons", func(t *testing.T) {
		down := host("down", "z1", 8, 16384)
		down.Ready = false
		noImage := host("noimage", "z1", 8, 16384)
		noImage.Images = nil
		full := host("full", "z1", 8, 16384)
		full.UsedMemoryMiB = 16000
		cpu := host("cpu", "z1", 1, 16384)
		cpu.UsedVCPUs = 3
		tiny := host("tiny", "z1", 8, 512)
		hosts := []scheduler.Host{down, noImage, full, cpu, tiny, host("other", "z2", 8, 16384)}
		req := micro
		req.Zone = "z1"

		_, err := scheduler.Place(hosts, req, scheduler.Options{})
		var capErr *scheduler.CapacityError
		if !errors.As(err, &capErr) {
			t.Fatalf("err = %v, want a CapacityError", err)
		}
		got := map[string]scheduler.Reason{}
		for _, r := range capErr.Rejected {
			got[r.Host] = r.Reason
		}
		want := map[string]scheduler.Reason{
			"down": scheduler.ReasonNotReady, "noimage": scheduler.ReasonNoImage,
			"full": scheduler.ReasonMemory, "cpu": scheduler.ReasonCPU,
			"tiny": scheduler.ReasonTooSmall, "other": scheduler.ReasonZone,
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("reasons = %v, want %v", got, want)
		}
	})

	t.Run("MinAndMax", func(t *testing.T) {
		// Room for 4 instances of 1 GiB each.
		hosts := []scheduler.Host{host("a", "z1", 64, 4096)}
		req := micro
		req.Min, req.Max = 2, 10
		plan, err := scheduler.Place(hosts, req, scheduler.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(plan.Hosts) != 4 {
			t.Errorf("placed %d, want the 4 that fit", len(plan.Hosts))
		}

		req.Min = 5
		plan, err = scheduler.Place(hosts, req, scheduler.Options{})
		var capErr *scheduler.CapacityError
		if !errors.As(err, &capErr) || capErr.Placed != 4 || capErr.Wanted != 5 {
			t.Fatalf("err = %v, want 4 of 5 placed", err)
		}
		if len(plan.Hosts) != 0 {
			t.Errorf("a failed plan placed %d instances", len(plan.Hosts))
		}
	})

	t.Run("CPUOvercommit", func(t *testing.T) {
		hosts := []scheduler.Host{host("a", "z1", 2, 1<<20)}
		req := micro
		req.Min, req.Max = 1, 100
		for _, tt := range []struct {
			ratio float64
			want  int
		}{{1, 1}, {4, 4}, {0, 4}, {8, 8}} {
			plan, err := scheduler.Place(hosts, req, scheduler.Options{CPUOvercommit: tt.ratio})
			if err != nil {
				t.Fatal(err)
			}
			if len(plan.Hosts) != tt.want {
				t.Errorf("ratio %v: placed %d, want %d", tt.ratio, len(plan.Hosts), tt.want)
			}
		}
	})

	t.Run("Deterministic", func(t *testing.T) {
		hosts := []scheduler.Host{host("b", "z1", 8, 16384), host("a", "z1", 8, 16384)}
		req := micro
		req.Min, req.Max = 3, 3
		first, _ := scheduler.Place(hosts, req, scheduler.Options{})
		for i := 0; i < 10; i++ {
			again, _ := scheduler.Place(hosts, req, scheduler.Options{})
			if fmt.Sprint(again.Hosts) != fmt.Sprint(first.Hosts) {
				t.Fatalf("placement changed: %v then %v", first.Hosts, again.Hosts)
			}
		}
		if first.Hosts[0] != "a" {
			t.Errorf("a tie went to %s, want a (name order)", first.Hosts[0])
		}
	})
}

// BenchmarkPlace places 10,000 instances across 1,000 hosts in one call.
func BenchmarkPlace(b *testing.B) {
	hosts := make([]scheduler.Host, 1000)
	for i := range hosts {
		hosts[i] = host(fmt.Sprintf("esxi-%04d", i), fmt.Sprintf("z%d", i%3), 32, 262144)
	}
	req := scheduler.Request{Min: 10000, Max: 10000, VCPUs: 2, MemoryMiB: 1024, ImageID: "ami-1"}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		plan, err := scheduler.Place(hosts, req, scheduler.Options{})
		if err != nil || len(plan.Hosts) != 10000 {
			b.Fatal(err)
		}
	}
}
