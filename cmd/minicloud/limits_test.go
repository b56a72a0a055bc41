package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/minicloud/minicloud/internal/config"
)

// TestServer_Limits checks the bounds of [limits] on a running minicloud:
// clients that stop sending are disconnected, bodies over the limit and
// requests over the list and tag limits are refused with EC2's errors,
// and a key over its rate is throttled.
func TestServer_Limits(t *testing.T) {
	ts := openServer(t, serverOptions{config: func(c *config.Config) {
		c.Limits.ReadHeaderTimeout.Duration = 300 * time.Millisecond
		c.Limits.ReadTimeout.Duration = time.Second
		c.Limits.IdleTimeout.Duration = 500 * time.Millisecond
		c.Limits.MaxBodyBytes = 64 << 10
		c.Limits.RequestsPerSecond = 0.001
		c.Limits.Burst = 30
	}})
	addr := strings.TrimPrefix(ts.Endpoint(), "http://")

	t.Run("SlowlorisCutOff", func(t *testing.T) {
		conn := dial(t, addr)

		// Headers that never end, a byte at a time: each byte is
		// well within any per-read timeout, but the headers as a whole
		// take too long.
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			if _, err := io.WriteString(conn, "POST / HTTP/1.1\r\nHost: "+addr+"\r\nX-Slow: "); err != nil {
				return
			}
			for {
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond):
				}
				if _, err := conn.Write([]byte("a")); err != nil {
					return
				}
			}
		}()
		start := time.Now()
		got := readUntilClosed(t, conn, 10*time.Second)
		if took := time.Since(start); took < 250*time.Millisecond || took > 5*time.Second {
			t.Errorf("cut off after %v, want about the 300ms header timeout", took)
		}
		if strings.HasPrefix(got, "HTTP/1.1 2") {
			t.Errorf("a request with unfinished headers was answered: %q", got)
		}
	})

	t.Run("BodyNeverSentCutOff", func(t *testing.T) {
		conn := dial(t, addr)
		fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: %s\r\n"+
			"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nAction=", addr)
		start := time.Now()
		got := readUntilClosed(t, conn, 10*time.Second)
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("cut off after %v, want about the 1s read timeout", took)
		}
		if got != "" && !strings.HasPrefix(got, "HTTP/1.1 4") {
			t.Errorf("answer to a body that never came: %q", got)
		}
	})

	t.Run("IdleConnectionClosed", func(t *testing.T) {
		conn := dial(t, addr)
		fmt.Fprintf(conn, "GET /?Action=DescribeRegions HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || resp.Close {
			t.Fatalf("unsigned request: status %d, close %v; want 400 on a kept-alive connection",
				resp.StatusCode, resp.Close)
		}
		start := time.Now()
		readUntilClosed(t, conn, 10*time.Second)
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("idle connection closed after %v, want about the 500ms idle timeout", took)
		}
	})

	t.Run("BodyTooLarge", func(t *testing.T) {
		_, err := ts.client.RunInstances(context.Background(), &ec2.RunInstancesInput{
			ImageId: aws.String(ts.imageID("debian-12")), MinCount: aws.Int32(1),
			MaxCount: aws.Int32(1), UserData: aws.String(strings.Repeat("QUJD", 32<<10)),
		})
		wantAPIError(t, err, "RequestEntityTooLarge", http.StatusRequestEntityTooLarge)
	})

	t.Run("ClientMistakes", func(t *testing.T) {
		id := ts.run(1, nil)[0]
		ctx := context.Background()
		tags := func(n, keyLen, valueLen int) []types.Tag {
			var out []types.Tag
			for i := 0; i < n; i++ {
				k := fmt.Sprintf("%0*d", keyLen, i)
				out = append(out, types.Tag{Key: aws.String(k),
					Value: aws.String(strings.Repeat("v", valueLen))})
			}
			return out
		}
		ids := make([]string, 1001)
		for i := range ids {
			ids[i] = fmt.Sprintf("i-%017x", i)
		}
		tests := []struct {
			name string
			call func() error
			code string
		}{
			{"51Tags", func() error {
				_, err := ts.client.CreateTags(ctx, &ec2.CreateTagsInput{
					Resources: []string{id}, Tags: tags(51, 3, 1)})
				return err
			}, "TagLimitExceeded"},
			{"TagKey129", func() error {
				_, err := ts.client.CreateTags(ctx, &ec2.CreateTagsInput{
					Resources: []string{id}, Tags: tags(1, 129, 1)})
				return err
			}, "InvalidParameterValue"},
			{"TagValue257", func() error {
				_, err := ts.client.CreateTags(ctx, &ec2.CreateTagsInput{
					Resources: []string{id}, Tags: tags(1, 3, 257)})
				return err
			}, "InvalidParameterValue"},
			{"1001InstanceIds", func() error {
				_, err := ts.client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{
					InstanceIds: ids})
				return err
			}, "InvalidParameterValue"},
			{"201FilterValues", func() error {
				_, err := ts.client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{
					Filters: []types.Filter{{Name: aws.String("instance-id"), Values: ids[:201]}}})
				return err
			}, "FilterLimitExceeded"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				wantAPIError(t, tt.call(), tt.code, http.StatusBadRequest)
			})
		}

		// At the limits themselves, all is well.
		if _, err := ts.client.CreateTags(ctx, &ec2.CreateTagsInput{
			Resources: []string{id}, Tags: tags(50, 128, 256)}); err != nil {
			t.Errorf("50 tags of 128 and 256 characters: %v", err)
		}
	})

	t.Run("Throttled", func(t *testing.T) {
		// The burst is 30 and the rate one request in 1000s: the key's
		// remaining tokens run out within 30 requests.
		ctx := context.Background()
		for i := 0; i < 31; i++ {
			_, err := ts.client.DescribeRegions(ctx, &ec2.DescribeRegionsInput{})
			if err == nil {
				continue
			}
			wantAPIError(t, err, "RequestLimitExceeded", http.StatusServiceUnavailable)
			return
		}
		t.Fatal("31 requests at once were all served with a burst of 30")
	})
}

// dial connects to addr and closes the connection when t ends.
func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// readUntilClosed reads conn until the server closes it and returns what
// it sent, failing t if that takes longer than limit.
func readUntilClosed(t *testing.T, conn net.Conn, limit time.Duration) string {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(limit))
	b, err := io.ReadAll(conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server kept the connection open for %v", limit)
	}
	return string(b)
}
