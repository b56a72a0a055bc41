package ec2

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/minicloud/minicloud/internal/cloud"
)

// fixedNow is the server's clock in the clock tests.
var fixedNow = time.Date(2024, 5, 20, 12, 0, 0, 0, time.UTC)

func atFixedNow(o *Options) { o.Now = func() time.Time { return fixedNow } }

var describe = url.Values{"Action": {"DescribeRegions"}, "Version": {"2016-11-15"}}

func TestAuth_Header(t *testing.T) {
	tests := []struct {
		name   string
		signer signer
		status int
		code   string
	}{
		{"OK", goodSigner, 200, ""},
		{"WrongSecret", signer{key: testKey, secret: "not-the-secret", region: testRegion, service: "ec2"},
			403, cloud.ErrCodeSignatureDoesNotMatch},
		{"UnknownKey", signer{key: "AKIDNOBODY", secret: testSecret, region: testRegion, service: "ec2"},
			401, cloud.ErrCodeAuthFailure},
		{"WrongRegion", signer{key: testKey, secret: testSecret, region: "eu-west-1", service: "ec2"},
			401, cloud.ErrCodeAuthFailure},
		{"WrongService", signer{key: testKey, secret: testSecret, region: testRegion, service: "s3"},
			401, cloud.ErrCodeAuthFailure},
		{"Skew14Minutes", signer{key: testKey, secret: testSecret, region: testRegion, service: "ec2",
			at: fixedNow.Add(-14 * time.Minute)}, 200, ""},
		{"Expired16Minutes", signer{key: testKey, secret: testSecret, region: testRegion, service: "ec2",
			at: fixedNow.Add(-16 * time.Minute)}, 400, cloud.ErrCodeRequestExpired},
		{"Future16Minutes", signer{key: testKey, secret: testSecret, region: testRegion, service: "ec2",
			at: fixedNow.Add(16 * time.Minute)}, 400, cloud.ErrCodeRequestExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.signer
			if s.at.IsZero() {
				s.at = fixedNow
			}
			fake := newFake()
			h := newTestHandler(t, fake, atFixedNow)
			rec := serve(h, s.post(t, "http://ec2.test/", describe))
			if tt.status == 200 {
				wantOK(t, rec)
				got, want := fake.lastCaller(), cloud.Caller{AccessKeyID: testKey, AccountID: testAccount}
				if got != want {
					t.Errorf("caller %+v, want %+v", got, want)
				}
				return
			}
			doc := wantError(t, rec, tt.status, tt.code)
			if fake.input("DescribeRegions") != nil {
				t.Error("the service was called for a request that failed authentication")
			}
			switch tt.name {
			case "WrongRegion":
				if !strings.Contains(doc.Message, "eu-west-1") {
					t.Errorf("message %q does not name the region", doc.Message)
				}
			case "Expired16Minutes":
				if doc.Message != "Request has expired." {
					t.Errorf("message %q", doc.Message)
				}
			}
		})
	}
}

func TestAuth_Tampered(t *testing.T) {
	h := newTestHandler(t, newFake())

	t.Run("Body", func(t *testing.T) {
		req := goodSigner.post(t, "http://ec2.test/", describe)
		body := "Action=DescribeInstances&Version=2016-11-15"
		req.Body = httpBody(body)
		req.ContentLength = int64(len(body))
		wantError(t, serve(h, req), 403, cloud.ErrCodeSignatureDoesNotMatch)
	})

	t.Run("SignedHeader", func(t *testing.T) {
		req := goodSigner.post(t, "http://ec2.test/", describe)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		wantError(t, serve(h, req), 403, cloud.ErrCodeSignatureDoesNotMatch)
	})

	t.Run("UnsignedHeaderIsFine", func(t *testing.T) {
		req := goodSigner.post(t, "http://ec2.test/", describe)
		req.Header.Set("User-Agent", "changed in flight")
		req.Header.Set("X-Forwarded-For", "127.0.0.1")
		wantOK(t, serve(h, req))
	})

	t.Run("Query", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodGet, "http://ec2.test/?Action=DescribeRegions", nil)
		goodSigner.sign(t, req, "")
		req.URL.RawQuery = "Action=DescribeInstances"
		wantError(t, serve(h, req), 403, cloud.ErrCodeSignatureDoesNotMatch)
	})
}

func TestAuth_Malformed(t *testing.T) {
	h := newTestHandler(t, newFake())
	tests := []struct {
		name   string
		auth   string
		date   string
		status int
		code   string
	}{
		{"None", "", "", 400, cloud.ErrCodeMissingParameter},
		{"OtherScheme", "AWS AKID:c2lnbmF0dXJl", "", 400, cloud.ErrCodeIncompleteSignature},
		{"NoSignature", "AWS4-HMAC-SHA256 Credential=" + testKey + "/20240520/us-east-1/ec2/aws4_request, " +
			"SignedHeaders=host;x-amz-date", "20240520T120000Z", 400, cloud.ErrCodeIncompleteSignature},
		{"ShortCredential", "AWS4-HMAC-SHA256 Credential=" + testKey + "/20240520/us-east-1, " +
			"SignedHeaders=host;x-amz-date, Signature=00", "20240520T120000Z", 400, cloud.ErrCodeIncompleteSignature},
		{"NoDate", "AWS4-HMAC-SHA256 Credential=" + testKey + "/20240520/us-east-1/ec2/aws4_request, " +
			"SignedHeaders=host, Signature=00", "", 400, cloud.ErrCodeIncompleteSignature},
		{"BadDate", "AWS4-HMAC-SHA256 Credential=" + testKey + "/20240520/us-east-1/ec2/aws4_request, " +
			"SignedHeaders=host;x-amz-date, Signature=00", "yesterday", 400, cloud.ErrCodeIncompleteSignature},
		{"ScopeDateMismatch", "AWS4-HMAC-SHA256 Credential=" + testKey + "/20240519/us-east-1/ec2/aws4_request, " +
			"SignedHeaders=host;x-amz-date, Signature=00", "20240520T120000Z", 403, cloud.ErrCodeSignatureDoesNotMatch},
		{"BadTerminator", "AWS4-HMAC-SHA256 Credential=" + testKey + "/20240520/us-east-1/ec2/aws5_request, " +
			"SignedHeaders=host;x-amz-date, Signature=00", "20240520T120000Z", 401, cloud.ErrCodeAuthFailure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "http://ec2.test/?Action=DescribeRegions", nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			if tt.date != "" {
				req.Header.Set("X-Amz-Date", tt.date)
			}
			doc := wantError(t, serve(h, req), tt.status, tt.code)
			if tt.name == "None" && doc.Message != "The request must contain the parameter AWSAccessKeyId" {
				t.Errorf("message %q", doc.Message)
			}
		})
	}
}

func TestAuth_Presigned(t *testing.T) {
	tests := []struct {
		name    string
		signed  time.Time
		expires time.Duration
		status  int
		code    string
	}{
		{"OK", fixedNow.Add(-time.Minute), 5 * time.Minute, 200, ""},
		{"LongLived", fixedNow.Add(-50 * time.Minute), time.Hour, 200, ""},
		{"Expired", fixedNow.Add(-6 * time.Minute), 5 * time.Minute, 400, cloud.ErrCodeRequestExpired},
		{"Future", fixedNow.Add(20 * time.Minute), time.Hour, 400, cloud.ErrCodeRequestExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newTestHandler(t, newFake(), atFixedNow)
			s := goodSigner
			s.at = tt.signed
			u := s.presign(t, "http://ec2.test/", describe, tt.expires)
			rec := serve(h, httptest.NewRequest(http.MethodGet, u, nil))
			if tt.status == 200 {
				wantOK(t, rec)
				return
			}
			wantError(t, rec, tt.status, tt.code)
		})
	}

	t.Run("Tampered", func(t *testing.T) {
		h := newTestHandler(t, newFake(), atFixedNow)
		s := goodSigner
		s.at = fixedNow
		u := s.presign(t, "http://ec2.test/", describe, time.Minute)
		u = strings.Replace(u, "DescribeRegions", "DescribeInstances", 1)
		wantError(t, serve(h, httptest.NewRequest(http.MethodGet, u, nil)), 403,
			cloud.ErrCodeSignatureDoesNotMatch)
	})

	t.Run("WrongSecret", func(t *testing.T) {
		h := newTestHandler(t, newFake(), atFixedNow)
		s := goodSigner
		s.at, s.secret = fixedNow, "guess"
		u := s.presign(t, "http://ec2.test/", describe, time.Minute)
		wantError(t, serve(h, httptest.NewRequest(http.MethodGet, u, nil)), 403,
			cloud.ErrCodeSignatureDoesNotMatch)
	})

	t.Run("ExpiresTooLong", func(t *testing.T) {
		h := newTestHandler(t, newFake(), atFixedNow)
		s := goodSigner
		s.at = fixedNow
		u := s.presign(t, "http://ec2.test/", describe, 8*24*time.Hour)
		wantError(t, serve(h, httptest.NewRequest(http.MethodGet, u, nil)), 400,
			cloud.ErrCodeIncompleteSignature)
	})
}

// TestAuth_RotatedSecret checks that a secret replaced in Credentials
// stops working at once: no derived key outlives its secret.
func TestAuth_RotatedSecret(t *testing.T) {
	creds := testCreds{testKey: {testSecret, testAccount}}
	h := newTestHandler(t, newFake(), func(o *Options) { o.Credentials = creds })
	wantOK(t, serve(h, goodSigner.post(t, "http://ec2.test/", describe)))

	creds[testKey] = [2]string{"a-new-secret", testAccount}
	wantError(t, serve(h, goodSigner.post(t, "http://ec2.test/", describe)), 403,
		cloud.ErrCodeSignatureDoesNotMatch)
}

// TestAuth_DefaultAccount checks that a key without an account acts in
// the default account.
func TestAuth_DefaultAccount(t *testing.T) {
	fake := newFake()
	creds := testCreds{testKey: {testSecret, ""}}
	h := newTestHandler(t, fake, func(o *Options) { o.Credentials = creds })
	wantOK(t, serve(h, goodSigner.post(t, "http://ec2.test/", describe)))
	if got := fake.lastCaller().AccountID; got != cloud.DefaultAccountID {
		t.Errorf("account %q, want %q", got, cloud.DefaultAccountID)
	}
}

// httpBody returns s as a request body.
func httpBody(s string) io.ReadCloser { return io.NopCloser(strings.NewReader(s)) }
