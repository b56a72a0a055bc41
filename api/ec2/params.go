package ec2

import (
	"encoding/base64"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/minicloud/minicloud/internal/cloud"
)

// params reads the parameters of one EC2 Query request. EC2 flattens lists
// into numbered names with the member's singular name (InstanceId.1,
// Filter.2.Value.1); params gathers them back, ordered by index.
//
// The first malformed or missing value is kept in err and later reads
// return zero values, so a decoder reads every parameter it knows and
// checks err once, the way bufio.Scanner reports its error.
type params struct {
	values url.Values
	err    error

	// lists holds, for each prefix, the indexes N of the names prefix.N
	// and prefix.N.something, sorted. It is built from every name in one
	// pass on first use, so reading many lists, or lists of lists, costs
	// no more than reading the names once.
	lists map[string][]int
}

// fail records err unless an earlier error is already recorded.
func (p *params) fail(err error) {
	if p.err == nil {
		p.err = err
	}
}

// has reports whether name was sent, even with an empty value.
func (p *params) has(name string) bool {
	_, ok := p.values[name]
	return ok
}

// str returns the value of name, or "" when it is absent.
func (p *params) str(name string) string {
	if v := p.values[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// optStr returns the value of name, or nil when it is absent.
func (p *params) optStr(name string) *string {
	if !p.has(name) {
		return nil
	}
	v := p.str(name)
	return &v
}

// optBool returns the boolean name, or nil when it is absent.
func (p *params) optBool(name string) *bool {
	if !p.has(name) {
		return nil
	}
	v := p.boolean(name)
	return &v
}

// boolean returns the value of name, false when absent. EC2 spells
// booleans true and false; any other value is InvalidParameterValue.
func (p *params) boolean(name string) bool {
	v, ok := p.values[name]
	if !ok || len(v) == 0 {
		return false
	}
	switch {
	case strings.EqualFold(v[0], "true"):
		return true
	case strings.EqualFold(v[0], "false"):
		return false
	}
	p.fail(cloud.InvalidValue(name, v[0], "Expected a boolean: true or false."))
	return false
}

// integer returns the value of name and whether it was sent. EC2
// integers are 32 bits; anything else is InvalidParameterValue.
func (p *params) integer(name string) (int, bool) {
	v, ok := p.values[name]
	if !ok || len(v) == 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v[0]), 10, 32)
	if err != nil {
		p.fail(cloud.InvalidValue(name, v[0], "Expected an integer."))
		return 0, false
	}
	return int(n), true
}

// required returns the integer name, recording MissingParameter when it
// is absent.
func (p *params) required(name string) int {
	n, ok := p.integer(name)
	if !ok && !p.has(name) {
		p.fail(cloud.MissingParameter(name))
	}
	return n
}

// maxResults returns MaxResults, zero when absent, recording
// InvalidParameterValue when it lies outside lo..hi.
func (p *params) maxResults(lo, hi int) int {
	const name = "MaxResults"
	n, ok := p.integer(name)
	if ok && (n < lo || n > hi) {
		p.fail(cloud.InvalidValue(name, strconv.Itoa(n),
			"Expecting a value between "+strconv.Itoa(lo)+" and "+strconv.Itoa(hi)+"."))
		return 0
	}
	return n
}

// indexes returns the distinct indexes N of the parameters named
// prefix.N or prefix.N.something, in increasing order. Clients number
// from 1 without gaps, but a hand-written request may start anywhere or
// skip numbers; the order of the indexes is what counts. A name whose N
// is not a number is not a list member and is ignored, like any
// parameter minicloud does not know. A list longer than maxListMembers
// records InvalidParameterValue and is cut there.
func (p *params) indexes(prefix string) []int {
	if p.lists == nil {
		p.lists = listIndexes(p.values)
	}
	out := p.lists[prefix]
	if len(out) > maxListMembers {
		p.fail(tooManyMembers(prefix))
		return out[:maxListMembers]
	}
	return out
}

// listIndexes finds every list member among the names in values: for
// each part of a name that is a number, the name up to that part is a
// list's prefix and the number an index in it. An index is a number,
// whatever its size, so InstanceId.999999999 costs what InstanceId.1
// costs.
func listIndexes(values url.Values) map[string][]int {
	lists := map[string][]int{}
	for key := range values {
		for i := 0; i < len(key); i++ {
			if key[i] != '.' {
				continue
			}
			j := i + 1
			for j < len(key) && key[j] != '.' {
				j++
			}
			if n, ok := atoi(key[i+1 : j]); ok {
				lists[key[:i]] = append(lists[key[:i]], n)
			}
			i = j - 1
		}
	}
	for prefix, ns := range lists {
		slices.Sort(ns)
		lists[prefix] = slices.Compact(ns)
	}
	return lists
}

// list returns the values of prefix.1, prefix.2, … in index order.
func (p *params) list(prefix string) []string {
	var out []string
	for _, n := range p.indexes(prefix) {
		name := member(prefix, n)
		if p.has(name) {
			out = append(out, p.str(name))
		}
	}
	return out
}

// filters returns Filter.N, each with Filter.N.Name and its
// Filter.N.Value.M values.
func (p *params) filters() []cloud.Filter {
	var out []cloud.Filter
	values := 0
	for _, n := range p.indexes("Filter") {
		prefix := member("Filter", n)
		name := p.str(prefix + ".Name")
		if name == "" {
			p.fail(cloud.MissingParameter(prefix + ".Name"))
			return nil
		}
		f := cloud.Filter{Name: name, Values: p.list(prefix + ".Value")}
		if err := checkFilterValues(f.Values, &values); err != nil {
			p.fail(err)
			return nil
		}
		out = append(out, f)
	}
	return out
}

// tags returns prefix.N.Key and prefix.N.Value pairs: Tag.N for
// CreateTags, TagSpecification.N.Tag.M inside RunInstances.
func (p *params) tags(prefix string) []cloud.Tag {
	var out []cloud.Tag
	for _, n := range p.indexes(prefix) {
		m := member(prefix, n)
		out = append(out, cloud.Tag{
			Key:   p.str(m + ".Key"),
			Value: p.str(m + ".Value"),
		})
	}
	return out
}

// userData returns UserData as sent, recording InvalidParameterValue
// when it is not base64, as EC2 requires.
func (p *params) userData() string {
	v := p.str("UserData")
	if v == "" {
		return ""
	}
	clean := strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, v)
	if _, err := base64.StdEncoding.DecodeString(clean); err != nil {
		if _, err := base64.RawStdEncoding.DecodeString(clean); err != nil {
			p.fail(cloud.Errorf("InvalidUserData.Malformed",
				"Invalid BASE64 encoding of user data."))
		}
	}
	return v
}

// member returns the name of the n-th member of the list prefix.
func member(prefix string, n int) string {
	return prefix + "." + strconv.Itoa(n)
}

// atoi parses a list index: decimal digits only, no sign, no spaces.
func atoi(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
