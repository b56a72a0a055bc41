package reliability_test

import (
	"bytes"
	"io"
	"net/http"
)

// loopbackClient is the HTTP client the tests give aws-sdk-go-v2, as
// cmd/minicloud's tests do. The SDK closes the body of a request as soon
// as the response's headers arrive. On loopback minicloud answers so fast
// that net/http's writer may not yet have finished with that body: its
// last read then fails with io.EOF, and net/http closes the connection
// under the response being read ("use of closed network connection").
// Sending each request with a copy of its body leaves the SDK's close
// nothing to break. Real EC2 is far enough away that the race does not
// show.
var loopbackClient = &http.Client{
	Transport: bodyCopier{http.DefaultTransport.(*http.Transport).Clone()},
}

// bodyCopier sends each request with a body of its own.
type bodyCopier struct{ next http.RoundTripper }

func (c bodyCopier) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return c.next.RoundTrip(req)
	}
	body, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, err
	}
	out := req.Clone(req.Context())
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	return c.next.RoundTrip(out)
}
