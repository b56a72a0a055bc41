package esxisim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Power states, as the vSphere API spells them.
const (
	poweredOff = "poweredOff"
	poweredOn  = "poweredOn"
	suspended  = "suspended"
)

// hostState is the host's inventory, as hostd keeps it: which VMs are
// registered under which vmid and what each is doing.
type hostState struct {
	// NextVMID is the vmid the next registration gets. vmids are never
	// reused, so it only grows.
	NextVMID int `json:"nextVmid"`

	// NextWorldID numbers the VMX worlds of powered-on VMs.
	NextWorldID int `json:"nextWorldId"`

	// NextQuestionID numbers the questions VMs ask.
	NextQuestionID int `json:"nextQuestionId"`

	// BootTime is when the host came up: when its inventory was first
	// used. A restart of the process running it is no reboot of the host.
	BootTime time.Time `json:"bootTime,omitzero"`

	VMs []*vmState `json:"vms"`
}

// vmState is one registered VM.
type vmState struct {
	ID        int    `json:"id"`
	Name      string `json:"name"`
	Datastore string `json:"datastore"`
	Path      string `json:"path"` // of the .vmx, relative to the datastore

	Power       string    `json:"power"`
	PoweredOnAt time.Time `json:"poweredOnAt,omitzero"`

	// ShutdownAt is when the guest was asked to shut down, if it is
	// shutting down.
	ShutdownAt time.Time `json:"shutdownAt,omitzero"`

	// WorldID is the VMX world of a powered-on VM, as esxcli shows it.
	WorldID int `json:"worldId,omitempty"`

	// Booted records that the guest's boot since the last power-on has
	// been seen (and its console log written).
	Booted bool `json:"booted,omitempty"`

	// Question is what the VM waits for an answer to, if anything.
	Question *question `json:"question,omitempty"`

	Snapshots       []*snapshot `json:"snapshots,omitempty"`
	CurrentSnapshot int         `json:"currentSnapshot,omitempty"`
	NextSnapshotID  int         `json:"nextSnapshotId,omitempty"`
}

// question is a question a VM asks before it goes on, such as whether it
// was moved or copied.
type question struct {
	ID  int    `json:"id"`
	Key string `json:"key"` // the message id, as "msg.uuid.altered"
}

// snapshot is one point a VM can be reverted to.
type snapshot struct {
	ID          int       `json:"id"`
	Parent      int       `json:"parent,omitempty"` // 0 for a root
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Created     time.Time `json:"created"`
	Power       string    `json:"power"` // the VM's power state when it was taken
	Memory      bool      `json:"memory,omitempty"`
	Quiesced    bool      `json:"quiesced,omitempty"`
}

// vm returns the VM registered under id, or nil.
func (s *hostState) vm(id int) *vmState {
	for _, v := range s.VMs {
		if v.ID == id {
			return v
		}
	}
	return nil
}

// remove takes the VM registered under id out of the inventory.
func (s *hostState) remove(id int) {
	kept := s.VMs[:0]
	for _, v := range s.VMs {
		if v.ID != id {
			kept = append(kept, v)
		}
	}
	s.VMs = kept
}

// store keeps the inventory in a file that every process running this
// host's commands shares. Each change is read-modify-write under an
// exclusive lock: in this process a mutex, across processes a flock.
type store struct {
	dir string // the folder holding state.json and state.lock

	mu sync.Mutex // serialises this process's access to the files in dir
}

// newStore returns the store kept in dir, making the folder if needed.
func newStore(dir string) (*store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("make state folder: %w", err)
	}
	return &store{dir: dir}, nil
}

// update runs fn on the inventory while no other process or goroutine can
// change it, and saves what fn changed. fn's error is returned as it is,
// after any change fn made before it failed has been saved, as hostd keeps
// the part of a task that was done.
func (s *store) update(fn func(st *hostState) error) error {
	return s.locked(func() error {
		// Read, change, and write back only if something changed.
		before, st, err := s.load()
		if err != nil {
			return err
		}
		fnErr := fn(st)
		after, err := json.MarshalIndent(st, "", "  ")
		if err != nil {
			return fmt.Errorf("encode state: %w", err)
		}
		if !bytes.Equal(before, after) {
			if err := writeFileAtomic(filepath.Join(s.dir, "state.json"), after, 0o644); err != nil {
				return err
			}
		}
		return fnErr
	})
}

// locked runs fn while no other process or goroutine holds the host's
// lock, which guards every file in the store's folder.
func (s *store) locked(fn func() error) error {
	s.mu.Lock()
	defer s.mu.Unlock()

	// Take the lock other processes respect.
	lock, err := os.OpenFile(filepath.Join(s.dir, "state.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("open state lock: %w", err)
	}
	defer lock.Close()
	if err := lockFile(lock); err != nil {
		return fmt.Errorf("lock state: %w", err)
	}
	defer unlockFile(lock)
	return fn()
}

// faultsFile is where the host's injected faults are kept.
func (s *store) faultsFile() string { return filepath.Join(s.dir, "faults.json") }

// load reads the inventory and the bytes it was read from. A host that has
// no inventory yet starts with vmid 1.
func (s *store) load() ([]byte, *hostState, error) {
	data, err := os.ReadFile(filepath.Join(s.dir, "state.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &hostState{NextVMID: 1, NextWorldID: 2100001, NextQuestionID: 1}, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read state: %w", err)
	}
	st := &hostState{}
	if err := json.Unmarshal(data, st); err != nil {
		return nil, nil, fmt.Errorf("decode state %s: %w", filepath.Join(s.dir, "state.json"), err)
	}
	return data, st, nil
}
