package ec2

import (
	"encoding/base64"
	"strings"

	"github.com/minicloud/minicloud/internal/cloud"
)

func decodeDescribeInstanceAttribute(p *params) (*cloud.DescribeInstanceAttributeInput, error) {
	in := &cloud.DescribeInstanceAttributeInput{
		DryRun:     p.boolean("DryRun"),
		InstanceID: p.str("InstanceId"),
		Attribute:  p.str("Attribute"),
	}
	switch {
	case in.InstanceID == "":
		p.fail(cloud.MissingParameter("InstanceId"))
	case in.Attribute == "":
		p.fail(cloud.MissingParameter("Attribute"))
	}
	return in, p.err
}

// decodeModifyInstanceAttribute reads the attribute to change, named
// either by Attribute and Value (the older form, --attribute and --value
// in the CLI) or by the attribute's own parameter, such as
// InstanceType.Value or UserData.Value.
func decodeModifyInstanceAttribute(p *params) (*cloud.ModifyInstanceAttributeInput, error) {
	in := &cloud.ModifyInstanceAttributeInput{
		DryRun:     p.boolean("DryRun"),
		InstanceID: p.str("InstanceId"),
	}
	if in.InstanceID == "" {
		p.fail(cloud.MissingParameter("InstanceId"))
	}

	// The attribute's own parameters.
	in.InstanceType = p.optStr("InstanceType.Value")
	in.Kernel = p.optStr("Kernel.Value")
	in.Ramdisk = p.optStr("Ramdisk.Value")
	in.SriovNetSupport = p.optStr("SriovNetSupport.Value")
	in.ShutdownBehavior = p.optStr("InstanceInitiatedShutdownBehavior.Value")
	in.DisableAPITermination = p.optBool("DisableApiTermination.Value")
	in.DisableAPIStop = p.optBool("DisableApiStop.Value")
	in.SourceDestCheck = p.optBool("SourceDestCheck.Value")
	in.EBSOptimized = p.optBool("EbsOptimized.Value")
	in.ENASupport = p.optBool("EnaSupport.Value")
	if p.has("UserData.Value") {
		in.UserData = attributeUserData(p, p.str("UserData.Value"))
	}
	if len(p.indexes("GroupId")) > 0 {
		in.Groups = p.list("GroupId")
	}
	if len(p.indexes("BlockDeviceMapping")) > 0 {
		in.Unsupported = cloud.AttrBlockDeviceMapping
	}

	// Attribute and Value.
	if p.has("Attribute") {
		decodeAttributeValue(p, in)
	}
	return in, p.err
}

// decodeAttributeValue reads the Attribute and Value form of
// ModifyInstanceAttribute into in.
func decodeAttributeValue(p *params, in *cloud.ModifyInstanceAttributeInput) {
	name, v := p.str("Attribute"), p.str("Value")
	if !p.has("Value") {
		p.fail(cloud.MissingParameter("Value"))
		return
	}
	strs := map[string]**string{
		cloud.AttrInstanceType: &in.InstanceType, cloud.AttrKernel: &in.Kernel,
		cloud.AttrRamdisk: &in.Ramdisk, cloud.AttrSriovNetSupport: &in.SriovNetSupport,
		cloud.AttrShutdownBehavior: &in.ShutdownBehavior,
	}
	bools := map[string]**bool{
		cloud.AttrDisableAPITermination: &in.DisableAPITermination,
		cloud.AttrDisableAPIStop:        &in.DisableAPIStop,
		cloud.AttrSourceDestCheck:       &in.SourceDestCheck,
		cloud.AttrEBSOptimized:          &in.EBSOptimized,
		cloud.AttrENASupport:            &in.ENASupport,
	}
	switch {
	case strs[name] != nil:
		*strs[name] = &v
	case bools[name] != nil:
		b := p.boolean("Value")
		*bools[name] = &b
	case name == cloud.AttrUserData:
		in.UserData = attributeUserData(p, v)
	case name == cloud.AttrGroupSet:
		in.Groups = []string{v}
	case name == cloud.AttrBlockDeviceMapping:
		in.Unsupported = name
	default:
		p.fail(cloud.InvalidValue("attribute", name, "Unknown attribute."))
	}
}

// attributeUserData decodes the base64 user data of
// ModifyInstanceAttribute. It never returns nil, so that setting empty
// user data (to remove it) is told apart from not setting it.
func attributeUserData(p *params, v string) []byte {
	data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
	if err != nil {
		p.fail(cloud.Errorf("InvalidUserData.Malformed", "Invalid BASE64 encoding of user data."))
	}
	if data == nil {
		data = []byte{}
	}
	return data
}

// encodeInstanceAttribute writes the instance id and the one attribute
// asked for, in the shape the model gives it.
func encodeInstanceAttribute(e *encoder, a *cloud.InstanceAttribute) {
	e.text("instanceId", a.InstanceID)
	switch a.Attribute {
	case cloud.AttrDisableAPITermination, cloud.AttrDisableAPIStop, cloud.AttrSourceDestCheck,
		cloud.AttrEBSOptimized, cloud.AttrENASupport:
		e.start(a.Attribute)
		e.boolean("value", a.Bool)
		e.end(a.Attribute)
	case cloud.AttrBlockDeviceMapping:
		e.blockDeviceMapping(a.Instance)
	case cloud.AttrProductCodes:
		e.empty(a.Attribute)
	case cloud.AttrGroupSet:
		set(&e.xmlWriter, "groupSet", a.Instance.SecurityGroups, func(g cloud.GroupIdentifier) {
			e.text("groupId", g.ID)
			e.text("groupName", g.Name)
		})
	case cloud.AttrEnclaveOptions:
		e.start("enclaveOptions")
		e.boolean("enabled", false)
		e.end("enclaveOptions")
	default:
		// A string attribute: <name><value>v</value></name>, or <name/>
		// when the instance has none, as EC2 writes an absent kernel.
		if a.Value == "" {
			e.empty(a.Attribute)
			return
		}
		e.start(a.Attribute)
		e.text("value", a.Value)
		e.end(a.Attribute)
	}
}
