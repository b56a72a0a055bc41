package compute

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/minicloud/minicloud/internal/cloud"
	"github.com/minicloud/minicloud/internal/hypervisor"
)

// gzipOver is the size of a guestinfo document above which it is
// gzipped before base64: .vmx values are read whole by hostd, and user
// data near EC2's 16 KB limit shrinks several times over.
const gzipOver = 4 << 10

// The .vmx keys cloud-init's VMware datasource reads.
const (
	keyMetadata         = "guestinfo.metadata"
	keyMetadataEncoding = "guestinfo.metadata.encoding"
	keyUserData         = "guestinfo.userdata"
	keyUserDataEncoding = "guestinfo.userdata.encoding"
)

// guestinfo returns the .vmx keys through which cloud-init in inst's
// guest learns its instance id, host name and SSH public key
// (guestinfo.metadata, JSON) and its user data (guestinfo.userdata), each
// with its encoding: base64, or gzip+base64 when large; and the keys that
// give the VM's NIC the instance's MAC address.
func guestinfo(inst *cloud.Instance) (map[string]string, error) {
	meta := map[string]any{
		"instance-id":    inst.ID,
		"local-hostname": inst.ID,
	}
	if inst.PublicKey != "" {
		meta["public-keys"] = []string{inst.PublicKey}
	}
	doc, err := json.Marshal(meta)
	if err != nil {
		return nil, fmt.Errorf("compute: metadata of %s: %w", inst.ID, err)
	}

	out := nicConfig(inst)
	if out == nil {
		out = map[string]string{}
	}
	out[keyMetadata], out[keyMetadataEncoding] = encodeGuestinfo(doc)
	if len(inst.UserData) > 0 {
		out[keyUserData], out[keyUserDataEncoding] = encodeGuestinfo(inst.UserData)
	}
	return out, nil
}

// encodeGuestinfo encodes a guestinfo value and names its encoding as
// cloud-init reads it.
func encodeGuestinfo(data []byte) (value, encoding string) {
	if len(data) > gzipOver {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, err := zw.Write(data)
		if err == nil {
			err = zw.Close()
		}
		if err == nil && buf.Len() < len(data) {
			return base64.StdEncoding.EncodeToString(buf.Bytes()), "gzip+base64"
		}
	}
	return base64.StdEncoding.EncodeToString(data), "base64"
}

// reconfigure rewrites the .vmx of a stopped instance's VM after its
// instance type or user data changed: the vCPUs, the memory and the
// guestinfo keys. The VM is powered off, as ESXi requires for a .vmx
// edit, and hostd reloads the file.
func (w *worker) reconfigure(ctx context.Context, inst *cloud.Instance) error {
	d := w.driver()
	if inst.Step != cloud.StepRegistered {
		// No VM yet: the launch writes the .vmx from the instance as it
		// is now.
		return w.record(inst.ID, func(i *cloud.Instance) { i.ConfigPending = false })
	}
	vmx, err := d.ReadVMX(ctx, inst.Datastore, inst.ID)
	if err != nil {
		return err
	}
	keys, err := guestinfo(inst)
	if err != nil {
		return err
	}
	for _, k := range vmx.Keys() {
		if strings.HasPrefix(k, keyMetadata) || strings.HasPrefix(k, keyUserData) {
			vmx.Delete(k)
		}
	}
	keys["numvcpus"] = strconv.Itoa(inst.VCPUs)
	keys["memSize"] = strconv.Itoa(inst.MemoryMiB)
	for k, v := range keys {
		if err := vmx.Set(k, v); err != nil {
			return fmt.Errorf("compute: vmx of %s: %w", inst.ID, err)
		}
	}
	if err := d.UpdateVMX(ctx, inst.VMID, inst.Datastore, inst.ID, vmx); err != nil {
		return err
	}
	w.log.Info("VM reconfigured", "instance", inst.ID, "type", inst.InstanceType)

	// Done unless the instance changed again while the .vmx was written.
	return w.record(inst.ID, func(i *cloud.Instance) {
		if i.InstanceType == inst.InstanceType && bytes.Equal(i.UserData, inst.UserData) {
			i.ConfigPending = false
		}
	})
}

// vmxEditor is the part of the driver that reads and rewrites a VM's
// .vmx; Driver embeds it.
type vmxEditor interface {
	// ReadVMX reads the .vmx of the VM name on datastore ds.
	ReadVMX(ctx context.Context, ds, name string) (*hypervisor.VMX, error)
	// UpdateVMX replaces the .vmx of a powered-off VM and has the host
	// reload it.
	UpdateVMX(ctx context.Context, vmid, ds, name string, v *hypervisor.VMX) error
}
