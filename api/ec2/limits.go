package ec2

import (
	"unicode/utf8"

	"github.com/minicloud/minicloud/internal/cloud"
)

// The bounds a request's parameters must keep, so that no request makes
// minicloud do unbounded work. The body limit (Options.MaxBodyBytes)
// bounds the request as a whole; these bound its lists. Tags have EC2's
// own limits, which the service checks: 50 a resource, keys of 128 and
// values of 256 characters.
const (
	// maxListMembers bounds every numbered list: InstanceId.N,
	// ResourceId.N, Filter.N, Tag.N and the rest.
	maxListMembers = 1000

	// maxFilterValues and maxFilterValueLen are EC2's limits on the
	// values of all the filters of one call.
	maxFilterValues   = 200
	maxFilterValueLen = 255
)

// codeFilterLimitExceeded is EC2's code for a call whose filters hold too
// many values, or a value too long.
const codeFilterLimitExceeded = "FilterLimitExceeded"

// tooManyMembers reports a list longer than maxListMembers.
func tooManyMembers(prefix string) *cloud.Error {
	return cloud.Errorf(cloud.ErrCodeInvalidParameterValue,
		"The request lists more than %d members of %s; the maximum is %d.",
		maxListMembers, prefix, maxListMembers)
}

// checkFilterValues adds the values of one filter to *count, the values
// of the call's filters so far, and reports FilterLimitExceeded when the
// call then holds too many or one is too long, in EC2's words.
func checkFilterValues(values []string, count *int) error {
	*count += len(values)
	if *count > maxFilterValues {
		return cloud.Errorf(codeFilterLimitExceeded,
			"The maximum number of filter values specified on a single call is %d",
			maxFilterValues)
	}
	for _, v := range values {
		if utf8.RuneCountInString(v) > maxFilterValueLen {
			return cloud.Errorf(codeFilterLimitExceeded,
				"The maximum length for a filter value is %d characters", maxFilterValueLen)
		}
	}
	return nil
}
