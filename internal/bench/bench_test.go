package bench

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var out []time.Duration
		for _, n := range v {
			out = append(out, time.Duration(n)*time.Millisecond)
		}
		return out
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"Empty", nil, 50, 0},
		{"One", ms(7), 99, 7 * time.Millisecond},
		{"Median", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"P99OfHundred", ms(seq(100)...), 99, 99 * time.Millisecond},
		{"P99OfTen", ms(seq(10)...), 99, 10 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("percentile(p%v) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
}

// seq returns 1..n.
func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i + 1
	}
	return out
}

func TestLoad_Run(t *testing.T) {
	t.Run("Count", func(t *testing.T) {
		var calls atomic.Int64
		res := Load{Clients: 4, Count: 50}.run(context.Background(), func(context.Context, int, int) error {
			calls.Add(1)
			return nil
		})
		if got := calls.Load(); got != 50 || res.Ops != 50 {
			t.Errorf("%d calls, %d ops; want 50 of each", got, res.Ops)
		}
		if res.PerSecond <= 0 || res.Clients != 4 {
			t.Errorf("result %+v, want a rate and 4 clients", res)
		}
	})

	t.Run("Duration", func(t *testing.T) {
		start := time.Now()
		res := Load{Clients: 2, Duration: 100 * time.Millisecond}.run(context.Background(),
			func(context.Context, int, int) error {
				time.Sleep(time.Millisecond)
				return nil
			})
		if d := time.Since(start); d < 100*time.Millisecond || d > 2*time.Second {
			t.Errorf("ran %v, want about 100ms", d)
		}
		if res.Ops < 10 || res.P50 < 1 {
			t.Errorf("result %+v, want many ops of at least 1ms", res)
		}
	})

	t.Run("SlowOpFinishes", func(t *testing.T) {
		res := Load{Clients: 1, Duration: 10 * time.Millisecond}.run(context.Background(),
			func(context.Context, int, int) error {
				time.Sleep(50 * time.Millisecond)
				return nil
			})
		if res.Ops != 1 {
			t.Errorf("%d ops, want the one that outlasted the duration", res.Ops)
		}
	})

	t.Run("Errors", func(t *testing.T) {
		res := Load{Clients: 1, Count: 10}.run(context.Background(), func(_ context.Context, _, n int) error {
			if n%2 == 1 {
				return errors.New("odd")
			}
			return nil
		})
		if res.Ops != 5 || res.Errors != 5 || res.FirstError != "odd" {
			t.Errorf("result %+v, want 5 ops, 5 errors, first \"odd\"", res)
		}
	})
}

func TestNextToken(t *testing.T) {
	tests := []struct{ name, tail, want string }{
		{"Token", "</reservationSet><nextToken>abc&amp;d</nextToken></DescribeInstancesResponse>", "abc&d"},
		{"None", "</reservationSet></DescribeInstancesResponse>", ""},
		{"Cut", "<nextToken>abc", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := nextToken([]byte(tt.tail)); got != tt.want {
				t.Errorf("nextToken = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRawAnswer_NextToken(t *testing.T) {
	// moto writes the token before the reservations, far from the end.
	first := rawAnswer{
		head: []byte("<DescribeInstancesResponse><nextToken>m1</nextToken><reservationSet>"),
		tail: []byte("</reservationSet></DescribeInstancesResponse>"),
	}
	last := rawAnswer{
		head: []byte("<DescribeInstancesResponse><reservationSet>"),
		tail: []byte("</reservationSet><nextToken>c2</nextToken></DescribeInstancesResponse>"),
	}
	for _, tt := range []struct {
		name string
		a    rawAnswer
		want string
	}{{"First", first, "m1"}, {"Last", last, "c2"}, {"None", rawAnswer{}, ""}} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.a.nextToken(); got != tt.want {
				t.Errorf("nextToken() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTailWriter(t *testing.T) {
	w := &tailWriter{}
	var all []byte
	for i := range 3000 {
		chunk := bytes.Repeat([]byte{byte('a' + i%26)}, i%7+1)
		all = append(all, chunk...)
		w.Write(chunk)
	}
	if got, want := w.bytes(), all[len(all)-tailSize:]; !bytes.Equal(got, want) {
		t.Errorf("tail of %d bytes differs from the last %d written", len(got), len(want))
	}
}

func TestRecorder_Replay(t *testing.T) {
	// A server that answers each request with its own form.
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Write([]byte("<answer>" + string(b) + "</answer>"))
	}))
	defer origin.Close()

	rec := newRecorder()
	rec.next = http.DefaultTransport
	client := &http.Client{Transport: rec}
	post := func(c *http.Client, url, form string) string {
		t.Helper()
		resp, err := c.Post(url, "application/x-www-form-urlencoded", strings.NewReader(form))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}

	// Only answers given while recording are kept.
	post(client, origin.URL, "Action=DescribeInstances&InstanceId.1=i-1")
	rec.setOn(true)
	first := post(client, origin.URL, "Action=DescribeInstances&MaxResults=1000")
	post(client, origin.URL, "Action=DescribeInstances&MaxResults=1000&Version=2")
	page2 := post(client, origin.URL, "Action=DescribeInstances&MaxResults=1000&NextToken=t2")
	rec.setOn(false)
	if n := len(rec.recorded()); n != 2 {
		t.Fatalf("recorded %d answers, want 2", n)
	}

	// The ceiling sends them back by kind of request.
	c, err := startCeiling(rec.recorded())
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	if got := post(http.DefaultClient, c.url, "MaxResults=1000&Action=DescribeInstances&X=y"); got != first {
		t.Errorf("first page = %q, want %q", got, first)
	}
	if got := post(http.DefaultClient, c.url, "Action=DescribeInstances&NextToken=t2&MaxResults=1000"); got != page2 {
		t.Errorf("second page = %q, want %q", got, page2)
	}
	resp, err := http.Post(c.url, "application/x-www-form-urlencoded",
		strings.NewReader("Action=DescribeInstances&InstanceId.1=i-1"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unrecorded request: status %d, want 404", resp.StatusCode)
	}
}

// TestRun drives every API scenario against minicloud and the ceiling on
// a small fleet, and checks that each measured something and that the
// ceiling sent minicloud's bytes.
func TestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts simulated hosts")
	}
	var progress bytes.Buffer
	rep, err := Run(context.Background(), Options{
		Instances: 60, Clients: 2, Duration: 200 * time.Millisecond, APIHosts: 2,
		Placements: 200, PlacementHosts: 20,
		NoMoto: true, Dir: t.TempDir(), Progress: &progress,
	})
	if err != nil {
		t.Fatal(err)
	}

	want := map[string]bool{
		"run/sdk": true, "describe-one/sdk": true, "describe-one/raw": true,
		"describe-all/sdk": true, "describe-all/raw": true, "tags/sdk": true,
	}
	for _, s := range rep.Scenarios {
		key := s.Name + "/" + s.Mode
		if !want[key] {
			t.Errorf("unexpected scenario %s", key)
			continue
		}
		delete(want, key)
		for name, r := range map[string]*Result{"minicloud": s.Minicloud, "ceiling": s.Ceiling} {
			if r == nil || r.Ops == 0 || r.Errors > 0 {
				t.Errorf("%s on %s: %+v, want operations and no errors", key, name, r)
			}
		}
		if s.OverCeiling <= 0 {
			t.Errorf("%s: no ratio over the ceiling", key)
		}
	}
	for key := range want {
		t.Errorf("scenario %s missing", key)
	}

	// run made every instance: 60 in all, one call untimed.
	run := rep.Scenarios[0]
	if run.Name != ScenarioRun || run.Minicloud.Ops != 5 {
		t.Errorf("first scenario %s with %d calls, want run with 5", run.Name, run.Minicloud.Ops)
	}
	for _, s := range rep.Scenarios {
		if s.Name == ScenarioDescribeAll && s.Mode == ModeRaw &&
			s.Minicloud.BytesPerOp != s.Ceiling.BytesPerOp {
			t.Errorf("listing: minicloud sent %d bytes, the ceiling %d; want the same",
				s.Minicloud.BytesPerOp, s.Ceiling.BytesPerOp)
		}
	}
	if rep.MotoNote == "" || rep.Scheduler == nil || rep.Scheduler.TotalMS <= 0 {
		t.Errorf("report %+v: want a note on moto and the scheduler timed", rep)
	}

	// Both outputs carry the figures.
	var table, js bytes.Buffer
	rep.WriteTable(&table)
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"describe-all", "x ceiling", "targets:"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	if !strings.Contains(js.String(), `"minicloud_over_ceiling"`) {
		t.Errorf("JSON lacks the ratio:\n%s", js.String())
	}
}
