package ec2

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/minicloud/minicloud/internal/cloud"
)

// TestAuth_EveryAction walks every action in the action map and sends
// it unsigned, signed with a key minicloud does not know, and signed with
// the wrong secret. Each must be refused with EC2's code for the mistake
// before the service hears of it; signed rightly, each reaches its
// decoder, so the walk covers real actions.
func TestAuth_EveryAction(t *testing.T) {
	wrongKey := signer{key: "AKIDNOBODY0000000000", secret: testSecret, region: testRegion,
		service: "ec2"}
	wrongSecret := signer{key: testKey, secret: testSecret + "x", region: testRegion,
		service: "ec2"}
	names := actionNames()
	if len(names) < 14 {
		t.Fatalf("only %d actions in the map", len(names))
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			fake := newFake()
			h := newTestHandler(t, fake)
			form := url.Values{"Action": {name}, "Version": {"2016-11-15"},
				"InstanceId.1": {"i-0123456789abcdef0"}, "ResourceId.1": {"i-0123456789abcdef0"}}

			// Unsigned, as a form and as a query string.
			body := form.Encode()
			req := httptest.NewRequest(http.MethodPost, "http://ec2.test/", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			wantError(t, serve(h, req), http.StatusBadRequest, cloud.ErrCodeMissingParameter)
			req = httptest.NewRequest(http.MethodGet, "http://ec2.test/?"+body, nil)
			wantError(t, serve(h, req), http.StatusBadRequest, cloud.ErrCodeMissingParameter)

			// Signed by a stranger, and with the wrong secret, in the
			// header and in a presigned URL.
			wantError(t, serve(h, wrongKey.post(t, "http://ec2.test/", form)),
				http.StatusUnauthorized, cloud.ErrCodeAuthFailure)
			wantError(t, serve(h, wrongSecret.post(t, "http://ec2.test/", form)),
				http.StatusForbidden, cloud.ErrCodeSignatureDoesNotMatch)
			u := wrongSecret.presign(t, "http://ec2.test/", form, time.Minute)
			wantError(t, serve(h, httptest.NewRequest(http.MethodGet, u, nil)),
				http.StatusForbidden, cloud.ErrCodeSignatureDoesNotMatch)

			// Nothing reached the service.
			fake.mu.Lock()
			heard := len(fake.inputs)
			fake.mu.Unlock()
			if heard != 0 {
				t.Fatalf("the service heard %d refused requests", heard)
			}

			// Signed rightly, the request gets past authentication.
			rec := serve(h, goodSigner.post(t, "http://ec2.test/", form))
			if rec.Code == http.StatusUnauthorized || rec.Code == http.StatusForbidden {
				t.Errorf("signed rightly: %d %s", rec.Code, rec.Body)
			}
		})
	}
}

// TestAuth_Replay sends a request signed once, byte for byte, again and
// again: within the 15 minutes EC2 allows for clock skew it is accepted,
// as EC2 accepts it; after them it is RequestExpired, and so is a
// presigned URL after its expiry.
func TestAuth_Replay(t *testing.T) {
	clock := &testClock{t: fixedNow}
	fake := newFake()
	h := newTestHandler(t, fake, func(o *Options) { o.Now = clock.now })
	s := goodSigner
	s.at = fixedNow
	signed := s.post(t, "http://ec2.test/", describe)
	body, err := io.ReadAll(signed.Body)
	if err != nil {
		t.Fatal(err)
	}
	replay := func() *httptest.ResponseRecorder {
		req := signed.Clone(signed.Context())
		req.Body = io.NopCloser(bytes.NewReader(body))
		return serve(h, req)
	}
	presigned := s.presign(t, "http://ec2.test/", describe, 5*time.Minute)

	wantOK(t, replay())
	wantOK(t, serve(h, httptest.NewRequest(http.MethodGet, presigned, nil)))
	clock.add(14 * time.Minute)
	wantOK(t, replay())
	wantError(t, serve(h, httptest.NewRequest(http.MethodGet, presigned, nil)),
		http.StatusBadRequest, cloud.ErrCodeRequestExpired)
	clock.add(2 * time.Minute)
	doc := wantError(t, replay(), http.StatusBadRequest, cloud.ErrCodeRequestExpired)
	if doc.Message != msgExpired {
		t.Errorf("message %q, want %q", doc.Message, msgExpired)
	}
}

// TestAuth_ConstantTimeCompare reads the package's source and checks
// that the signature a request presents is only ever compared with
// subtle.ConstantTimeCompare or hmac.Equal, so that the time a refusal
// takes tells nothing of how much of a guessed signature was right.
func TestAuth_ConstantTimeCompare(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	compared := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		compared += checkSignatureUses(t, fset, f)
	}
	if compared == 0 {
		t.Fatal("the presented signature is never compared in constant time")
	}
}

// checkSignatureUses fails t for each read of a signature's value (the
// field signature.value) outside a constant-time comparison, and returns
// how many reads lie inside one.
func checkSignatureUses(t *testing.T, fset *token.FileSet, f *ast.File) int {
	t.Helper()
	inside := 0
	var stack []ast.Node
	ast.Inspect(f, func(n ast.Node) bool {
		if n == nil {
			stack = stack[:len(stack)-1]
			return false
		}
		stack = append(stack, n)
		sel, ok := n.(*ast.SelectorExpr)
		if !ok || sel.Sel.Name != "value" {
			return true
		}
		for i := len(stack) - 2; i >= 0; i-- {
			if call, ok := stack[i].(*ast.CallExpr); ok && isConstantTimeCompare(call) {
				inside++
				return true
			}
		}
		t.Errorf("%s: the signature's value is read outside a constant-time comparison",
			fset.Position(sel.Pos()))
		return true
	})
	return inside
}

// isConstantTimeCompare reports whether call is subtle.ConstantTimeCompare
// or hmac.Equal.
func isConstantTimeCompare(call *ast.CallExpr) bool {
	fun, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	pkg, ok := fun.X.(*ast.Ident)
	return ok && (pkg.Name == "subtle" && fun.Sel.Name == "ConstantTimeCompare" ||
		pkg.Name == "hmac" && fun.Sel.Name == "Equal")
}

// TestAuth_PresignedExpiresOverflow checks that an X-Amz-Expires whose
// seconds overflow a time.Duration is refused, not read as the few
// seconds the overflow leaves: 2^55+60 seconds times 10^9 is 60 seconds
// modulo 2^64.
func TestAuth_PresignedExpiresOverflow(t *testing.T) {
	h := newTestHandler(t, newFake(), atFixedNow)
	for _, expires := range []string{"36028797018963028", "604801", "0", "-60", "1e3"} {
		q := url.Values{"X-Amz-Expires": {expires}}
		for k, v := range describe {
			q[k] = v
		}
		req := httptest.NewRequest(http.MethodGet, "http://ec2.test/?"+q.Encode(), nil)
		sum := sha256.Sum256(nil)
		creds := aws.Credentials{AccessKeyID: testKey, SecretAccessKey: testSecret}
		u, _, err := v4.NewSigner().PresignHTTP(context.Background(), creds, req,
			hex.EncodeToString(sum[:]), "ec2", testRegion, fixedNow)
		if err != nil {
			t.Fatal(err)
		}
		wantError(t, serve(h, httptest.NewRequest(http.MethodGet, u, nil)),
			http.StatusBadRequest, cloud.ErrCodeIncompleteSignature)
	}
}
