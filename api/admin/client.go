package admin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/minicloud/minicloud/internal/cloud"
)

// Client calls a running minicloud's admin API, signing each request as
// the aws CLI signs its EC2 requests.
type Client struct {
	// Endpoint is the server's URL, as given to the aws CLI's
	// --endpoint-url: "http://127.0.0.1:8787".
	Endpoint string

	// Region, AccessKeyID and SecretAccessKey sign the requests.
	Region          string
	AccessKeyID     string
	SecretAccessKey string

	// HTTPClient sends the requests; nil means one with a 30 s timeout.
	HTTPClient *http.Client
}

// Error is an error answer of the admin API.
type Error struct {
	Status  int
	Code    string
	Message string
}

// Error returns "code: message (HTTP status)".
func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s (HTTP %d)", e.Code, e.Message, e.Status)
}

// Hosts returns every host the server drives, in name order.
func (c *Client) Hosts(ctx context.Context) ([]cloud.Host, error) {
	var out hostList
	if err := c.do(ctx, http.MethodGet, "hosts", &out); err != nil {
		return nil, err
	}
	hosts := make([]cloud.Host, len(out.Hosts))
	for i, h := range out.Hosts {
		hosts[i] = h.toCloud()
	}
	return hosts, nil
}

// RetryHost asks the server to contact the named host once more and
// returns the host as it was when asked; the attempt happens afterwards.
// It returns an *Error with code HostNotFound for an unknown name.
func (c *Client) RetryHost(ctx context.Context, name string) (cloud.Host, error) {
	var out hostAnswer
	err := c.do(ctx, http.MethodPost, "hosts/"+url.PathEscape(name)+"/retry", &out)
	return out.Host.toCloud(), err
}

// do sends a signed request for path under Prefix and decodes the answer
// into out.
func (c *Client) do(ctx context.Context, method, path string, out any) error {
	// Build and sign the request; it has no body.
	u := strings.TrimRight(c.Endpoint, "/") + Prefix + path
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	empty := sha256.Sum256(nil)
	creds := aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey}
	region := c.Region
	if region == "" {
		region = cloud.DefaultRegion
	}
	err = v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(empty[:]), "ec2",
		region, time.Now())
	if err != nil {
		return fmt.Errorf("admin: sign request: %w", err)
	}

	// Send it and read the answer.
	hc := c.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("admin: read answer: %w", err)
	}
	if resp.StatusCode >= 300 {
		var e errorAnswer
		if json.Unmarshal(body, &e) != nil || e.Error.Code == "" {
			return &Error{Status: resp.StatusCode, Code: http.StatusText(resp.StatusCode),
				Message: strings.TrimSpace(string(body))}
		}
		return &Error{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message}
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("admin: decode answer: %w", err)
	}
	return nil
}
