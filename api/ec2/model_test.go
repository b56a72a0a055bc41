package ec2

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The EC2 service model, trimmed to the operations minicloud answers.
// testdata/genmodel.py writes it from botocore's service-2.json.gz:
//
//go:generate sh -c "cd testdata && python3 genmodel.py > ec2-model.json"
const modelFile = "testdata/ec2-model.json"

// model is the part of the EC2 service model the tests check against.
type model struct {
	XMLNamespace string                       `json:"xmlNamespace"`
	Operations   map[string]map[string]string `json:"operations"`
	Shapes       map[string]*shape            `json:"shapes"`
}

// shape is one shape of the model.
type shape struct {
	Type    string               `json:"type"`
	Enum    []string             `json:"enum"`
	Members map[string]memberRef `json:"members"`
	Member  *memberRef           `json:"member"`
}

// memberRef points from a structure member or list to a shape.
type memberRef struct {
	Shape        string `json:"shape"`
	LocationName string `json:"locationName"`
	QueryName    string `json:"queryName"`
}

var (
	loadModelOnce sync.Once
	loadedModel   *model
	loadModelErr  error
)

// ec2Model loads testdata/ec2-model.json once.
func ec2Model(t testing.TB) *model {
	t.Helper()
	loadModelOnce.Do(func() {
		b, err := os.ReadFile(modelFile)
		if err != nil {
			loadModelErr = err
			return
		}
		loadedModel = &model{}
		loadModelErr = json.Unmarshal(b, loadedModel)
	})
	if loadModelErr != nil {
		t.Fatalf("load %s: %v", modelFile, loadModelErr)
	}
	return loadedModel
}

// node is an XML element as the validator sees it.
type node struct {
	name     string
	space    string
	text     string
	children []*node
}

// parseXML reads a document into a tree of nodes.
func parseXML(t testing.TB, doc []byte) *node {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	var stack []*node
	var root *node
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("response is not well-formed XML: %v\n%s", err, doc)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			n := &node{name: tok.Name.Local, space: tok.Name.Space}
			if len(stack) > 0 {
				parent := stack[len(stack)-1]
				parent.children = append(parent.children, n)
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(tok)
			}
		}
	}
	return root
}

// validateResponse checks a success document for op against the model:
// the root element and namespace, requestId first, and then every element
// by the rules of validateShape. It returns the problems found.
func (m *model) validateResponse(op string, doc *node) []string {
	var errs []string
	if doc.name != op+"Response" {
		errs = append(errs, fmt.Sprintf("root is <%s>, want <%sResponse>", doc.name, op))
	}
	if doc.space != strings.TrimSuffix(m.XMLNamespace, "/")+"/" {
		errs = append(errs, fmt.Sprintf("namespace %q, want %q/", doc.space, m.XMLNamespace))
	}
	if len(doc.children) == 0 || doc.children[0].name != "requestId" ||
		doc.children[0].text == "" {
		return append(errs, "the first element is not a non-empty requestId")
	}
	body := &node{name: doc.name, children: doc.children[1:]}

	out, ok := m.Operations[op]["output"]
	if !ok {
		// Actions without an output answer <return>true</return>.
		if len(body.children) != 1 || body.children[0].name != "return" ||
			body.children[0].text != "true" {
			errs = append(errs, "want only <return>true</return>")
		}
		return errs
	}
	return append(errs, m.validateShape(op+"Response", body, out)...)
}

// validateShape checks element n against the named shape: a structure's
// children must each be a member's locationName, at most once; a list's
// children must all be <item>; a scalar must have no children and parse
// as its type, and an enum's value must be one of its values.
func (m *model) validateShape(path string, n *node, shapeName string) []string {
	s, ok := m.Shapes[shapeName]
	if !ok {
		return []string{path + ": shape " + shapeName + " is not in the model"}
	}
	var errs []string
	switch s.Type {
	case "structure":
		seen := map[string]bool{}
		for _, c := range n.children {
			ref, ok := s.memberByLocation(c.name)
			if !ok {
				errs = append(errs, fmt.Sprintf("%s: <%s> is not a member of %s",
					path, c.name, shapeName))
				continue
			}
			if seen[c.name] {
				errs = append(errs, fmt.Sprintf("%s: <%s> appears twice", path, c.name))
			}
			seen[c.name] = true
			errs = append(errs, m.validateShape(path+"/"+c.name, c, ref.Shape)...)
		}
	case "list":
		want := s.Member.LocationName
		if want == "" {
			want = "item"
		}
		for i, c := range n.children {
			if c.name != want {
				errs = append(errs, fmt.Sprintf("%s: list holds <%s>, want <%s>", path, c.name, want))
				continue
			}
			errs = append(errs, m.validateShape(fmt.Sprintf("%s[%d]", path, i), c, s.Member.Shape)...)
		}
	default:
		if len(n.children) > 0 {
			return []string{fmt.Sprintf("%s: a %s has child elements", path, s.Type)}
		}
		if err := checkScalar(s, n.text); err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", path, err))
		}
	}
	return errs
}

// memberByLocation finds the member whose XML name is name.
func (s *shape) memberByLocation(name string) (memberRef, bool) {
	for member, ref := range s.Members {
		loc := ref.LocationName
		if loc == "" {
			loc = member
		}
		if loc == name {
			return ref, true
		}
	}
	return memberRef{}, false
}

// checkScalar reports whether text is a value of the scalar shape s.
func checkScalar(s *shape, text string) error {
	switch s.Type {
	case "integer", "long":
		if _, err := strconv.ParseInt(text, 10, 64); err != nil {
			return fmt.Errorf("%q is not an integer", text)
		}
	case "double", "float":
		if _, err := strconv.ParseFloat(text, 64); err != nil {
			return fmt.Errorf("%q is not a number", text)
		}
	case "boolean":
		if text != "true" && text != "false" {
			return fmt.Errorf("%q is not a lower-case boolean", text)
		}
	case "timestamp":
		if _, err := time.Parse(timeFormat, text); err != nil {
			return fmt.Errorf("%q is not an EC2 timestamp", text)
		}
	case "string":
		if len(s.Enum) == 0 || text == "" {
			return nil
		}
		// EC2 writes some enums in another case than the model
		// (platform is "windows" on the wire, "Windows" in the model).
		for _, v := range s.Enum {
			if strings.EqualFold(v, text) {
				return nil
			}
		}
		return fmt.Errorf("%q is not one of the enum's values", text)
	}
	return nil
}

// hasParam reports whether name is a parameter of op's request as the
// EC2 protocol serializes it: members by queryName or capitalized
// locationName, list members numbered from 1 (InstanceId.1,
// Filter.1.Value.2, TagSpecification.1.Tag.1.Key).
func (m *model) hasParam(op, name string) bool {
	shapeName := m.Operations[op]["input"]
	parts := strings.Split(name, ".")
	for i := 0; i < len(parts); i++ {
		s := m.Shapes[shapeName]
		if s == nil || s.Type != "structure" {
			return false
		}
		ref, ok := s.memberByQueryName(parts[i])
		if !ok {
			return false
		}
		shapeName = ref.Shape
		if m.Shapes[shapeName].Type == "list" {
			// A list member takes a number.
			if i+1 >= len(parts) {
				return false
			}
			if _, err := strconv.Atoi(parts[i+1]); err != nil {
				return false
			}
			i++
			shapeName = m.Shapes[shapeName].Member.Shape
		}
	}
	return m.Shapes[shapeName].Type != "structure"
}

// memberByQueryName finds the member the EC2 protocol sends as name.
func (s *shape) memberByQueryName(name string) (memberRef, bool) {
	for member, ref := range s.Members {
		q := ref.QueryName
		if q == "" && ref.LocationName != "" {
			q = strings.ToUpper(ref.LocationName[:1]) + ref.LocationName[1:]
		}
		if q == "" {
			q = member
		}
		if q == name {
			return ref, true
		}
	}
	return memberRef{}, false
}

// TestModel_Validator checks that the validator finds the faults it is
// there to find, so a passing encoding test means something.
func TestModel_Validator(t *testing.T) {
	m := ec2Model(t)
	ns := m.XMLNamespace + "/"
	if strings.HasSuffix(m.XMLNamespace, "/") {
		ns = m.XMLNamespace
	}
	tests := []struct {
		name string
		doc  string
		ok   bool
	}{
		{"OK", `<DescribeRegionsResponse xmlns="` + ns + `"><requestId>x</requestId>` +
			`<regionInfo><item><regionName>r</regionName></item></regionInfo></DescribeRegionsResponse>`, true},
		{"UnknownElement", `<DescribeRegionsResponse xmlns="` + ns + `"><requestId>x</requestId>` +
			`<regionInfo><item><region>r</region></item></regionInfo></DescribeRegionsResponse>`, false},
		{"ListWithoutItem", `<DescribeRegionsResponse xmlns="` + ns + `"><requestId>x</requestId>` +
			`<regionInfo><regionName>r</regionName></regionInfo></DescribeRegionsResponse>`, false},
		{"BadBoolean", `<DescribeImagesResponse xmlns="` + ns + `"><requestId>x</requestId>` +
			`<imagesSet><item><isPublic>True</isPublic></item></imagesSet></DescribeImagesResponse>`, false},
		{"BadInteger", `<StartInstancesResponse xmlns="` + ns + `"><requestId>x</requestId>` +
			`<instancesSet><item><currentState><code>x</code></currentState></item></instancesSet>` +
			`</StartInstancesResponse>`, false},
		{"BadEnum", `<StartInstancesResponse xmlns="` + ns + `"><requestId>x</requestId>` +
			`<instancesSet><item><currentState><name>sleeping</name></currentState></item></instancesSet>` +
			`</StartInstancesResponse>`, false},
		{"BadTime", `<DescribeInstancesResponse xmlns="` + ns + `"><requestId>x</requestId>` +
			`<reservationSet><item><instancesSet><item><launchTime>2024-01-01</launchTime>` +
			`</item></instancesSet></item></reservationSet></DescribeInstancesResponse>`, false},
		{"NoRequestID", `<DescribeRegionsResponse xmlns="` + ns + `"><regionInfo/></DescribeRegionsResponse>`, false},
		{"WrongNamespace", `<DescribeRegionsResponse xmlns="http://example.com/"><requestId>x</requestId>` +
			`</DescribeRegionsResponse>`, false},
		{"ReturnTrue", `<CreateTagsResponse xmlns="` + ns + `"><requestId>x</requestId><return>true</return>` +
			`</CreateTagsResponse>`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := strings.TrimPrefix(strings.SplitN(tt.doc, "Response", 2)[0], "<")
			errs := m.validateResponse(op, parseXML(t, []byte(tt.doc)))
			if got := len(errs) == 0; got != tt.ok {
				t.Errorf("valid = %v, want %v: %v", got, tt.ok, errs)
			}
		})
	}

	t.Run("Params", func(t *testing.T) {
		for _, tt := range []struct {
			op, name string
			want     bool
		}{
			{"DescribeInstances", "InstanceId.3", true},
			{"DescribeInstances", "Filter.1.Value.2", true},
			{"DescribeInstances", "Filter.1", false},
			{"DescribeInstances", "InstanceIds.1", false},
			{"RunInstances", "TagSpecification.1.Tag.2.Key", true},
			{"RunInstances", "Placement.AvailabilityZone", true},
			{"RunInstances", "Placement", false},
		} {
			if got := m.hasParam(tt.op, tt.name); got != tt.want {
				t.Errorf("hasParam(%s, %s) = %v, want %v", tt.op, tt.name, got, tt.want)
			}
		}
	})
}
