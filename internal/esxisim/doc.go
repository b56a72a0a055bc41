// Package esxisim is a simulated VMware ESXi host: an SSH server whose shell
// runs vim-cmd, vmkfstools, esxcli and vmware over a folder of its own, and
// prints what real hosts print.
//
// It is minicloud's embedded default host, the test bed for the ESXi driver
// and a way for a learner to see what a host does: ssh into it and type
// `vim-cmd vmsvc/getallvms`.
//
// # The host's filesystem
//
// The host has a root of its own, Config.Dir: a path P typed in the host's
// shell is the file Config.Dir+P on this machine, so datastores live under
// Config.Dir/vmfs/volumes, each a folder named by its UUID with a symbolic
// link from its name, as on a real host. The shell is a POSIX shell
// interpreter (busybox ash on a real host); every command it runs is one of
// this package's, implemented in Go. No program of this machine is ever run,
// and the shell sees no file outside the host's folder.
//
// # State
//
// The inventory (vmids, power states, questions, snapshots) lives in
// Config.Dir/etc/esxisim/state.json, written atomically under a file lock,
// so VMs outlive a restart of the process and several processes can share one
// host (see Main). Guests need no background work: a powered-on VM's guest
// has booted once Config.BootDelay has passed since it was powered on, and
// every command looks at the clock.
//
// # Hostile behaviour
//
// Real hosts misbehave now and then, and the driver and minicloud must
// cope. Host.Inject switches faults on and off while the host runs: added
// latency, the transient hostd faults vim-cmd prints (an object being
// deleted, a reset login, hostd down, another task in progress) on the
// next calls or at random from a seeded source, a power-on that reports
// failure although the VM came up, the moved-or-copied question, and
// sshd's MaxStartups and MaxSessions. Host.Down and Host.Up take the host
// off the network and bring it back with the same key and VMs. The faults
// are kept in Config.Dir/etc/esxisim/faults.json, so the standalone
// commands obey them too.
//
// # Standalone commands
//
// Main runs the same commands as a multi-call executable against real paths
// (cmd/esxisim-cmd builds it), so the driver can also be tested through
// OpenSSH's sshd and busybox ash, the components a real host uses. What
// they run is logged for StandaloneStats.
package esxisim
