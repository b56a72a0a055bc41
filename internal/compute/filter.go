package compute

import (
	"encoding/base64"
	"strings"

	"github.com/minicloud/minicloud/internal/cloud"
)

// compileFilters turns Describe filters into one predicate. fields maps
// each filter name to the attribute values it tests; tagsOf, when not nil,
// enables tag:KEY, tag-key and tag-value. A resource matches when every
// filter matches and a filter matches when any value of the attribute
// matches any of its patterns. An unknown name is InvalidParameterValue.
func compileFilters[T any](filters []cloud.Filter, fields map[string]func(T) []string,
	tagsOf func(T) cloud.Tags,
) (func(T) bool, error) {
	var preds []func(T) bool
	for _, f := range filters {
		if f.Name == "" {
			return nil, cloud.MissingParameter("Filter.Name")
		}
		if len(f.Values) == 0 {
			return nil, cloud.Errorf(cloud.ErrCodeInvalidParameterValue,
				"The filter '%s' must have at least one value", f.Name)
		}
		get, err := filterField(f.Name, fields, tagsOf)
		if err != nil {
			return nil, err
		}
		patterns := f.Values
		preds = append(preds, func(v T) bool {
			for _, attr := range get(v) {
				if cloud.MatchAny(patterns, attr) {
					return true
				}
			}
			return false
		})
	}
	return func(v T) bool {
		for _, p := range preds {
			if !p(v) {
				return false
			}
		}
		return true
	}, nil
}

// filterField returns the attribute getter of one filter name.
func filterField[T any](name string, fields map[string]func(T) []string,
	tagsOf func(T) cloud.Tags,
) (func(T) []string, error) {
	if get, ok := fields[name]; ok {
		return get, nil
	}
	if tagsOf != nil {
		switch {
		case strings.HasPrefix(name, "tag:"):
			key := name[len("tag:"):]
			return func(v T) []string {
				if val, ok := tagsOf(v)[key]; ok {
					return []string{val}
				}
				return nil
			}, nil
		case name == "tag-key" || name == "tag-value":
			return func(v T) []string {
				var out []string
				for k, val := range tagsOf(v) {
					if name == "tag-key" {
						out = append(out, k)
					} else {
						out = append(out, val)
					}
				}
				return out
			}, nil
		}
	}
	return nil, cloud.Errorf(cloud.ErrCodeInvalidParameterValue,
		"The filter '%s' is invalid", name)
}

// one wraps a single attribute value for a filter field.
func one(s string) []string { return []string{s} }

// checkMaxResults checks an optional MaxResults against EC2's range.
func checkMaxResults(n, lo, hi int) error {
	if n == 0 || lo <= n && n <= hi {
		return nil
	}
	return cloud.Errorf(cloud.ErrCodeInvalidParameterValue,
		"Value ( %d ) for parameter maxResults is invalid. Parameter must be between %d and %d.",
		n, lo, hi)
}

// encodeToken makes an opaque NextToken from the sort key of the last
// item returned.
func encodeToken(key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("v1/" + key))
}

// decodeToken returns the sort key a NextToken resumes after, "" for none.
func decodeToken(tok string) (string, error) {
	if tok == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || !strings.HasPrefix(string(b), "v1/") || len(b) == 3 {
		return "", cloud.Errorf(cloud.ErrCodeInvalidNextToken,
			"The specified NextToken is not valid.")
	}
	return string(b[3:]), nil
}

// paginate returns the items of all, which are sorted by key, that come
// after the key after: at most max of them (all when max is 0), and the
// token for the next page, empty on the last.
func paginate[T any](all []T, after string, max int, key func(T) string) ([]T, string) {
	start := 0
	if after != "" {
		for start < len(all) && key(all[start]) <= after {
			start++
		}
	}
	rest := all[start:]
	if max == 0 || len(rest) <= max {
		return rest, ""
	}
	return rest[:max], encodeToken(key(rest[max-1]))
}

// startListing begins a Describe call that pages: it compiles the
// filters, then checks MaxResults, decodes NextToken and ends a dry run,
// in the order EC2 checks them. It returns the filter predicate and the
// sort key the page resumes after.
func startListing[T any](filters []cloud.Filter, fields map[string]func(T) []string,
	tagsOf func(T) cloud.Tags, max int, token string, dryRun bool,
) (match func(T) bool, after string, err error) {
	match, err = compileFilters(filters, fields, tagsOf)
	if err != nil {
		return nil, "", err
	}
	after, err = pageArgs(max, token, dryRun)
	if err != nil {
		return nil, "", err
	}
	return match, after, nil
}
