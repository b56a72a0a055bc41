package esxisim

import (
	"strings"
	"testing"
)

// TestVmkfstools_CloneLocked checks that a running VM's disk cannot be
// cloned, as on ESXi, until a snapshot leaves the base disk readable; and
// that a powered-off VM's disk clones at once.
func TestVmkfstools_CloneLocked(t *testing.T) {
	th := mustStartHost(t, templateConfig())
	id := th.register(t, "web", 1)
	disk := quote("/vmfs/volumes/datastore1/web/web.vmdk")
	clone := func(name string) result {
		return th.run(t, "mkdir -p /vmfs/volumes/datastore1/copies && vmkfstools -i "+disk+" "+
			quote("/vmfs/volumes/datastore1/copies/"+name+".vmdk")+" -d thin")
	}

	t.Run("PoweredOff", func(t *testing.T) {
		if r := clone("off"); r.status != 0 {
			t.Fatalf("clone of a stopped VM's disk: exit %d: %s", r.status, r.stderr)
		}
	})

	th.mustRun(t, "vim-cmd vmsvc/power.on "+id)
	t.Run("Running", func(t *testing.T) {
		r := clone("on")
		if r.status != 255 || !strings.Contains(r.stderr, "Failed to lock the file (16392)") {
			t.Errorf("clone of a running VM's disk: exit %d, stderr %q", r.status, r.stderr)
		}
		if fileExists(th.dsDir() + "/copies/on.vmdk") {
			t.Error("a refused clone left a disk behind")
		}
	})

	t.Run("RunningUnderSnapshot", func(t *testing.T) {
		th.mustRun(t, "vim-cmd vmsvc/snapshot.create "+id+" backup")
		if r := clone("snap"); r.status != 0 {
			t.Fatalf("clone under a snapshot: exit %d: %s", r.status, r.stderr)
		}
		th.mustRun(t, "vim-cmd vmsvc/snapshot.removeall "+id)
		if r := clone("after"); r.status != 255 {
			t.Errorf("clone after the snapshot went: exit %d, want 255", r.status)
		}
	})
}
