package esxisim

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// fsMap turns the paths that the host's commands are given (host paths)
// into paths on this machine. In the simulated host the host has a root of
// its own; a standalone command works on real paths.
type fsMap struct {
	// root is the folder on this machine that the host calls "/"; empty
	// when host paths are paths on this machine.
	root string

	// volumes is the host path of the folder holding the datastores.
	volumes string
}

// chrootMap is the map of a simulated host whose "/" is the folder dir.
func chrootMap(dir string) fsMap {
	return fsMap{root: dir, volumes: "/vmfs/volumes"}
}

// identityMap is the map of standalone commands, whose datastores are in
// dir/vmfs/volumes.
func identityMap(dir string) fsMap {
	return fsMap{volumes: filepath.Join(dir, "vmfs", "volumes")}
}

// real returns the path on this machine of the absolute host path p. A
// path cannot climb out of the host's root: "/.." is "/". The host's
// /dev/null is this machine's.
func (m fsMap) real(p string) string {
	p = path.Clean("/" + p)
	if m.root == "" {
		return filepath.FromSlash(p)
	}
	if p == "/dev/null" {
		return os.DevNull
	}
	return filepath.Join(m.root, filepath.FromSlash(p))
}

// hostAbs resolves the host path p against the working folder cwd.
func hostAbs(cwd, p string) string {
	if strings.HasPrefix(p, "/") {
		return path.Clean(p)
	}
	return path.Join("/", cwd, p)
}

// volume is one datastore as the host has it mounted.
type volume struct {
	name     string
	uuid     string
	capacity int64

	// mount is the host path of the volume's folder, as esxcli prints it.
	mount string
}

// realDir is the volume's folder on this machine.
func (v *volume) realDir(m fsMap) string {
	return m.real(v.mount)
}

// mountVolumes makes sure each datastore has its folder under the volumes
// folder, named by the volume's UUID with a symbolic link from its name, as
// on a real host, and returns them. A folder that already carries the
// datastore's name (made by hand) is used as it is.
func mountVolumes(m fsMap, hostName string, list []Datastore) ([]*volume, error) {
	top := m.real(m.volumes)
	if err := os.MkdirAll(top, 0o755); err != nil {
		return nil, fmt.Errorf("make volumes folder: %w", err)
	}

	vols := make([]*volume, 0, len(list))
	for _, ds := range list {
		v := &volume{name: ds.Name, capacity: ds.CapacityBytes}
		link := filepath.Join(top, ds.Name)
		info, err := os.Lstat(link)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			v.uuid = volumeUUID(hostName, ds.Name)
			if err := os.MkdirAll(filepath.Join(top, v.uuid), 0o755); err != nil {
				return nil, fmt.Errorf("make datastore %s: %w", ds.Name, err)
			}
			if err := os.Symlink(v.uuid, link); err != nil {
				return nil, fmt.Errorf("link datastore %s: %w", ds.Name, err)
			}
			v.mount = path.Join(m.volumes, v.uuid)
		case err != nil:
			return nil, fmt.Errorf("look at datastore %s: %w", ds.Name, err)
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(link)
			if err != nil {
				return nil, fmt.Errorf("read datastore link %s: %w", ds.Name, err)
			}
			v.uuid = filepath.Base(target)
			v.mount = path.Join(m.volumes, v.uuid)
		case info.IsDir():
			v.uuid = volumeUUID(hostName, ds.Name)
			v.mount = path.Join(m.volumes, ds.Name)
		default:
			return nil, fmt.Errorf("datastore %s: %s is not a folder", ds.Name, link)
		}
		vols = append(vols, v)
	}
	return vols, nil
}

// volumeUUID makes a VMFS-style volume UUID (8-8-4-12 hex digits) that is
// the same every time for one host and datastore name.
func volumeUUID(hostName, dsName string) string {
	sum := sha256.Sum256([]byte("vmfs:" + hostName + "/" + dsName))
	h := hex.EncodeToString(sum[:16])
	return h[0:8] + "-" + h[8:16] + "-" + h[16:20] + "-" + h[20:32]
}

// dsPath is a file on a datastore.
type dsPath struct {
	vol *volume
	rel string // slash-separated, relative to the volume's folder
}

// String formats the path the way vim-cmd does: "[datastore1] vm/vm.vmx".
func (p dsPath) String() string {
	return "[" + p.vol.name + "] " + p.rel
}

// locate finds the datastore that holds the host path p, reached through
// its name or its UUID. ok is false for a path on no datastore.
func locate(m fsMap, vols []*volume, p string) (dsPath, bool) {
	p = path.Clean(p)
	rest, found := strings.CutPrefix(p, m.volumes+"/")
	if !found {
		return dsPath{}, false
	}
	first, rel, _ := strings.Cut(rest, "/")
	for _, v := range vols {
		if first == v.name || first == v.uuid || first == path.Base(v.mount) {
			return dsPath{vol: v, rel: rel}, true
		}
	}
	return dsPath{}, false
}

// hostPath returns the host path of p, through the volume's name as people
// type it: "/vmfs/volumes/datastore1/vm/vm.vmx".
func (p dsPath) hostPath(m fsMap) string {
	return path.Join(m.volumes, p.vol.name, p.rel)
}

// mountPath returns the host path of p through the volume's mount point, as
// esxcli prints a VM's config file.
func (p dsPath) mountPath() string {
	return path.Join(p.vol.mount, p.rel)
}

// realPath returns where p is on this machine.
func (p dsPath) realPath(m fsMap) string {
	return filepath.Join(p.vol.realDir(m), filepath.FromSlash(p.rel))
}
