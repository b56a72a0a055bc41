package compute_test

import (
	"testing"
	"time"

	"github.com/minicloud/minicloud/internal/cloud"
	"github.com/minicloud/minicloud/internal/esxisim"
)

// TestWorker_LaunchFollowsThrough launches on a host that takes a second
// per vim-cmd and vmkfstools call, as a real one does, while the observer
// reads it without pause. The launch's three host calls follow each other
// at once: the instance runs three seconds after RunInstances, not after
// waiting on the observer between calls.
func TestWorker_LaunchFollowsThrough(t *testing.T) {
	if testing.Short() {
		t.Skip("waits on host latency")
	}
	e := newEnv(t, envOptions{
		hosts: 1,
		sim:   func(_ int, c *esxisim.Config) { c.Latency = time.Second },
	})

	start := time.Now()
	ids := e.runInstances(1, nil)
	e.waitState(cloud.StateRunning, ids...)
	took := time.Since(start)
	t.Logf("running after %v", took)
	// Three seconds of host calls; waiting on the observer between them
	// took seven. The margin is for a machine busy with other tests.
	if took > 6*time.Second {
		t.Errorf("running after %v, want about 3s: three host calls of a second", took)
	}
}
