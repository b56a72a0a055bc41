package compute

import "github.com/minicloud/minicloud/internal/cloud"

// failpoint, when set, is called at named points of the controller's
// steps: just before a driver call that changes the host, just after it
// returned and before the controller records what it did, and just after
// that record. Tests set it (see export_test.go) to kill the process at
// each point, then start again on the same state file and check that the
// instance ends where it was meant to be with nothing left over on the
// host. In minicloud it is nil: a point costs one comparison, and nothing
// a request carries can set it.
var failpoint func(name string)

// failAt calls the failpoint, if one is set, with name.
func failAt(name string) {
	if failpoint != nil {
		failpoint(name)
	}
}

// recordStep records what a driver call did with change, with the
// failpoints point (before the record) and point+"/recorded" (after it).
func (w *worker) recordStep(point, id string, change func(*cloud.Instance)) error {
	failAt(point)
	err := w.record(id, change)
	failAt(point + "/recorded")
	return err
}
