package ec2

import (
	"net/http"
	"net/url"
	"time"

	"github.com/minicloud/minicloud/internal/cloud"
)

// Authenticate checks the Signature Version 4 signature of r, whose body
// the caller has read into body, exactly as the EC2 handler checks its
// requests: signed for EC2 in opts.Region, with a key opts.Credentials
// knows, within fifteen minutes of opts.Now. It lets minicloud's other
// HTTP endpoints accept the keys and tools EC2 clients already have. It
// returns who signed r, or a *cloud.Error with EC2's code: AuthFailure,
// SignatureDoesNotMatch, RequestExpired, IncompleteSignature, or
// MissingParameter for an unsigned request.
func Authenticate(r *http.Request, body []byte, opts Options) (cloud.Caller, error) {
	h := &handler{region: opts.Region, creds: opts.Credentials, now: opts.Now}
	if h.region == "" {
		h.region = cloud.DefaultRegion
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.creds == nil {
		return cloud.Caller{}, &cloud.Error{Code: cloud.ErrCodeAuthFailure, Message: msgUnknownKey}
	}
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		query = url.Values{}
	}
	return h.authenticate(r, query, body)
}

// HTTPStatus returns the HTTP status EC2 answers an error code with.
func HTTPStatus(code string) int { return statusOf(code) }
