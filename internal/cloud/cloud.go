// Package cloud holds minicloud's domain: the EC2 resources it manages
// (instances, reservations, images, instance types, regions and zones), the
// errors it reports with their EC2 codes, and the Service interface through
// which the API reaches them.
//
// Every other part of minicloud shares these types. The API adapter in
// api/ec2 turns requests into the inputs declared here and the results back
// into XML; the compute package implements Service; the store persists the
// resources. None of those adapters import each other.
package cloud

import (
	"context"
	"sort"
)

// DefaultRegion is the region minicloud reports when none is configured.
const DefaultRegion = "us-east-1"

// DefaultAccountID is the owner of every resource when the credentials
// configured do not name an account.
const DefaultAccountID = "123456789012"

// Tag is a key and value pair attached to a resource.
type Tag struct {
	Key   string
	Value string
}

// Tags is a resource's set of tags, keyed by tag key.
type Tags map[string]string

// Sorted returns the tags ordered by key, the order minicloud answers in.
func (t Tags) Sorted() []Tag {
	out := make([]Tag, 0, len(t))
	for k, v := range t {
		out = append(out, Tag{Key: k, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// Clone returns a copy of t that shares nothing with it.
func (t Tags) Clone() Tags {
	if t == nil {
		return nil
	}
	out := make(Tags, len(t))
	for k, v := range t {
		out[k] = v
	}
	return out
}

// Filter is one Filter.N parameter of a Describe call: the resource matches
// when the named attribute matches any of the values. Values may hold the
// wildcards '*' and '?'.
type Filter struct {
	Name   string
	Values []string
}

// Caller identifies who signed a request.
type Caller struct {
	AccessKeyID string
	AccountID   string
}

type callerKey struct{}

// WithCaller returns a context carrying the caller of a request.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller stored in ctx, or a caller in the default
// account when there is none.
func CallerFrom(ctx context.Context) Caller {
	if c, ok := ctx.Value(callerKey{}).(Caller); ok {
		return c
	}
	return Caller{AccountID: DefaultAccountID}
}
