package ec2

import (
	"bytes"
	"encoding/xml"
	"net/url"
	"strings"
	"testing"

	"github.com/minicloud/minicloud/internal/cloud"
)

// actionForms holds a valid request for every action.
var actionForms = map[string]url.Values{
	"RunInstances":              {"ImageId": {"ami-0abcdef1234567890"}, "MinCount": {"1"}, "MaxCount": {"1"}},
	"DescribeInstances":         {},
	"StartInstances":            {"InstanceId.1": {"i-0123456789abc0001"}, "InstanceId.2": {"i-0123456789abc0002"}},
	"StopInstances":             {"InstanceId.1": {"i-0123456789abc0001"}},
	"RebootInstances":           {"InstanceId.1": {"i-0123456789abc0001"}},
	"TerminateInstances":        {"InstanceId.1": {"i-0123456789abc0001"}},
	"DescribeInstanceStatus":    {"IncludeAllInstances": {"true"}},
	"CreateTags":                {"ResourceId.1": {"i-0123456789abc0001"}, "Tag.1.Key": {"k"}},
	"DeleteTags":                {"ResourceId.1": {"i-0123456789abc0001"}},
	"DescribeTags":              {},
	"DescribeImages":            {},
	"DescribeInstanceTypes":     {},
	"DescribeRegions":           {},
	"DescribeAvailabilityZones": {},
}

// TestEncode_MatchesModel answers every action with fully populated data
// and checks each element of the response against the EC2 model.
func TestEncode_MatchesModel(t *testing.T) {
	m := ec2Model(t)
	h := newTestHandler(t, newFake())
	if len(actionForms) != len(actions) {
		t.Fatalf("%d actions have a test request, want all %d", len(actionForms), len(actions))
	}
	for op := range actions {
		t.Run(op, func(t *testing.T) {
			rec := call(t, h, op, actionForms[op])
			body := wantOK(t, rec)
			if got := rec.Header().Get("Content-Type"); got != contentTypeXML {
				t.Errorf("Content-Type %q, want %q", got, contentTypeXML)
			}
			for _, err := range m.validateResponse(op, parseXML(t, body)) {
				t.Error(err)
			}
		})
	}
}

// element returns the text of the first element at path (slash
// separated names, from the root's children) in doc, and whether there
// is one.
func element(t *testing.T, doc []byte, path string) (string, bool) {
	t.Helper()
	n := parseXML(t, doc)
	for _, name := range strings.Split(path, "/") {
		var next *node
		for _, c := range n.children {
			if c.name == name {
				next = c
				break
			}
		}
		if next == nil {
			return "", false
		}
		n = next
	}
	return n.text, true
}

// TestEncode_Instance checks the values of an instance's elements,
// including those derived from the domain's fields.
func TestEncode_Instance(t *testing.T) {
	const first = "reservationSet/item/instancesSet/item/"

	h := newTestHandler(t, newFake())
	body := wantOK(t, call(t, h, "DescribeInstances", nil))
	tests := []struct {
		path, want string
	}{
		{first + "instanceId", "i-0123456789abc0001"},
		{first + "instanceState/code", "16"},
		{first + "instanceState/name", "running"},
		{first + "privateDnsName", "ip-172-31-1-2.ec2.internal"},
		{first + "privateIpAddress", "172.31.1.2"},
		{first + "dnsName", ""},
		{first + "launchTime", "2024-05-20T19:42:41.250Z"},
		{first + "placement/availabilityZone", "us-east-1a"},
		{first + "placement/tenancy", "default"},
		{first + "monitoring/state", "disabled"},
		{first + "blockDeviceMapping/item/deviceName", "/dev/xvda"},
		{first + "blockDeviceMapping/item/ebs/volumeId", "vol-0123456789abc0001"},
		{first + "blockDeviceMapping/item/ebs/status", "attached"},
		{first + "cpuOptions/coreCount", "1"},
		{first + "cpuOptions/threadsPerCore", "2"},
		{first + "tagSet/item/key", "Name"},
		{first + "tagSet/item/value", "web-1"},
		{first + "virtualizationType", "hvm"},
		{first + "hypervisor", "xen"},
		{first + "platformDetails", "Linux/UNIX"},
		{first + "usageOperation", "RunInstances"},
		{first + "metadataOptions/httpTokens", "optional"},
		{first + "currentInstanceBootMode", "legacy-bios"},
		{first + "clientToken", "run-token-1"},
		{first + "keyName", "lab-key"},
	}
	for _, tt := range tests {
		got, ok := element(t, body, tt.path)
		if !ok || got != tt.want {
			t.Errorf("%s = %q (present %v), want %q", tt.path, got, ok, tt.want)
		}
	}
	if id, _ := element(t, body, "requestId"); id == "" {
		t.Error("no requestId")
	}

	// The second reservation's instance is stopped, by its user.
	var doc struct {
		Reservations []struct {
			Instances []struct {
				Reason      string `xml:"reason"`
				StateReason struct {
					Code string `xml:"code"`
				} `xml:"stateReason"`
				Cores   int    `xml:"cpuOptions>coreCount"`
				Threads int    `xml:"cpuOptions>threadsPerCore"`
				KeyName string `xml:"keyName"`
			} `xml:"instancesSet>item"`
		} `xml:"reservationSet>item"`
	}
	if err := xml.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Reservations) != 2 {
		t.Fatalf("%d reservations, want 2", len(doc.Reservations))
	}
	stopped := doc.Reservations[1].Instances[0]
	if !strings.HasPrefix(stopped.Reason, "User initiated (2024-05-20 20:42:41 GMT)") ||
		stopped.StateReason.Code != "Client.UserInitiatedShutdown" {
		t.Errorf("stopped instance: reason %q, stateReason %q", stopped.Reason, stopped.StateReason.Code)
	}
	if stopped.Cores != 2 || stopped.Threads != 1 {
		t.Errorf("t2.medium cpuOptions %d×%d, want 2 cores × 1 thread", stopped.Cores, stopped.Threads)
	}
	if bytes.Contains(body, []byte("<stateReason><code>pending")) {
		t.Error("a running instance without a state reason got one")
	}
}

// TestEncode_InstanceDerived covers what the adapter derives: the DNS
// suffix outside us-east-1, a terminated instance's released address and
// volume, and escaping of tag values.
func TestEncode_InstanceDerived(t *testing.T) {
	t.Run("RegionDNSSuffix", func(t *testing.T) {
		var out bytes.Buffer
		e := &encoder{xmlWriter: xmlWriter{out: &out}, dnsSuffix: dnsSuffix("eu-west-1")}
		e.privateDNSName("10.0.3.4")
		e.privateDNSName("fd00::1")
		e.flush()
		want := "<privateDnsName>ip-10-0-3-4.eu-west-1.compute.internal</privateDnsName><privateDnsName/>"
		if got := out.String(); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})

	t.Run("Terminated", func(t *testing.T) {
		i := runningInstance(3)
		i.State = cloud.StateTerminated
		doc := encodeOne(t, i)
		for _, absent := range []string{"<privateIpAddress>", "<volumeId>"} {
			if strings.Contains(doc, absent) {
				t.Errorf("terminated instance has %s: %s", absent, doc)
			}
		}
		if !strings.Contains(doc, "<privateDnsName/>") || !strings.Contains(doc, "<blockDeviceMapping/>") {
			t.Errorf("terminated instance lacks empty privateDnsName/blockDeviceMapping: %s", doc)
		}
	})

	t.Run("Escaping", func(t *testing.T) {
		i := runningInstance(4)
		i.Tags = cloud.Tags{"k": "a & b < c > \"d\" 'e'\x01\xff"}
		doc := encodeOne(t, i)
		var v struct {
			Value string `xml:"tagSet>item>value"`
		}
		if err := xml.Unmarshal([]byte(doc), &v); err != nil {
			t.Fatalf("escaped document does not parse: %v\n%s", err, doc)
		}
		if want := "a & b < c > \"d\" 'e'\uFFFD\uFFFD"; v.Value != want {
			t.Errorf("tag value %q, want %q", v.Value, want)
		}
	})

	t.Run("NoTags", func(t *testing.T) {
		i := runningInstance(5)
		i.Tags, i.KeyName, i.ClientToken = nil, "", ""
		doc := encodeOne(t, i)
		for _, absent := range []string{"tagSet", "keyName", "clientToken"} {
			if strings.Contains(doc, absent) {
				t.Errorf("instance without %s still has it: %s", absent, doc)
			}
		}
	})
}

// encodeOne writes one instance as an <item> document.
func encodeOne(t *testing.T, i *cloud.Instance) string {
	t.Helper()
	var out bytes.Buffer
	e := &encoder{xmlWriter: xmlWriter{out: &out}, dnsSuffix: dnsSuffix(testRegion)}
	e.start("item")
	e.instance(i)
	e.end("item")
	e.flush()
	return out.String()
}

// TestEncode_Catalog checks values in the catalogue answers.
func TestEncode_Catalog(t *testing.T) {
	h := newTestHandler(t, newFake())
	tests := []struct {
		action, path, want string
	}{
		{"DescribeImages", "imagesSet/item/imageLocation", "[datastore1] templates/debian-12/debian-12.vmdk"},
		{"DescribeImages", "imagesSet/item/creationDate", "2024-01-02T03:04:05.000Z"},
		{"DescribeImages", "imagesSet/item/blockDeviceMapping/item/ebs/volumeSize", "8"},
		{"DescribeImages", "imagesSet/item/blockDeviceMapping/item/ebs/volumeType", "gp3"},
		{"DescribeImages", "imagesSet/item/imageOwnerAlias", "amazon"},
		{"DescribeImages", "imagesSet/item/isPublic", "true"},
		{"DescribeInstanceTypes", "instanceTypeSet/item/vCpuInfo/defaultCores", "1"},
		{"DescribeInstanceTypes", "instanceTypeSet/item/memoryInfo/sizeInMiB", "1024"},
		{"DescribeInstanceTypes", "instanceTypeSet/item/burstablePerformanceSupported", "true"},
		{"DescribeInstanceTypes", "instanceTypeSet/item/networkInfo/networkPerformance", "Up to 5 Gigabit"},
		{"DescribeInstanceTypes", "instanceTypeSet/item/processorInfo/supportedArchitectures/item", "x86_64"},
		{"DescribeInstanceTypes", "nextToken", "types-page-2"},
		{"DescribeRegions", "regionInfo/item/regionEndpoint", "ec2.us-east-1.minicloud.internal"},
		{"DescribeAvailabilityZones", "availabilityZoneInfo/item/zoneId", "use1-az1"},
		{"DescribeInstanceStatus", "instanceStatusSet/item/systemStatus/details/item/status", "passed"},
		{"DescribeInstanceStatus", "instanceStatusSet/item/instanceStatus/status", "initializing"},
		{"DescribeTags", "tagSet/item/resourceType", "instance"},
		{"StopInstances", "instancesSet/item/previousState/code", "16"},
		{"StopInstances", "instancesSet/item/currentState/name", "stopping"},
		{"RebootInstances", "return", "true"},
	}
	bodies := map[string][]byte{}
	for _, tt := range tests {
		body, ok := bodies[tt.action]
		if !ok {
			body = wantOK(t, call(t, h, tt.action, actionForms[tt.action]))
			bodies[tt.action] = body
		}
		got, ok := element(t, body, tt.path)
		if !ok || got != tt.want {
			t.Errorf("%s %s = %q (present %v), want %q", tt.action, tt.path, got, ok, tt.want)
		}
	}

	// A zone's messages, and none for a zone without.
	body := bodies["DescribeAvailabilityZones"]
	if !bytes.Contains(body, []byte("<messageSet/>")) ||
		!bytes.Contains(body, []byte("<messageSet><item><message>host esxi-2 is unreachable</message></item>")) {
		t.Errorf("zone messages not as expected: %s", body)
	}

	// A check that does not apply has no reachability detail.
	if !bytes.Contains(bodies["DescribeInstanceStatus"],
		[]byte("<systemStatus><status>not-applicable</status><details/></systemStatus>")) {
		t.Errorf("not-applicable status not as expected: %s", bodies["DescribeInstanceStatus"])
	}
}

// TestXMLWriter_Flush checks that a large answer streams in pieces and
// arrives whole.
func TestXMLWriter_Flush(t *testing.T) {
	var out countingWriter
	e := &encoder{xmlWriter: xmlWriter{out: &out}, dnsSuffix: "ec2.internal"}
	list := make([]*cloud.Instance, 200)
	for i := range list {
		list[i] = runningInstance(i)
	}
	encodeReservation(e, &cloud.Reservation{ID: "r-1", OwnerID: testAccount, Instances: list})
	e.flush()
	if out.writes < 2 {
		t.Errorf("%d writes for %d bytes, want it streamed in pieces", out.writes, out.Len())
	}
	if got := strings.Count(out.String(), "<instanceId>"); got != len(list) {
		t.Errorf("%d instances written, want %d", got, len(list))
	}
}

// countingWriter is a bytes.Buffer that counts its writes.
type countingWriter struct {
	bytes.Buffer
	writes int
}

func (w *countingWriter) Write(b []byte) (int, error) {
	w.writes++
	return w.Buffer.Write(b)
}
