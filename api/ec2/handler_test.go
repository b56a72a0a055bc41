package ec2

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/minicloud/minicloud/internal/cloud"
	"github.com/minicloud/minicloud/internal/syncbuf"
)

// withLog sends the handler's log to buf.
func withLog(buf *syncbuf.Buffer) func(*Options) {
	return func(o *Options) {
		o.Logger = slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
}

func TestHandler_Protocol(t *testing.T) {
	h := newTestHandler(t, newFake())

	t.Run("MissingAction", func(t *testing.T) {
		rec := call(t, h, "", nil)
		wantError(t, rec, 400, "MissingAction")
	})

	t.Run("InvalidAction", func(t *testing.T) {
		doc := wantError(t, call(t, h, "LaunchRocket", nil), 400, cloud.ErrCodeInvalidAction)
		if want := "The action LaunchRocket is not valid for this web service."; doc.Message != want {
			t.Errorf("message %q, want %q", doc.Message, want)
		}
	})

	t.Run("OtherVersion", func(t *testing.T) {
		rec := call(t, h, "DescribeRegions", url.Values{"Version": {"2014-10-01"}})
		wantOK(t, rec)
	})

	t.Run("GET", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodGet,
			"http://ec2.test/?Action=DescribeRegions&Version=2016-11-15", nil)
		goodSigner.sign(t, req, "")
		body := wantOK(t, serve(h, req))
		if !bytes.Contains(body, []byte("<DescribeRegionsResponse")) {
			t.Errorf("unexpected body %s", body)
		}
	})

	t.Run("WrongMethod", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodPut, "http://ec2.test/?Action=DescribeRegions", nil)
		goodSigner.sign(t, req, "")
		rec := serve(h, req)
		wantError(t, rec, http.StatusMethodNotAllowed, codeMethodNotAllowed)
		if rec.Header().Get("Allow") != "GET, POST" {
			t.Errorf("Allow %q", rec.Header().Get("Allow"))
		}
	})

	t.Run("WrongContentType", func(t *testing.T) {
		body := `{"Action":"DescribeRegions"}`
		req := httptest.NewRequest(http.MethodPost, "http://ec2.test/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		goodSigner.sign(t, req, body)
		wantError(t, serve(h, req), http.StatusUnsupportedMediaType, codeUnsupportedMediaType)
	})

	t.Run("MalformedBody", func(t *testing.T) {
		body := "Action=DescribeRegions&bad=%zz"
		req := httptest.NewRequest(http.MethodPost, "http://ec2.test/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		goodSigner.sign(t, req, body)
		wantError(t, serve(h, req), 400, cloud.ErrCodeInvalidQueryParameter)
	})

	t.Run("BodyTooLarge", func(t *testing.T) {
		small := newTestHandler(t, newFake(), func(o *Options) { o.MaxBodyBytes = 64 })
		rec := call(t, small, "DescribeRegions", url.Values{"Pad": {strings.Repeat("x", 100)}})
		wantError(t, rec, http.StatusRequestEntityTooLarge, codeRequestTooLarge)
	})

	t.Run("RequestIDHeader", func(t *testing.T) {
		rec := call(t, h, "DescribeRegions", nil)
		id := rec.Header().Get("x-amzn-RequestId")
		got, _ := element(t, wantOK(t, rec), "requestId")
		if id == "" || got != id {
			t.Errorf("header %q, body requestId %q: want the same, non-empty", id, got)
		}
		if rec.Header().Get("Content-Length") != fmt.Sprint(rec.Body.Len()) {
			t.Errorf("Content-Length %q for %d bytes", rec.Header().Get("Content-Length"), rec.Body.Len())
		}
	})
}

// TestHandler_Errors checks that service errors become EC2's status and
// document, and that internal faults are logged once and not leaked.
func TestHandler_Errors(t *testing.T) {
	for _, tt := range []struct {
		code   string
		status int
	}{
		{cloud.ErrCodeInvalidInstanceIDNotFound, 400},
		{cloud.ErrCodeIncorrectInstanceState, 400},
		{cloud.ErrCodeDryRunOperation, 412},
		{cloud.ErrCodeUnauthorizedOperation, 403},
		{cloud.ErrCodeInsufficientCapacity, 500},
		{cloud.ErrCodeRequestLimitExceeded, 503},
		{cloud.ErrCodeServiceUnavailable, 503},
		{cloud.ErrCodeInternalError, 500},
		{cloud.ErrCodeAuthFailure, 401},
	} {
		t.Run(tt.code, func(t *testing.T) {
			fake := newFake()
			fake.err = fmt.Errorf("wrapped: %w", cloud.Errorf(tt.code, "detail for %s", tt.code))
			rec := call(t, newTestHandler(t, fake), "StopInstances", form("InstanceId.1", "i-1"))
			doc := wantError(t, rec, tt.status, tt.code)
			if doc.Message != "detail for "+tt.code {
				t.Errorf("message %q", doc.Message)
			}
		})
	}

	t.Run("NotACloudError", func(t *testing.T) {
		var logs syncbuf.Buffer
		fake := newFake()
		fake.err = errors.New("bbolt: database file /var/lib/minicloud/state.db is locked")
		rec := call(t, newTestHandler(t, fake, withLog(&logs)), "DescribeInstances", nil)
		doc := wantError(t, rec, 500, cloud.ErrCodeInternalError)
		if strings.Contains(rec.Body.String(), "bbolt") {
			t.Errorf("internal detail leaked: %s", rec.Body)
		}
		out := logs.String()
		if n := strings.Count(out, "state.db is locked"); n != 1 {
			t.Errorf("cause logged %d times, want once:\n%s", n, out)
		}
		if !strings.Contains(out, "request_id="+doc.RequestID) {
			t.Errorf("log lacks the request id %s:\n%s", doc.RequestID, out)
		}
	})

	t.Run("Panic", func(t *testing.T) {
		var logs syncbuf.Buffer
		fake := newFake()
		fake.panicMsg = "index out of range in the scheduler"
		rec := call(t, newTestHandler(t, fake, withLog(&logs)), "RunInstances", actionForms["RunInstances"])
		wantError(t, rec, 500, cloud.ErrCodeInternalError)
		if strings.Contains(rec.Body.String(), "scheduler") {
			t.Errorf("panic detail leaked: %s", rec.Body)
		}
		if !strings.Contains(logs.String(), "index out of range in the scheduler") {
			t.Errorf("panic not logged:\n%s", logs.String())
		}
	})
}

// TestHandler_Log checks the per-request Debug record and that it holds
// no secret.
func TestHandler_Log(t *testing.T) {
	var logs syncbuf.Buffer
	h := newTestHandler(t, newFake(), withLog(&logs))
	call(t, h, "DescribeRegions", nil)
	out := logs.String()
	for _, want := range []string{"level=DEBUG", "action=DescribeRegions", "status=200",
		"duration=", "request_id=", "access_key_id=" + testKey} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, testSecret) || strings.Contains(out, "Signature=") {
		t.Errorf("log holds a secret or signature:\n%s", out)
	}
}

// TestHandler_Concurrent serves many requests at once: the handler keeps
// no per-request state outside the request.
func TestHandler_Concurrent(t *testing.T) {
	h := newTestHandler(t, newFake(), func(o *Options) { o.Logger = nil })
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			rec := call(t, h, "DescribeInstances", nil)
			if rec.Code != 200 {
				t.Errorf("status %d", rec.Code)
			}
		})
	}
	wg.Wait()
}

// TestHandler_LargeListing serves ten thousand instances: the answer is
// streamed rather than sized up front, and arrives whole.
func TestHandler_LargeListing(t *testing.T) {
	fake := newFake()
	fake.instances = make([]*cloud.Instance, 10000)
	for n := range fake.instances {
		fake.instances[n] = runningInstance(n)
	}
	rec := call(t, newTestHandler(t, fake), "DescribeInstances", nil)
	body := wantOK(t, rec)
	if rec.Header().Get("Content-Length") != "" {
		t.Errorf("a %d-byte answer was sized up front", len(body))
	}
	if got := bytes.Count(body, []byte("<instanceId>")); got != len(fake.instances) {
		t.Errorf("%d instances in the answer, want %d", got, len(fake.instances))
	}
	if !bytes.HasSuffix(body, []byte("</reservationSet></DescribeInstancesResponse>")) {
		t.Errorf("answer ends %q", body[len(body)-80:])
	}
}

// TestHandler_PanicMidAnswer checks that a panic after part of an answer
// was sent aborts the connection instead of leaving a truncated document
// that looks whole.
func TestHandler_PanicMidAnswer(t *testing.T) {
	var logs syncbuf.Buffer
	h := newTestHandler(t, newFake(), withLog(&logs)).(*handler)
	defer func() {
		if p := recover(); p != http.ErrAbortHandler {
			t.Errorf("recovered %v, want http.ErrAbortHandler", p)
		}
		if !strings.Contains(logs.String(), "encoder broke") {
			t.Errorf("panic not logged:\n%s", logs.String())
		}
	}()
	x := &exchange{id: "req-1", wroteHeader: true, status: http.StatusOK}
	func() {
		defer h.finish(t.Context(), httptest.NewRecorder(), x)
		panic("encoder broke")
	}()
}
