// Command esxisim-cmd is the simulated ESXi host's own programs, vim-cmd,
// vmkfstools, esxcli and vmware, as one executable that runs outside the
// simulated host: under OpenSSH's sshd and busybox ash, the components a
// real ESXi host is made of, so the ESXi driver can be tested through them.
//
// Install it under each program's name (symbolic links do) in a folder on
// the PATH of the shell sshd starts, and set ESXISIM_DIR to a host folder
// that esxisim.New laid out. The programs then work on this machine's
// paths, with the datastores in $ESXISIM_DIR/vmfs/volumes:
//
//	ln -s esxisim-cmd vim-cmd
//	ESXISIM_DIR=/srv/esxi ./vim-cmd vmsvc/getallvms
//
// Called under its own name, the first argument names the program:
//
//	esxisim-cmd vmware -v
package main

import (
	"os"

	"github.com/minicloud/minicloud/internal/esxisim"
)

func main() {
	os.Exit(esxisim.Main(os.Args, os.Stdin, os.Stdout, os.Stderr, os.Environ()))
}
