package esxisim

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// vobj is a vSphere data object as vim-cmd prints it:
//
//	(vim.vm.GuestInfo) {
//	   toolsStatus = "toolsOk",
//	   guestState = "running"
//	}
//
// Three spaces per level; every field but the last ends with a comma.
type vobj struct {
	typ    string
	fields []vfield
}

// vfield is one field of a vobj. val is a formatted scalar (a string from
// str, num or a literal like "<unset>"), a *vobj or a varr.
type vfield struct {
	name string
	val  any
}

// varr is an array field: "(type) [ ... ]".
type varr struct {
	typ   string
	items []any // formatted scalars or *vobj
}

// obj starts a data object of type typ.
func obj(typ string) *vobj { return &vobj{typ: typ} }

// f adds a field and returns the object, so fields can be chained.
func (o *vobj) f(name string, val any) *vobj {
	o.fields = append(o.fields, vfield{name: name, val: val})
	return o
}

// str formats a string value. vim-cmd prints strings between double quotes
// and escapes nothing inside them.
func str(s string) string { return `"` + s + `"` }

// num formats a number.
func num[T ~int | ~int64 | ~uint64](n T) string { return strconv.FormatInt(int64(n), 10) }

// boolean formats a boolean.
func boolean(b bool) string { return strconv.FormatBool(b) }

// Values vim-cmd prints for what is not there.
const (
	unset     = "<unset>"
	nullCause = "(vmodl.MethodFault) null"
)

// write prints o at the nesting depth given.
func (o *vobj) write(w io.Writer, depth int) {
	o.writeTo(w, depth, false)
}

// writeTo prints o; trailingComma puts a comma after the last field too,
// as vim-cmd does in fault blocks.
func (o *vobj) writeTo(w io.Writer, depth int, trailingComma bool) {
	fmt.Fprintf(w, "(%s) {\n", o.typ)
	pad := strings.Repeat("   ", depth+1)
	for i, fl := range o.fields {
		fmt.Fprintf(w, "%s%s = ", pad, fl.name)
		writeValue(w, fl.val, depth+1)
		if i < len(o.fields)-1 || trailingComma {
			io.WriteString(w, ",")
		}
		io.WriteString(w, "\n")
	}
	fmt.Fprintf(w, "%s}", strings.Repeat("   ", depth))
}

// writeValue prints one value at the nesting depth given.
func writeValue(w io.Writer, v any, depth int) {
	switch v := v.(type) {
	case *vobj:
		v.write(w, depth)
	case varr:
		if len(v.items) == 0 {
			fmt.Fprintf(w, "(%s) []", v.typ)
			return
		}
		fmt.Fprintf(w, "(%s) [\n", v.typ)
		pad := strings.Repeat("   ", depth+1)
		for i, item := range v.items {
			io.WriteString(w, pad)
			writeValue(w, item, depth+1)
			if i < len(v.items)-1 {
				io.WriteString(w, ",")
			}
			io.WriteString(w, "\n")
		}
		fmt.Fprintf(w, "%s]", strings.Repeat("   ", depth))
	default:
		fmt.Fprint(w, v)
	}
}

// vimFault is a fault a vim-cmd call ends with.
type vimFault struct {
	typ    string   // as "vim.fault.NotFound"
	fields []vfield // fields printed between faultMessage and msg
	msg    string
}

// Error returns the fault's message, so a vimFault can travel as an error.
func (f *vimFault) Error() string { return f.typ + ": " + f.msg }

// write prints the fault as vim-cmd does: the fault object, with a comma
// after every field.
func (f *vimFault) write(w io.Writer) {
	o := obj(f.typ).f("faultCause", nullCause).f("faultMessage", unset)
	o.fields = append(o.fields, f.fields...)
	o.f("msg", str(f.msg))
	o.writeTo(w, 0, true)
	io.WriteString(w, "\n")
}

// notFoundVM is the fault for a vmid that names no VM.
func notFoundVM(arg string) *vimFault {
	return &vimFault{
		typ: "vim.fault.NotFound",
		msg: `Unable to find a VM corresponding to "` + arg + `"`,
	}
}

// notFoundObject is the fault for a file or object that is not there.
func notFoundObject() *vimFault {
	return &vimFault{
		typ: "vim.fault.NotFound",
		msg: "The object or item referred to could not be found.",
	}
}

// alreadyExists is the fault for registering what is registered.
func alreadyExists(key string) *vimFault {
	return &vimFault{
		typ: "vim.fault.AlreadyExists",
		fields: []vfield{
			{"name", str(key)},
		},
		msg: "The specified key, name, or identifier '" + key + "' already exists.",
	}
}

// invalidPowerState is the fault for a power operation the VM's state does
// not allow.
func invalidPowerState(requested, existing string) *vimFault {
	req := unset
	if requested != "" {
		req = str(requested)
	}
	return &vimFault{
		typ: "vim.fault.InvalidPowerState",
		fields: []vfield{
			{"requestedState", req},
			{"existingState", str(existing)},
		},
		msg: "The attempted operation cannot be performed in the current state (" +
			powerTitle(existing) + ").",
	}
}

// invalidState is the fault for an operation the VM cannot do now.
func invalidState() *vimFault {
	return &vimFault{
		typ: "vim.fault.InvalidState",
		msg: "The operation is not allowed in the current state.",
	}
}

// toolsUnavailable is the fault for a guest operation without VMware Tools.
func toolsUnavailable() *vimFault {
	return &vimFault{
		typ: "vim.fault.ToolsUnavailable",
		msg: "Cannot complete operation because VMware Tools is not running in this virtual machine.",
	}
}

// invalidArgument is the fault for an argument vim-cmd cannot use.
func invalidArgument(name string) *vimFault {
	return &vimFault{
		typ: "vmodl.fault.InvalidArgument",
		fields: []vfield{
			{"invalidProperty", str(name)},
		},
		msg: "A specified parameter was not correct: " + name,
	}
}

// requestCanceled is the fault of a task canceled by an answer.
func requestCanceled() *vimFault {
	return &vimFault{
		typ: "vmodl.fault.RequestCanceled",
		msg: "The task was canceled by a user.",
	}
}

// powerWords returns a power state as power.getstate prints it.
func powerWords(state string) string {
	switch state {
	case poweredOn:
		return "Powered on"
	case suspended:
		return "Suspended"
	}
	return "Powered off"
}

// powerTitle returns a power state as fault messages spell it.
func powerTitle(state string) string {
	switch state {
	case poweredOn:
		return "Powered On"
	case suspended:
		return "Suspended"
	}
	return "Powered Off"
}
