package hypervisor

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Snapshot is one node of a VM's snapshot tree.
type Snapshot struct {
	Name        string
	ID          int
	Description string
	Created     time.Time // zero when the host's date could not be read
	CreatedRaw  string    // as printed, e.g. "2/26/2021 17:41:7"
	State       string    // "powered off", "powered on", "suspended"
	Children    []Snapshot
}

var (
	// snapNodeRE matches "|-ROOT" and "--|-CHILD"; two dashes per level.
	snapNodeRE = regexp.MustCompile(`^((?:--)*)\|-(ROOT|CHILD)\s*$`)
	// snapAttrRE matches "--Snapshot Name        : BeforeUpgrade".
	snapAttrRE = regexp.MustCompile(`^((?:--)+)Snapshot (\w+(?: On)?)\s*:\s?(.*)$`)
)

// parseSnapshots reads `vim-cmd vmsvc/snapshot.get` into its root
// snapshots. A VM without snapshots prints only "Get Snapshot:".
func parseSnapshots(out string) []Snapshot {
	var roots []Snapshot
	var path []*Snapshot // path[d] is the open snapshot at depth d
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimRight(line, " \t\r")

		// A node line opens a snapshot under the open one a level up.
		if m := snapNodeRE.FindStringSubmatch(line); m != nil {
			depth := len(m[1]) / 2
			if depth > len(path) {
				continue
			}
			path = path[:depth]
			var s *Snapshot
			if depth == 0 {
				roots = append(roots, Snapshot{})
				s = &roots[len(roots)-1]
			} else {
				parent := path[depth-1]
				parent.Children = append(parent.Children, Snapshot{})
				s = &parent.Children[len(parent.Children)-1]
			}
			path = append(path, s)
			continue
		}

		// An attribute line fills the snapshot its dashes point at.
		m := snapAttrRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		depth := len(m[1])/2 - 1
		if depth < 0 || depth >= len(path) {
			continue
		}
		setSnapshotAttr(path[depth], m[2], strings.TrimSpace(m[3]))
	}
	return roots
}

// setSnapshotAttr sets one attribute; "Desciption" is VMware's spelling.
func setSnapshotAttr(s *Snapshot, key, val string) {
	switch key {
	case "Name":
		s.Name = val
	case "Id":
		s.ID, _ = strconv.Atoi(val)
	case "Desciption", "Description":
		s.Description = val
	case "Created On", "Created":
		s.CreatedRaw = val
		s.Created, _ = time.Parse("1/2/2006 15:4:5", s.CreatedRaw)
	case "State":
		s.State = val
	}
}
