package ec2

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minicloud/minicloud/internal/cloud"
)

// actionNames returns every action the handler serves, from the action
// map itself, so that an action added there is fuzzed and walked by the
// tests without being listed again.
func actionNames() []string {
	names := make([]string, 0, len(actions))
	for name := range actions {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// quietHandler is a handler over svc that logs nothing, on the fixed
// clock, for fuzz targets that serve many thousands of requests.
func quietHandler(t testing.TB, svc cloud.Service) *handler {
	t.Helper()
	return newTestHandler(t, svc, atFixedNow, func(o *Options) {
		o.Logger = slog.New(slog.DiscardHandler)
	}).(*handler)
}

// FuzzDecodeQuery feeds any query string to every action's decoder, and
// then, signed, to the handler as a form body. A decoder may refuse what
// it reads, but only with an EC2 error a client is to blame for, never
// with a panic or a fault of the server's; the handler answers every
// request with a well-formed EC2 document.
func FuzzDecodeQuery(f *testing.F) {
	f.Add("InstanceId.1=i-0123456789abcdef0&InstanceId.2=i-0123456789abcdef1", uint8(0))
	f.Add("Filter.1.Name=instance-state-name&Filter.1.Value.1=running&Filter.1.Value.2=stopped"+
		"&Filter.2.Name=tag:Name&Filter.2.Value.1=web*&MaxResults=5&NextToken=abc", uint8(1))
	f.Add("ImageId=ami-0abcdef1234567890&MinCount=1&MaxCount=2&InstanceType=t3.micro"+
		"&TagSpecification.1.ResourceType=instance&TagSpecification.1.Tag.1.Key=Name"+
		"&TagSpecification.1.Tag.1.Value=web&UserData=aGVsbG8K&DryRun=true", uint8(2))
	f.Add("ResourceId.1=i-0123456789abcdef0&Tag.1.Key=a&Tag.1.Value=&Tag.3.Key=b", uint8(3))
	f.Add("InstanceId.999999999=i-1&InstanceId.0=i-2&InstanceId.01=i-3&InstanceId.x=i-4", uint8(4))
	f.Add("MaxResults=4294967296&DryRun=yes&MinCount=-1&UserData=%%%", uint8(5))
	f.Add("KeyName=lab&PublicKeyMaterial=c3NoLWVkMjU1MTkgQUFBQQ==&KeyType=ed25519", uint8(6))
	names := actionNames()
	f.Fuzz(func(t *testing.T, query string, pick uint8) {
		fake := newFake()
		values, _ := url.ParseQuery(query)

		// Every decoder, on whatever the query string held.
		for _, name := range names {
			encode, err := actions[name](context.Background(), fake, &params{values: values})
			if err != nil {
				checkClientError(t, name, query, err)
				continue
			}
			e := &encoder{xmlWriter: xmlWriter{out: io.Discard}}
			encode(e)
		}

		// One action through the handler, signed, with the query as its
		// form body.
		h := quietHandler(t, fake)
		body := "Action=" + names[int(pick)%len(names)] + "&Version=2016-11-15&" + query
		req := httptest.NewRequest(http.MethodPost, "http://ec2.test/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		s := goodSigner
		s.at = fixedNow
		s.sign(t, req, body)
		rec := serve(h, req)
		if rec.Code >= 500 {
			t.Fatalf("%s: status %d for a client's request\n%s", body, rec.Code, rec.Body)
		}
		if err := xml.Unmarshal(rec.Body.Bytes(), new(struct{})); err != nil {
			t.Fatalf("%s: the answer is not XML: %v\n%s", body, err, rec.Body)
		}
	})
}

// checkClientError fails t unless err is an EC2 error with a code and a
// message that answers with a 4xx status.
func checkClientError(t *testing.T, action, query string, err error) {
	t.Helper()
	var e *cloud.Error
	if !errors.As(err, &e) || e.Code == "" || e.Message == "" {
		t.Fatalf("%s %q: error %v (%T) is not an EC2 error", action, query, err, err)
	}
	if s := statusOf(e.Code); s < 400 || s >= 500 {
		t.Fatalf("%s %q: %s answers %d, not a client error", action, query, e.Code, s)
	}
}

// authCodes are the codes authentication may refuse a request with.
var authCodes = map[string]bool{
	cloud.ErrCodeIncompleteSignature:        true,
	cloud.ErrCodeAuthFailure:                true,
	cloud.ErrCodeSignatureDoesNotMatch:      true,
	cloud.ErrCodeRequestExpired:             true,
	cloud.ErrCodeMissingParameter:           true,
	cloud.ErrCodeInvalidParameterValue:      true,
	cloud.ErrCodeInvalidQueryParameter:      true,
	cloud.ErrCodeMissingAuthenticationToken: true,
}

// checkAuthError fails t unless err is one of authentication's EC2
// errors.
func checkAuthError(t *testing.T, what string, err error) {
	t.Helper()
	var e *cloud.Error
	if !errors.As(err, &e) || !authCodes[e.Code] || e.Message == "" {
		t.Fatalf("%s: error %v (%T) is not an authentication error", what, err, err)
	}
}

// fuzzForm is the request the authentication targets sign.
var fuzzForm = url.Values{"Action": {"DescribeInstances"}, "Version": {"2016-11-15"},
	"InstanceId.1": {"i-0123456789abcdef0"}}

// FuzzParseAuthorization gives a signed POST any Authorization and
// X-Amz-Date headers. Parsing them never panics, a refusal is one of
// authentication's EC2 errors, and the request verifies only when the
// header carries the genuine signature under the genuine key: no header
// made up without the secret is let through.
func FuzzParseAuthorization(f *testing.F) {
	s := goodSigner
	s.at = fixedNow
	genuine := s.post(f, "http://ec2.test/", fuzzForm)
	auth, date := genuine.Header.Get("Authorization"), genuine.Header.Get("X-Amz-Date")
	_, wantSig, _ := strings.Cut(auth, "Signature=")
	f.Add(auth, date)
	f.Add(strings.ReplaceAll(auth, ", ", ","), date)
	f.Add(strings.Replace(auth, "Signature=", "Signature=0", 1), date)
	f.Add("AWS4-HMAC-SHA256 Credential=/, SignedHeaders=, Signature=", "20240520T120000Z")
	f.Add("AWS4-HMAC-SHA256 Credential=AKID/20240520/us-east-1/ec2/aws4_request", "2024")
	f.Add("AWS AKID:sig", "")

	body := fuzzForm.Encode()
	f.Fuzz(func(t *testing.T, auth, date string) {
		h := quietHandler(t, newFake())
		req := httptest.NewRequest(http.MethodPost, "http://ec2.test/", strings.NewReader(body))
		req.Header = genuine.Header.Clone()
		req.Header.Set("Authorization", auth)
		req.Header.Set("X-Amz-Date", date)

		caller, err := h.authenticate(req, url.Values{}, []byte(body))
		if err != nil {
			checkAuthError(t, auth, err)
			return
		}
		sig, err := parseSignature(req, url.Values{})
		if err != nil || sig.value != wantSig || caller.AccessKeyID != testKey {
			t.Fatalf("Authorization %q, X-Amz-Date %q verified as %+v: signature %+v",
				auth, date, caller, sig)
		}
	})
}

// FuzzParsePresigned gives a GET any query string in place of a
// presigned URL's. Parsing it never panics, a refusal is one of
// authentication's EC2 errors, and it verifies only with the genuine
// signature under the genuine key.
func FuzzParsePresigned(f *testing.F) {
	s := goodSigner
	s.at = fixedNow.Add(-time.Minute)
	u, err := url.Parse(s.presign(f, "http://ec2.test/", fuzzForm, 5*time.Minute))
	if err != nil {
		f.Fatal(err)
	}
	wantSig := u.Query().Get("X-Amz-Signature")
	f.Add(u.RawQuery)
	f.Add(strings.Replace(u.RawQuery, "X-Amz-Expires=300", "X-Amz-Expires=999999999999", 1))
	f.Add(strings.Replace(u.RawQuery, "X-Amz-Signature=", "X-Amz-Signature=%zz", 1))
	f.Add("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a%2Fb&X-Amz-Signature=x" +
		"&X-Amz-SignedHeaders=host&X-Amz-Date=20240520T115900Z&X-Amz-Expires=-1")
	f.Add("X-Amz-Signature=&X-Amz-Signature=abc")

	f.Fuzz(func(t *testing.T, rawQuery string) {
		h := quietHandler(t, newFake())
		req := httptest.NewRequest(http.MethodGet, "http://ec2.test/", nil)
		req.URL.RawQuery = rawQuery
		query, _ := url.ParseQuery(rawQuery)

		// What the URL says of its expiry is read as sent, or refused.
		if sig, err := parsePresigned(query); err == nil && sig.expires != 0 {
			n, _ := strconv.Atoi(query.Get("X-Amz-Expires"))
			if sig.expires < time.Second || sig.expires > maxPresignExpiry ||
				int(sig.expires/time.Second) != n {
				t.Fatalf("X-Amz-Expires %q read as %v", query.Get("X-Amz-Expires"), sig.expires)
			}
		}

		caller, err := h.authenticate(req, query, nil)
		if err != nil {
			checkAuthError(t, rawQuery, err)
			return
		}
		sig, err := parseSignature(req, query)
		if err != nil || sig.value != wantSig || caller.AccessKeyID != testKey {
			t.Fatalf("query %q verified as %+v: signature %+v", rawQuery, caller, sig)
		}
	})
}
