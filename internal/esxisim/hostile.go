package esxisim

import (
	"errors"
	"fmt"
	"net"
)

// Inject replaces the host's faults with f; Inject(Faults{}) makes the
// host well behaved again. It takes effect for the next command and the
// next connection; what is running goes on as it started. Faults are
// kept in the host's folder, so they outlast the Host: one made again on
// the same folder has them until they are cleared. It returns an error
// for faults that make no sense (a negative count, an unknown fault) or
// that cannot be recorded in the host's folder.
func (h *Host) Inject(f Faults) error {
	if err := f.validate(); err != nil {
		return err
	}
	if err := h.e.store.saveFaults(f); err != nil {
		return fmt.Errorf("esxisim: %w", err)
	}
	return nil
}

// Faults returns the host's faults as they stand: counts already used up
// are gone from them.
func (h *Host) Faults() Faults { return h.e.faults() }

// Down takes the host off the network, as when it reboots or its
// management network fails: it stops listening and drops every
// connection, ending the commands they run. Its VMs, folder and host key
// are kept, and Exec (the host's console) still works. Serve returns nil
// for each listener Down closes. Up brings the host back.
func (h *Host) Down() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || h.down {
		return
	}
	h.down = true
	h.downAddrs = h.downAddrs[:0]
	for l := range h.listeners {
		h.downAddrs = append(h.downAddrs, l.Addr().String())
		l.Close()
	}
	for c := range h.conns {
		c.Close()
	}
	h.log.Info("down")
}

// Up brings a host that went Down back on the addresses it listened on,
// with the same host key and inventory. It returns an error if an address
// cannot be listened on again, or if the host is closed.
func (h *Host) Up() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return errors.New("esxisim: host is closed")
	}
	if !h.down {
		h.mu.Unlock()
		return nil
	}
	addrs := append([]string(nil), h.downAddrs...)
	h.down = false
	h.mu.Unlock()

	// Listen again where the host listened before.
	var errs []error
	for _, a := range addrs {
		l, err := net.Listen("tcp", a)
		if err != nil {
			errs = append(errs, fmt.Errorf("esxisim: listen again on %s: %w", a, err))
			continue
		}
		go h.Serve(l)
	}
	h.log.Info("up")
	return errors.Join(errs...)
}
