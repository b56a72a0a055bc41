// Package hypervisor drives VMware ESXi hosts without vCenter.
//
// An ESXi host is reached through a Transport: SSHTransport keeps one SSH
// connection per host and opens a session per command; LocalTransport runs
// commands with /bin/sh when minicloud itself runs on the host. The ESXi
// driver builds vim-cmd, vmkfstools and esxcli command lines on top of a
// Transport, quoting every argument for busybox ash and sending file contents
// through stdin, and parses what the host prints into small Go types.
//
// The parsers accept every output form recorded in the project's ESXi
// reference, including those of older hosts. Failures of vim-cmd come back
// as *Error, which carries the host, the command and the vim fault, and which
// the Is* predicates classify (not found, transient, authentication, ...).
//
// The package knows nothing of instances, the store or the API: callers map
// its VMs to instances by name.
package hypervisor
