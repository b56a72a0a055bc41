// Package loopback gives aws-sdk-go-v2 an HTTP client that holds up
// against a server on the same machine, such as minicloud under test.
//
// The SDK closes the body of a request as soon as the response's headers
// arrive. On loopback minicloud answers so fast that net/http's writer may
// not yet have finished with that body: its last read then fails, and
// net/http closes the connection under the response being read ("use of
// closed network connection"). Sending each request with a copy of its
// body leaves the SDK's close nothing to break. Real EC2 is far enough
// away that the race does not show, and the SDK's default retryer retries
// it; tests that turn retries off to see each answer need this client.
package loopback

import (
	"bytes"
	"io"
	"net/http"
)

// NewClient returns an HTTP client whose transport sends each request with
// a body of its own.
func NewClient() *http.Client {
	return &http.Client{Transport: BodyCopier{Next: http.DefaultTransport.(*http.Transport).Clone()}}
}

// BodyCopier is an http.RoundTripper that hands Next a copy of each
// request's body.
type BodyCopier struct{ Next http.RoundTripper }

// RoundTrip reads the request's body, closes it, and sends the request
// on with a copy.
func (c BodyCopier) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return c.Next.RoundTrip(req)
	}
	body, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, err
	}
	out := req.Clone(req.Context())
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	return c.Next.RoundTrip(out)
}
