package ec2

import (
	"net/http"
	"strconv"

	"github.com/minicloud/minicloud/internal/cloud"
)

// Codes the adapter answers with about the HTTP request itself, which the
// domain never sees.
const (
	codeMissingAction        = "MissingAction"
	codeMethodNotAllowed     = "UnsupportedHttpVerb"
	codeUnsupportedMediaType = "UnsupportedMediaType"
	codeRequestTooLarge      = "RequestEntityTooLarge"
)

// statusByCode is the one place an EC2 error code becomes an HTTP status.
// A code not listed is a client error, 400, as most of EC2's are.
var statusByCode = map[string]int{
	cloud.ErrCodeAuthFailure:                http.StatusUnauthorized,
	cloud.ErrCodeSignatureDoesNotMatch:      http.StatusForbidden,
	cloud.ErrCodeUnauthorizedOperation:      http.StatusForbidden,
	cloud.ErrCodeMissingAuthenticationToken: http.StatusForbidden,
	cloud.ErrCodeDryRunOperation:            http.StatusPreconditionFailed,
	cloud.ErrCodeInsufficientCapacity:       http.StatusInternalServerError,
	cloud.ErrCodeInternalError:              http.StatusInternalServerError,
	cloud.ErrCodeRequestLimitExceeded:       http.StatusServiceUnavailable,
	cloud.ErrCodeServiceUnavailable:         http.StatusServiceUnavailable,
	codeMethodNotAllowed:                    http.StatusMethodNotAllowed,
	codeUnsupportedMediaType:                http.StatusUnsupportedMediaType,
	codeRequestTooLarge:                     http.StatusRequestEntityTooLarge,
}

// statusOf returns the HTTP status EC2 answers code with.
func statusOf(code string) int {
	if s, ok := statusByCode[code]; ok {
		return s
	}
	return http.StatusBadRequest
}

// errInternal is what a client sees of a fault inside minicloud. The
// cause is logged with the request id, never sent.
var errInternal = &cloud.Error{
	Code:    cloud.ErrCodeInternalError,
	Message: "An internal error has occurred",
}

// writeError writes EC2's error document. Unlike a success response it
// has no namespace and spells the id RequestID.
func writeError(w http.ResponseWriter, requestID string, e *cloud.Error) int {
	status := statusOf(e.Code)

	buf := bufPool.Get().(*[]byte)
	defer bufPool.Put(buf)
	b := (*buf)[:0]
	b = append(b, xmlHeader...)
	b = append(b, "<Response><Errors><Error><Code>"...)
	b = appendEscaped(b, e.Code)
	b = append(b, "</Code><Message>"...)
	b = appendEscaped(b, e.Message)
	b = append(b, "</Message></Error></Errors><RequestID>"...)
	b = appendEscaped(b, requestID)
	b = append(b, "</RequestID></Response>"...)
	*buf = b

	h := w.Header()
	h.Set("Content-Type", contentTypeXML)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
	return status
}
