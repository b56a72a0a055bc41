package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// The account every target is called with: minicloud's well-known test
// pair, which moto and the ceiling accept as they accept any.
const (
	accessKeyID     = "test"
	secretAccessKey = "test"
	region          = "us-east-1"
	apiVersion      = "2016-11-15"
)

// endpoint is one EC2 endpoint and the two clients that call it: the
// SDK's, which parses every answer, and the raw one, which signs with the
// SDK's signer and reads answers without parsing them.
type endpoint struct {
	name string
	url  string
	sdk  *ec2.Client
	raw  *rawClient
	rec  *recorder // keeps answers for the ceiling when on
}

// newEndpoint returns the clients for the EC2 endpoint at base, with room
// for clients connections kept open. Requests and answers pass through
// rec, a new one when rec is nil.
func newEndpoint(name, base string, clients int, rec *recorder) *endpoint {
	tr := &http.Transport{
		MaxIdleConns:        2 * clients,
		MaxIdleConnsPerHost: 2 * clients,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	if rec == nil {
		rec = newRecorder()
	}
	rec.next = tr
	hc := &http.Client{Transport: rec}
	creds := aws.Credentials{AccessKeyID: accessKeyID, SecretAccessKey: secretAccessKey}
	return &endpoint{
		name: name,
		url:  base,
		sdk: ec2.New(ec2.Options{
			Region:       region,
			BaseEndpoint: aws.String(base),
			Credentials:  credentials.StaticCredentialsProvider{Value: creds},
			HTTPClient:   hc,
			Retryer:      aws.NopRetryer{},
		}),
		raw: &rawClient{url: base, http: hc, signer: v4.NewSigner(), creds: creds},
		rec: rec,
	}
}

// close drops the endpoint's idle connections.
func (e *endpoint) close() { e.raw.http.CloseIdleConnections() }

// rawClient sends signed EC2 Query requests and reads the answers
// without parsing them, to show what the server costs apart from the
// SDK's XML deserializer.
type rawClient struct {
	url    string
	http   *http.Client
	signer *v4.Signer
	creds  aws.Credentials
}

// rawAnswer is what the raw client keeps of an answer: its size and its
// first and last bytes, where a listing's nextToken is (minicloud and EC2
// put it last, moto first).
type rawAnswer struct {
	size       int64
	head, tail []byte
}

// nextToken returns the answer's nextToken, or "".
func (a rawAnswer) nextToken() string {
	if t := nextToken(a.tail); t != "" {
		return t
	}
	return nextToken(a.head)
}

// tailSize is how much of the end of an answer the raw client keeps.
const tailSize = 4 << 10

// call signs and sends form as a POST, reads the answer to its end and
// returns its size, head and tail. An answer other than 200 is an error.
func (c *rawClient) call(ctx context.Context, form url.Values) (rawAnswer, error) {
	// Sign the form as the SDK would.
	body := form.Encode()
	sum := sha256.Sum256([]byte(body))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url+"/", strings.NewReader(body))
	if err != nil {
		return rawAnswer{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	err = c.signer.SignHTTP(ctx, c.creds, req, hex.EncodeToString(sum[:]), "ec2", region, time.Now())
	if err != nil {
		return rawAnswer{}, fmt.Errorf("sign: %w", err)
	}

	// Read the answer through, keeping only its tail.
	resp, err := c.http.Do(req)
	if err != nil {
		return rawAnswer{}, err
	}
	defer resp.Body.Close()
	head := make([]byte, tailSize)
	h, err := io.ReadFull(resp.Body, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return rawAnswer{}, err
	}
	head = head[:h]
	t := &tailWriter{}
	t.Write(head)
	n, err := io.Copy(t, resp.Body)
	if err != nil {
		return rawAnswer{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return rawAnswer{}, fmt.Errorf("%s: HTTP %d: %s", form.Get("Action"), resp.StatusCode,
			t.bytes())
	}
	return rawAnswer{size: int64(h) + n, head: head, tail: t.bytes()}, nil
}

// tailWriter keeps the last tailSize bytes written to it.
type tailWriter struct {
	buf []byte
}

func (t *tailWriter) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) >= tailSize {
		t.buf = append(t.buf[:0], p[len(p)-tailSize:]...)
		return n, nil
	}
	if over := len(t.buf) + len(p) - tailSize; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	t.buf = append(t.buf, p...)
	return n, nil
}

func (t *tailWriter) bytes() []byte { return t.buf }

// nextToken finds the nextToken element in the tail of a listing, or "".
func nextToken(tail []byte) string {
	const open, close = "<nextToken>", "</nextToken>"
	i := bytes.LastIndex(tail, []byte(open))
	if i < 0 {
		return ""
	}
	rest := tail[i+len(open):]
	j := bytes.Index(rest, []byte(close))
	if j < 0 {
		return ""
	}
	return unescapeXML(string(rest[:j]))
}

// unescapeXML undoes the five predefined XML entities.
func unescapeXML(s string) string {
	if !strings.Contains(s, "&") {
		return s
	}
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&quot;", `"`, "&apos;", "'",
		"&amp;", "&").Replace(s)
}

// recorder is an http.RoundTripper that hands the transport a copy of
// each request's form, and keeps the first answer a target gives to each
// kind of request while it is on, so the ceiling can send the same bytes
// back.
//
// The copy works around a race in the SDK: it closes a request's body
// once the answer's headers arrive, and the transport, which reads the
// body once more to see its end after the server has answered, then
// fails the write and closes the connection under the answer's body
// ("use of closed network connection" half-way through a large listing).
type recorder struct {
	next http.RoundTripper

	mu     sync.Mutex        // guards the fields that follow
	on     bool              // record answers now
	bodies map[string][]byte // by replayKey
}

func newRecorder() *recorder { return &recorder{bodies: map[string][]byte{}} }

// setOn starts or stops recording.
func (r *recorder) setOn(on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.on = on
}

// RoundTrip passes a copy of req on and, while recording, keeps the
// answer under the key of the request's form.
func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return r.next.RoundTrip(req)
	}
	form, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, err
	}
	req = req.Clone(req.Context())
	req.Body = io.NopCloser(bytes.NewReader(form))
	req.ContentLength = int64(len(form))

	r.mu.Lock()
	on := r.on
	r.mu.Unlock()
	resp, err := r.next.RoundTrip(req)
	if !on || err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}

	// Keep the answer, and hand on a copy.
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	key := replayKey(form)
	r.mu.Lock()
	if _, ok := r.bodies[key]; !ok {
		r.bodies[key] = body
	}
	r.mu.Unlock()
	return resp, nil
}

// recorded returns a copy of the answers kept so far.
func (r *recorder) recorded() map[string][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string][]byte, len(r.bodies))
	for k, v := range r.bodies {
		out[k] = v
	}
	return out
}

// replayKey names the kind of request a form makes: its action, page size
// and page token. Requests with the same key get the same answer from
// the ceiling.
func replayKey(form []byte) string {
	v, err := url.ParseQuery(string(form))
	if err != nil {
		return ""
	}
	return v.Get("Action") + "|" + v.Get("MaxResults") + "|" + v.Get("NextToken")
}
