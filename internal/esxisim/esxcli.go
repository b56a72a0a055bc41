package esxisim

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"
)

// esxResult is what an esxcli command answers: records of named fields,
// printed as a table, as a list of indented blocks, or as CSV.
type esxResult struct {
	fields []esxField
	rows   [][]string

	// style is how the default formatter prints the records.
	style esxStyle
}

// esxField is one field of esxcli's records.
type esxField struct {
	name  string // as the table header prints it: "Mount Point"
	right bool   // numbers and booleans are right-aligned in tables
}

// esxStyle is how esxcli prints a result by default.
type esxStyle int

const (
	styleTable esxStyle = iota // a table with a dashed line under its header
	styleList                  // per record, its first field, then the others indented
	styleBlock                 // one record's fields, indented
)

// esxcliOps are the esxcli commands the host knows, by namespace path.
var esxcliOps = map[string]func(p *proc, args []string) (esxResult, error){
	"storage filesystem list":       esxStorageFilesystemList,
	"network ip interface ipv4 get": esxNetworkIPv4Get,
	"vm process list":               esxVMProcessList,
	"system version get":            esxSystemVersionGet,
	"system hostname get":           esxSystemHostnameGet,
}

// esxcli is the host's management command line: `esxcli storage
// filesystem list`. --formatter=csv prints CSV, as scripts ask for.
func esxcli(p *proc, args []string) int {
	formatter := ""
	var words []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case strings.HasPrefix(a, "--formatter="):
			formatter = strings.TrimPrefix(a, "--formatter=")
		case a == "--formatter" && i+1 < len(args):
			formatter = args[i+1]
			i++
		default:
			words = append(words, a)
		}
	}
	if err := pause(p.ctx, p.e.latency()); err != nil {
		return 1
	}

	// The namespace path is the words up to the first option.
	n := 0
	for n < len(words) && !strings.HasPrefix(words[n], "-") {
		n++
	}
	ns := strings.Join(words[:n], " ")
	op, ok := esxcliOps[ns]
	if !ok {
		p.outf("Error: Unknown command or namespace %s\n", ns)
		return 1
	}
	res, err := op(p, words[n:])
	if err != nil {
		p.outf("Error: %v\n", err)
		return 1
	}
	switch formatter {
	case "", "simple":
		res.print(p)
	case "csv":
		res.printCSV(p)
	default:
		p.outf("Error: Invalid formatter: %s\n", formatter)
		return 1
	}
	return 0
}

// print writes the result the way esxcli does by default.
func (r esxResult) print(p *proc) {
	switch r.style {
	case styleList:
		for _, row := range r.rows {
			p.outf("%s\n", row[0])
			for i, f := range r.fields[1:] {
				p.outf("   %s: %s\n", f.name, row[i+1])
			}
			p.outf("\n")
		}
	case styleBlock:
		for _, row := range r.rows {
			for i, f := range r.fields {
				p.outf("   %s: %s\n", f.name, row[i])
			}
		}
	default:
		r.printTable(p)
	}
}

// printTable writes the result as a table: columns two spaces apart, as
// wide as their widest cell, a line of dashes under the header.
func (r esxResult) printTable(p *proc) {
	widths := make([]int, len(r.fields))
	for i, f := range r.fields {
		widths[i] = len(f.name)
		for _, row := range r.rows {
			widths[i] = max(widths[i], len(row[i]))
		}
	}
	line := func(cells []string) {
		parts := make([]string, len(cells))
		for i, c := range cells {
			if r.fields[i].right {
				parts[i] = fmt.Sprintf("%*s", widths[i], c)
			} else {
				parts[i] = fmt.Sprintf("%-*s", widths[i], c)
			}
		}
		p.outf("%s\n", strings.TrimRight(strings.Join(parts, "  "), " "))
	}

	header := make([]string, len(r.fields))
	dashes := make([]string, len(r.fields))
	for i, f := range r.fields {
		header[i] = f.name
		dashes[i] = strings.Repeat("-", widths[i])
	}
	line(header)
	p.outf("%s\n", strings.Join(dashes, "  "))
	for _, row := range r.rows {
		line(row)
	}
}

// printCSV writes the result as esxcli's CSV formatter does: fields named
// without spaces, sorted by name, each line ending in a comma.
func (r esxResult) printCSV(p *proc) {
	order := make([]int, len(r.fields))
	for i := range order {
		order[i] = i
	}
	key := func(i int) string { return strings.ReplaceAll(r.fields[i].name, " ", "") }
	sort.Slice(order, func(a, b int) bool { return key(order[a]) < key(order[b]) })

	var b strings.Builder
	for _, i := range order {
		b.WriteString(key(i) + ",")
	}
	p.outf("%s\n", b.String())
	for _, row := range r.rows {
		b.Reset()
		for _, i := range order {
			b.WriteString(row[i] + ",")
		}
		p.outf("%s\n", b.String())
	}
}

// esxStorageFilesystemList lists the mounted volumes with their size and
// free space in bytes.
func esxStorageFilesystemList(p *proc, args []string) (esxResult, error) {
	r := esxResult{fields: []esxField{
		{name: "Mount Point"}, {name: "Volume Name"}, {name: "UUID"},
		{name: "Mounted", right: true}, {name: "Type"},
		{name: "Size", right: true}, {name: "Free", right: true},
	}}
	err := p.e.update(func(st *hostState, now time.Time) error {
		for _, v := range p.e.vols {
			r.rows = append(r.rows, []string{v.mount, v.name, v.uuid, "true", "VMFS-6",
				strconv.FormatInt(v.capacity, 10), strconv.FormatInt(p.e.free(v), 10)})
		}
		return nil
	})
	return r, err
}

// esxNetworkIPv4Get lists the host's VMkernel interfaces' addresses.
func esxNetworkIPv4Get(p *proc, args []string) (esxResult, error) {
	for i := 0; i < len(args); i++ {
		if (args[i] == "-i" || args[i] == "--interface-name") && i+1 < len(args) && args[i+1] != "vmk0" {
			return esxResult{}, fmt.Errorf("Unable to find vmknic %s", args[i+1])
		}
	}
	bits := p.e.net.Bits()
	m := ^uint32(0) << (32 - bits)
	maskAddr := netip.AddrFrom4([4]byte{byte(m >> 24), byte(m >> 16), byte(m >> 8), byte(m)})
	broadcast := addrAt(p.e.net, 1<<(32-bits)-1)
	return esxResult{
		fields: []esxField{
			{name: "Name"}, {name: "IPv4 Address"}, {name: "IPv4 Netmask"},
			{name: "IPv4 Broadcast"}, {name: "Address Type"}, {name: "Gateway"},
			{name: "DHCP DNS", right: true},
		},
		rows: [][]string{{"vmk0", p.e.hostAddress().String(), maskAddr.String(),
			broadcast.String(), "STATIC", p.e.gateway().String(), "false"}},
	}, nil
}

// esxVMProcessList lists the running VMs' VMX worlds.
func esxVMProcessList(p *proc, args []string) (esxResult, error) {
	r := esxResult{style: styleList, fields: []esxField{
		{name: "Name"}, {name: "World ID"}, {name: "Process ID"}, {name: "VMX Cartel ID"},
		{name: "UUID"}, {name: "Display Name"}, {name: "Config File"},
	}}
	err := p.e.update(func(st *hostState, now time.Time) error {
		for _, vm := range st.VMs {
			if vm.Power != poweredOn {
				continue
			}
			c, err := p.e.loadVMX(vm)
			if err != nil {
				continue
			}
			r.rows = append(r.rows, []string{vm.Name, strconv.Itoa(vm.WorldID), "0",
				strconv.Itoa(vm.WorldID - 1), c.vmx.value("uuid.bios"), vm.Name,
				c.path.mountPath()})
		}
		return nil
	})
	return r, err
}

// esxSystemVersionGet prints the host's product and version.
func esxSystemVersionGet(p *proc, args []string) (esxResult, error) {
	s := p.e.set
	update := "0"
	if parts := strings.Split(s.Version, "."); len(parts) > 2 {
		update = parts[2]
	}
	return esxResult{
		style: styleBlock,
		fields: []esxField{
			{name: "Product"}, {name: "Version"}, {name: "Build"}, {name: "Update"}, {name: "Patch"},
		},
		rows: [][]string{{"VMware ESXi", s.Version, "Releasebuild-" + s.Build, update, "0"}},
	}, nil
}

// esxSystemHostnameGet prints the host's name.
func esxSystemHostnameGet(p *proc, args []string) (esxResult, error) {
	return esxResult{
		style: styleBlock,
		fields: []esxField{
			{name: "Domain Name"}, {name: "Fully Qualified Domain Name"}, {name: "Host Name"},
		},
		rows: [][]string{{"localdomain", p.e.set.Name + ".localdomain", p.e.set.Name}},
	}, nil
}
