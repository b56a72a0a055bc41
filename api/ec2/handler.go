// Package ec2 is minicloud's EC2 Query protocol adapter: the HTTP face
// that the aws CLI, boto3 and the AWS SDKs talk to with --endpoint-url.
//
// It owns the wire and nothing else. For each request it checks the
// Signature Version 4 signature, decodes the form parameters into one of
// the cloud package's inputs, calls cloud.Service, and writes the result
// as EC2's XML, or the error as EC2's error document with the HTTP status
// EC2 uses for its code. Nothing below this package knows about HTTP or
// XML.
package ec2

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/minicloud/minicloud/internal/cloud"
)

// Credentials finds the secret behind an access key id, and the account
// that owns it. An empty account id means cloud.DefaultAccountID.
type Credentials interface {
	Lookup(accessKeyID string) (secret, accountID string, ok bool)
}

// Options configures the handler NewHandler returns.
type Options struct {
	// Region is the only region requests may be signed for, and the one
	// private DNS names are made in. Empty means cloud.DefaultRegion.
	Region string

	// Credentials holds the access keys the handler accepts. Required.
	Credentials Credentials

	// Now is the clock signatures are checked against; nil means
	// time.Now. Tests set it to check clock skew and expiry.
	Now func() time.Time

	// Logger receives one Debug record per request and an Error record
	// for each internal fault. Nil discards them.
	Logger *slog.Logger

	// MaxBodyBytes bounds a request body; a larger one is refused with
	// 413 before its signature is checked. Zero means 1 MiB.
	MaxBodyBytes int64

	// RequestsPerSecond is how many requests each access key may make a
	// second, on average, before it is answered RequestLimitExceeded;
	// Burst is how many it may make at once. Zero means no limit.
	RequestsPerSecond float64
	Burst             int
}

// The XML document's fixed parts.
const (
	xmlHeader      = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"
	xmlNamespace   = "http://ec2.amazonaws.com/doc/2016-11-15/"
	contentTypeXML = "text/xml;charset=UTF-8"
	defaultMaxBody = 1 << 20
)

// handler serves the EC2 Query protocol. It keeps no state between
// requests and is safe for concurrent use.
type handler struct {
	svc       cloud.Service
	region    string
	dnsSuffix string
	creds     Credentials
	now       func() time.Time
	log       *slog.Logger
	maxBody   int64
	throttle  *throttle // nil when requests are not limited
}

// NewHandler returns an http.Handler that answers EC2 Query requests by
// calling svc. It panics when svc or opts.Credentials is nil, since no
// request could then be answered.
func NewHandler(svc cloud.Service, opts Options) http.Handler {
	if svc == nil || opts.Credentials == nil {
		panic("ec2: NewHandler needs a service and credentials")
	}
	h := &handler{
		svc:     svc,
		region:  opts.Region,
		creds:   opts.Credentials,
		now:     opts.Now,
		log:     opts.Logger,
		maxBody: opts.MaxBodyBytes,
	}
	if h.region == "" {
		h.region = cloud.DefaultRegion
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.maxBody <= 0 {
		h.maxBody = defaultMaxBody
	}
	h.dnsSuffix = dnsSuffix(h.region)
	h.throttle = newThrottle(opts.RequestsPerSecond, opts.Burst, h.now)
	return h
}

// exchange is what the handler learns about one request as it goes, for
// the log record written at its end.
type exchange struct {
	id          string
	start       time.Time
	action      string
	accessKeyID string
	status      int
	code        string // the error code, when the answer is an error
	wroteHeader bool
}

// ServeHTTP answers one EC2 Query request.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	x := &exchange{id: uuid.NewString(), start: time.Now()}
	w.Header().Set("X-Amzn-Requestid", x.id)
	defer h.finish(r.Context(), w, x)
	h.serve(w, r, x)
}

// serve runs the steps of a request, answering with an error at the
// first that fails.
func (h *handler) serve(w http.ResponseWriter, r *http.Request, x *exchange) {
	// The Query protocol is a GET with a query string or a POST with a
	// form; other methods are the client's mistake.
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		h.fail(w, x, cloud.Errorf(codeMethodNotAllowed,
			"The HTTP method %s is not supported. Use GET or POST.", r.Method))
		return
	}
	body, err := h.readBody(r)
	if err != nil {
		h.fail(w, x, err)
		return
	}

	// Check who signed the request before looking at what it asks. A
	// malformed query string is reported once the signer is known.
	query, queryErr := url.ParseQuery(r.URL.RawQuery)
	caller, err := h.authenticate(r, query, body)
	if err != nil {
		h.fail(w, x, err)
		return
	}
	x.accessKeyID = caller.AccessKeyID
	if !h.throttle.allow(caller.AccessKeyID) {
		h.fail(w, x, errThrottled)
		return
	}
	if queryErr != nil {
		h.fail(w, x, cloud.Errorf(cloud.ErrCodeInvalidQueryParameter,
			"The query string is malformed."))
		return
	}

	// Find the action.
	p, err := parseParams(r, query, body)
	if err != nil {
		h.fail(w, x, err)
		return
	}
	x.action = p.str("Action")
	run, ok := actions[x.action]
	switch {
	case x.action == "":
		h.fail(w, x, cloud.Errorf(codeMissingAction,
			"The request must contain the parameter Action"))
		return
	case !ok:
		h.fail(w, x, cloud.Errorf(cloud.ErrCodeInvalidAction,
			"The action %s is not valid for this web service.", x.action))
		return
	}

	// Decode, call the service, answer.
	encode, err := run(cloud.WithCaller(r.Context(), caller), h.svc, p)
	if err != nil {
		h.fail(w, x, err)
		return
	}
	h.succeed(w, x, encode)
}

// readBody reads the request body, refusing one over the size limit.
func (h *handler) readBody(r *http.Request) ([]byte, error) {
	if r.ContentLength > h.maxBody {
		return nil, h.tooLarge()
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, h.maxBody+1))
	if err != nil {
		return nil, cloud.Errorf(cloud.ErrCodeInvalidParameter,
			"The request body could not be read.")
	}
	if int64(len(body)) > h.maxBody {
		return nil, h.tooLarge()
	}
	return body, nil
}

// tooLarge reports a body over the size limit.
func (h *handler) tooLarge() error {
	return cloud.Errorf(codeRequestTooLarge,
		"The request body exceeds the maximum of %d bytes.", h.maxBody)
}

// parseParams gathers the parameters from the query string and, for a
// form body, from the body too.
func parseParams(r *http.Request, values url.Values, body []byte) (*params, error) {
	if len(body) == 0 {
		return &params{values: values}, nil
	}

	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, cloud.Errorf(codeUnsupportedMediaType,
			"The content type %q is not supported. Send application/x-www-form-urlencoded.",
			r.Header.Get("Content-Type"))
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, cloud.Errorf(cloud.ErrCodeInvalidQueryParameter,
			"The request body is not a well-formed form.")
	}

	// A POST may carry parameters in its URL too; they count as well,
	// after the body's.
	for k, v := range values {
		form[k] = append(form[k], v...)
	}
	return &params{values: form}, nil
}

// succeed writes the response document, streaming it when it is large.
// A response that fits the buffer goes out with its Content-Length.
func (h *handler) succeed(w http.ResponseWriter, x *exchange, encode func(*encoder)) {
	w.Header().Set("Content-Type", contentTypeXML)
	x.status = http.StatusOK

	buf := bufPool.Get().(*[]byte)
	e := &encoder{
		xmlWriter: xmlWriter{buf: (*buf)[:0], out: &startWriter{w: w, x: x}},
		dnsSuffix: h.dnsSuffix,
		region:    h.region,
	}
	root := x.action + "Response"
	e.raw(xmlHeader)
	e.raw("<" + root + ` xmlns="` + xmlNamespace + `">`)
	e.text("requestId", x.id)
	encode(e)
	e.end(root)
	if !x.wroteHeader {
		w.Header().Set("Content-Length", strconv.Itoa(len(e.buf)))
	}
	e.flush()

	*buf = e.buf[:0]
	bufPool.Put(buf)
}

// startWriter sends the 200 status with the first piece of a response.
type startWriter struct {
	w http.ResponseWriter
	x *exchange
}

func (s *startWriter) Write(b []byte) (int, error) {
	if !s.x.wroteHeader {
		s.x.wroteHeader = true
		s.w.WriteHeader(http.StatusOK)
	}
	return s.w.Write(b)
}

// fail answers with err. An error without an EC2 code is a fault of
// minicloud's: it is logged here, once, and the client sees only
// InternalError and the request id.
func (h *handler) fail(w http.ResponseWriter, x *exchange, err error) {
	var e *cloud.Error
	if !errors.As(err, &e) || e.Code == "" {
		h.log.Error("ec2 request failed",
			"request_id", x.id, "action", x.action, "err", err)
		e = errInternal
	}
	x.code = e.Code
	x.wroteHeader = true
	x.status = writeError(w, x.id, e)
}

// finish recovers from a panic in an action, turning it into
// InternalError while nothing has been sent, and logs the request.
func (h *handler) finish(ctx context.Context, w http.ResponseWriter, x *exchange) {
	if p := recover(); p != nil {
		if p == http.ErrAbortHandler {
			panic(p)
		}
		h.log.Error("ec2 request panicked", "request_id", x.id,
			"action", x.action, "panic", p, "stack", string(debug.Stack()))
		if x.wroteHeader {
			// Part of the answer is already on the wire: cut the
			// connection so the client cannot take it for a whole one.
			panic(http.ErrAbortHandler)
		}
		h.fail(w, x, errInternal)
	}

	if h.log.Enabled(ctx, slog.LevelDebug) {
		h.log.LogAttrs(ctx, slog.LevelDebug, "ec2 request",
			slog.String("action", x.action),
			slog.Int("status", x.status),
			slog.Duration("duration", time.Since(x.start)),
			slog.String("request_id", x.id),
			slog.String("access_key_id", x.accessKeyID),
			slog.String("error_code", x.code))
	}
}
