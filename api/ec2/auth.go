package ec2

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/minicloud/minicloud/internal/cloud"
)

// Signature Version 4 as EC2 uses it.
const (
	sigAlgorithm     = "AWS4-HMAC-SHA256"
	sigService       = "ec2"
	sigTerminator    = "aws4_request"
	amzDateLayout    = "20060102T150405Z"
	scopeDateLayout  = "20060102"
	maxClockSkew     = 15 * time.Minute
	maxPresignExpiry = 7 * 24 * time.Hour
	unsignedPayload  = "UNSIGNED-PAYLOAD"
)

// The messages EC2 gives for its authentication errors. Tools match on
// some of them, so they are EC2's words.
const (
	msgUnknownKey   = "AWS was not able to validate the provided access credentials"
	msgBadSignature = "The request signature we calculated does not match the signature " +
		"you provided. Check your AWS Secret Access Key and signing method. " +
		"Consult the service documentation for details."
	msgExpired = "Request has expired."
)

// signature is what a request presents to prove who sent it, from its
// Authorization header or from a presigned URL's query string.
type signature struct {
	presigned   bool
	accessKeyID string

	// The credential scope: DATE/REGION/SERVICE/aws4_request.
	scopeDate, region, service, terminator string

	signedHeaders []string // lower case, as the client listed them
	value         string   // the hex signature
	date          time.Time
	expires       time.Duration // presigned only; zero when not given
}

// authenticate checks a request's SigV4 signature and returns who signed
// it. Its errors are EC2's: AuthFailure for an unknown key or a scope
// outside this region and service, SignatureDoesNotMatch, RequestExpired,
// IncompleteSignature for a signature missing its parts, and
// MissingParameter (AWSAccessKeyId) for an unsigned request.
func (h *handler) authenticate(
	r *http.Request, query url.Values, body []byte,
) (cloud.Caller, error) {
	// Find the signature and what it claims.
	s, err := parseSignature(r, query)
	if err != nil {
		return cloud.Caller{}, err
	}
	if err := h.checkScope(s); err != nil {
		return cloud.Caller{}, err
	}

	// The key must be known and the request fresh.
	secret, account, ok := h.creds.Lookup(s.accessKeyID)
	if !ok {
		return cloud.Caller{}, &cloud.Error{Code: cloud.ErrCodeAuthFailure, Message: msgUnknownKey}
	}
	if err := h.checkTime(s); err != nil {
		return cloud.Caller{}, err
	}

	// The signature must be the one the secret makes.
	if !verify(r, body, s, secret) {
		return cloud.Caller{}, &cloud.Error{
			Code: cloud.ErrCodeSignatureDoesNotMatch, Message: msgBadSignature}
	}
	if account == "" {
		account = cloud.DefaultAccountID
	}
	return cloud.Caller{AccessKeyID: s.accessKeyID, AccountID: account}, nil
}

// parseSignature finds the signature in the Authorization header or, for
// a presigned URL, in the query string.
func parseSignature(r *http.Request, query url.Values) (*signature, error) {
	if auth := r.Header.Get("Authorization"); auth != "" {
		return parseAuthorization(r, auth)
	}
	if query.Has("X-Amz-Algorithm") || query.Has("X-Amz-Signature") ||
		query.Has("X-Amz-Credential") {
		return parsePresigned(query)
	}

	// This is how EC2 answers a request that carries no signature.
	return nil, cloud.MissingParameter("AWSAccessKeyId")
}

// parseAuthorization reads "AWS4-HMAC-SHA256 Credential=…,
// SignedHeaders=…, Signature=…" and the X-Amz-Date header.
func parseAuthorization(r *http.Request, auth string) (*signature, error) {
	rest, ok := strings.CutPrefix(auth, sigAlgorithm+" ")
	if !ok {
		return nil, incomplete("Unsupported Authorization Type; minicloud accepts " +
			sigAlgorithm + " only.")
	}
	var cred, signed, sig string
	for part := range strings.SplitSeq(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			cred = v
		case "SignedHeaders":
			signed = v
		case "Signature":
			sig = v
		}
	}
	if err := requireParts("Authorization header", cred, signed, sig); err != nil {
		return nil, err
	}

	s := &signature{value: sig, signedHeaders: strings.Split(signed, ";")}
	if err := s.parseCredential(cred); err != nil {
		return nil, err
	}
	amzDate := r.Header.Get("X-Amz-Date")
	if amzDate == "" {
		return nil, incomplete("Authorization header requires existence of a 'X-Amz-Date' header.")
	}
	return s, s.parseDate(amzDate)
}

// parsePresigned reads the X-Amz-* parameters of a presigned URL.
func parsePresigned(q url.Values) (*signature, error) {
	if alg := q.Get("X-Amz-Algorithm"); alg != sigAlgorithm {
		return nil, incomplete("X-Amz-Algorithm only supports \"" + sigAlgorithm + "\".")
	}
	cred, signed, sig := q.Get("X-Amz-Credential"), q.Get("X-Amz-SignedHeaders"),
		q.Get("X-Amz-Signature")
	if err := requireParts("Query-string authentication", cred, signed, sig); err != nil {
		return nil, err
	}
	amzDate := q.Get("X-Amz-Date")
	if amzDate == "" {
		return nil, incomplete("Query-string authentication requires the X-Amz-Date parameter.")
	}

	s := &signature{presigned: true, value: sig, signedHeaders: strings.Split(signed, ";")}
	if err := s.parseCredential(cred); err != nil {
		return nil, err
	}
	if v := q.Get("X-Amz-Expires"); v != "" {
		// Compare seconds with seconds: a huge n times a second would
		// overflow to some short, valid-looking duration.
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > int(maxPresignExpiry/time.Second) {
			return nil, incomplete("X-Amz-Expires must be a number of seconds from 1 to 604800.")
		}
		s.expires = time.Duration(n) * time.Second
	}
	return s, s.parseDate(amzDate)
}

// requireParts reports which of the three parts of a signature are
// missing, as IncompleteSignature.
func requireParts(where, cred, signed, sig string) error {
	var missing []string
	for _, p := range []struct{ name, v string }{
		{"Credential", cred}, {"SignedHeaders", signed}, {"Signature", sig},
	} {
		if p.v == "" {
			missing = append(missing, where+" requires '"+p.name+"' parameter.")
		}
	}
	if len(missing) > 0 {
		return incomplete(strings.Join(missing, " "))
	}
	return nil
}

// parseCredential splits AKID/DATE/REGION/SERVICE/aws4_request.
func (s *signature) parseCredential(cred string) error {
	parts := strings.Split(cred, "/")
	if len(parts) != 5 || parts[0] == "" {
		return incomplete("Credential '" + cred + "' is not of the form " +
			"ACCESS_KEY_ID/YYYYMMDD/REGION/SERVICE/aws4_request.")
	}
	s.accessKeyID, s.scopeDate, s.region, s.service, s.terminator =
		parts[0], parts[1], parts[2], parts[3], parts[4]
	return nil
}

// parseDate reads X-Amz-Date, which must fall on the scope's day.
func (s *signature) parseDate(v string) error {
	t, err := time.Parse(amzDateLayout, v)
	if err != nil {
		return incomplete("X-Amz-Date '" + v + "' is not of the form YYYYMMDDTHHMMSSZ.")
	}
	s.date = t
	if day := t.Format(scopeDateLayout); day != s.scopeDate {
		return cloud.Errorf(cloud.ErrCodeSignatureDoesNotMatch,
			"The date in the credential scope, '%s', is not the day of X-Amz-Date, '%s'.",
			s.scopeDate, v)
	}
	return nil
}

// checkScope requires the credential scope to name this region and EC2.
func (h *handler) checkScope(s *signature) error {
	switch {
	case s.region != h.region:
		return cloud.Errorf(cloud.ErrCodeAuthFailure,
			"Credential should be scoped to a valid region, not '%s'.", s.region)
	case s.service != sigService:
		return cloud.Errorf(cloud.ErrCodeAuthFailure,
			"Credential should be scoped to correct service: '%s'.", sigService)
	case s.terminator != sigTerminator:
		return cloud.Errorf(cloud.ErrCodeAuthFailure,
			"Credential should be scoped with a valid terminator: '%s', not '%s'.",
			sigTerminator, s.terminator)
	}
	return nil
}

// checkTime refuses a request signed more than 15 minutes from now, or a
// presigned URL used after its X-Amz-Expires.
func (h *handler) checkTime(s *signature) error {
	now := h.now()
	if s.date.Sub(now) > maxClockSkew {
		return &cloud.Error{Code: cloud.ErrCodeRequestExpired, Message: msgExpired}
	}
	limit := maxClockSkew
	if s.presigned && s.expires > 0 {
		limit = s.expires
	}
	if now.Sub(s.date) > limit {
		return &cloud.Error{Code: cloud.ErrCodeRequestExpired, Message: msgExpired}
	}
	return nil
}

// verify recomputes the signature with the AWS SDK's own signer over the
// parts of the request the client signed, and compares it in constant
// time.
//
// A presigned URL's payload hash is the body's (empty) hash for botocore
// and the SDKs' EC2 presigners, but UNSIGNED-PAYLOAD for some other
// presigners; both are tried.
func verify(r *http.Request, body []byte, s *signature, secret string) bool {
	sum := sha256.Sum256(body)
	hashes := []string{hex.EncodeToString(sum[:])}
	if s.presigned {
		hashes = append(hashes, unsignedPayload)
	}
	for _, hash := range hashes {
		want, err := expectedSignature(r, s, secret, hash)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(s.value)) == 1 {
			return true
		}
	}
	return false
}

// expectedSignature rebuilds the request as the client signed it (the
// method, path, query and host, and only the headers it listed) and
// signs it again with secret.
//
// The SDK's signer adds X-Amz-Date and host itself, and Content-Length
// when it is above zero; every other header on the rebuilt request is
// signed, which is why only the listed ones are copied. botocore signs
// more headers than the Go SDK (Content-Type among them); copying
// exactly the listed headers serves both.
func expectedSignature(r *http.Request, s *signature, secret, payloadHash string) (string, error) {
	req := &http.Request{
		Method: r.Method,
		URL:    &url.URL{Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery},
		Host:   r.Host,
		Header: make(http.Header, len(s.signedHeaders)),
	}
	for _, name := range s.signedHeaders {
		switch name {
		case "host":
		case "content-length":
			req.ContentLength = r.ContentLength
		default:
			req.Header[textproto.CanonicalMIMEHeaderKey(name)] = r.Header.Values(name)
		}
	}

	// A fresh signer each time: the SDK's signer caches derived keys by
	// access key id and day, not by secret, so a shared one would go on
	// accepting a secret that Credentials has since replaced.
	signer := v4.NewSigner()
	creds := aws.Credentials{AccessKeyID: s.accessKeyID, SecretAccessKey: secret}
	ctx := context.Background()

	if s.presigned {
		q := req.URL.Query()
		q.Del("X-Amz-Signature")
		req.URL.RawQuery = q.Encode()
		signed, _, err := signer.PresignHTTP(ctx, creds, req, payloadHash, sigService,
			s.region, s.date, func(o *v4.SignerOptions) { o.DisableHeaderHoisting = true })
		if err != nil {
			return "", err
		}
		u, err := url.Parse(signed)
		if err != nil {
			return "", err
		}
		return u.Query().Get("X-Amz-Signature"), nil
	}

	if err := signer.SignHTTP(ctx, creds, req, payloadHash, sigService, s.region, s.date); err != nil {
		return "", err
	}
	_, sig, _ := strings.Cut(req.Header.Get("Authorization"), "Signature=")
	return sig, nil
}

// incomplete returns IncompleteSignature with msg.
func incomplete(msg string) *cloud.Error {
	return &cloud.Error{Code: cloud.ErrCodeIncompleteSignature, Message: msg}
}
