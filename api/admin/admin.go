// Package admin is minicloud's operator API: a small JSON API served on the
// same listener as EC2's, under Prefix, a path EC2 never uses. It shows the
// state of each ESXi host, and why a host cannot be driven, and it lets an
// operator ask minicloud to contact a held host once more.
//
// Requests are signed with Signature Version 4 for EC2 with the keys the
// EC2 API accepts, so the credentials an operator already has for the aws
// CLI work here too; Client signs them.
//
//	GET  /minicloud/v1/hosts               {"hosts": [Host, ...]}
//	POST /minicloud/v1/hosts/NAME/retry    202 {"host": Host}
//
// Errors are {"error": {"code": "...", "message": "..."}} with the HTTP
// status EC2 gives the same code.
package admin

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/minicloud/minicloud/api/ec2"
	"github.com/minicloud/minicloud/internal/cloud"
)

// Prefix is the path the admin API is served under.
const Prefix = "/minicloud/v1/"

// Error codes of the admin API, besides EC2's authentication codes.
const (
	CodeHostNotFound     = "HostNotFound"
	CodeNotFound         = "NotFound"
	CodeMethodNotAllowed = "MethodNotAllowed"
)

// maxBody bounds a request body; the admin API takes none.
const maxBody = 64 << 10

// Service is what the admin API asks of minicloud; *compute.Service
// implements it.
type Service interface {
	// Hosts returns every configured host, in name order.
	Hosts() []cloud.Host
	// RetryHost asks minicloud to contact the named host once more.
	RetryHost(name string) error
}

// Options configures NewHandler.
type Options struct {
	// Region and Credentials are what requests must be signed for, as
	// for the EC2 API. Credentials is required.
	Region      string
	Credentials ec2.Credentials

	// Now is the clock signatures are checked against; nil means
	// time.Now.
	Now func() time.Time

	// Logger receives one Info record per retry asked for; nil discards.
	Logger *slog.Logger
}

// handler serves the admin API.
type handler struct {
	svc  Service
	auth ec2.Options
	log  *slog.Logger
}

// NewHandler returns the admin API over svc. Mount it at Prefix. It panics
// when svc or opts.Credentials is nil.
func NewHandler(svc Service, opts Options) http.Handler {
	if svc == nil || opts.Credentials == nil {
		panic("admin: NewHandler needs a service and credentials")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &handler{
		svc:  svc,
		auth: ec2.Options{Region: opts.Region, Credentials: opts.Credentials, Now: opts.Now},
		log:  log,
	}
}

// ServeHTTP authenticates the request, then routes it.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Check the signature over the whole body.
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		writeError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge",
			"The request body is too large.")
		return
	}
	caller, err := ec2.Authenticate(r, body, h.auth)
	if err != nil {
		var ce *cloud.Error
		if errors.As(err, &ce) {
			writeError(w, ec2.HTTPStatus(ce.Code), ce.Code, ce.Message)
			return
		}
		writeError(w, http.StatusInternalServerError, cloud.ErrCodeInternalError, err.Error())
		return
	}

	// Route: hosts, or hosts/NAME/retry.
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, Prefix), "/")
	switch {
	case len(parts) == 1 && parts[0] == "hosts":
		if !allow(w, r, http.MethodGet) {
			return
		}
		h.hosts(w)
	case len(parts) == 3 && parts[0] == "hosts" && parts[2] == "retry":
		if !allow(w, r, http.MethodPost) {
			return
		}
		h.retry(w, parts[1], caller)
	default:
		writeError(w, http.StatusNotFound, CodeNotFound, "No such admin resource: "+r.URL.Path)
	}
}

// allow answers 405 unless r uses method.
func allow(w http.ResponseWriter, r *http.Request, method string) bool {
	if r.Method == method {
		return true
	}
	w.Header().Set("Allow", method)
	writeError(w, http.StatusMethodNotAllowed, CodeMethodNotAllowed,
		"Use "+method+" for "+r.URL.Path+".")
	return false
}

// hosts lists every host.
func (h *handler) hosts(w http.ResponseWriter) {
	hosts := h.svc.Hosts()
	out := hostList{Hosts: make([]Host, len(hosts))}
	for i, host := range hosts {
		out.Hosts[i] = fromCloud(host)
	}
	writeJSON(w, http.StatusOK, out)
}

// retry asks minicloud to contact the named host once more, and answers
// with the host as it is now: the attempt happens in the background.
func (h *handler) retry(w http.ResponseWriter, name string, caller cloud.Caller) {
	host, ok := h.find(name)
	if !ok {
		writeError(w, http.StatusNotFound, CodeHostNotFound, "No host is named "+name+".")
		return
	}
	if err := h.svc.RetryHost(name); err != nil {
		writeError(w, http.StatusInternalServerError, cloud.ErrCodeInternalError, err.Error())
		return
	}
	h.log.Info("host retry requested", "host", name, "access_key_id", caller.AccessKeyID)
	writeJSON(w, http.StatusAccepted, hostAnswer{Host: fromCloud(host)})
}

// find returns the named host.
func (h *handler) find(name string) (cloud.Host, bool) {
	for _, host := range h.svc.Hosts() {
		if host.Name == name {
			return host, true
		}
	}
	return cloud.Host{}, false
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"InternalError","message":"encode answer"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// writeError answers with an error document.
func writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, errorAnswer{Error: ErrorBody{Code: code, Message: message}})
}
