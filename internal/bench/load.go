package bench

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Load says how hard and how long a scenario drives its target: Clients
// goroutines each run one operation after another, until Count operations
// have started or Duration has passed, whichever comes first. A zero
// Count or Duration does not limit. Operations in flight when Duration
// passes are finished and counted, so a slow target still completes one.
type Load struct {
	Clients  int
	Count    int
	Duration time.Duration
}

// Result is what one scenario measured against one target.
type Result struct {
	Clients int     `json:"clients"`
	Ops     int     `json:"ops"`
	Errors  int     `json:"errors"`
	Seconds float64 `json:"seconds"`

	// PerSecond is the operations completed per second of wall time.
	PerSecond float64 `json:"per_second"`

	// Latency percentiles and mean of one operation, in milliseconds.
	P50  float64 `json:"p50_ms"`
	P99  float64 `json:"p99_ms"`
	Mean float64 `json:"mean_ms"`

	// BytesPerOp is the size of one operation's answers, where a
	// scenario measures it.
	BytesPerOp int64 `json:"bytes_per_op,omitempty"`

	// FirstError is the first failure, to tell why Errors is not zero.
	FirstError string `json:"first_error,omitempty"`
}

// op runs one operation. n counts the operations started so far, from 0,
// across all clients; client numbers the calling goroutine.
type op func(ctx context.Context, client, n int) error

// run drives do under l and measures it. Operations that fail count as
// errors and are left out of the latency figures.
func (l Load) run(ctx context.Context, do op) Result {
	clients := max(l.Clients, 1)
	start := time.Now()
	more := func(n int) bool {
		switch {
		case ctx.Err() != nil, l.Count > 0 && n >= l.Count:
			return false
		case l.Duration > 0:
			return time.Since(start) < l.Duration
		}
		return true
	}

	// Each client keeps its own latencies: no lock on the hot path.
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		mu       sync.Mutex // guards firstErr and errors
		firstErr error
		errors   int
	)
	lat := make([][]time.Duration, clients)
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n := int(next.Add(1) - 1)
				if !more(n) {
					return
				}
				t0 := time.Now()
				err := do(ctx, c, n)
				d := time.Since(t0)
				if err != nil {
					if ctx.Err() != nil {
						return // the whole run was cancelled
					}
					mu.Lock()
					errors++
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					continue
				}
				lat[c] = append(lat[c], d)
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)

	// Merge and summarise.
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	r := summarise(all, wall)
	r.Clients, r.Errors = clients, errors
	if firstErr != nil {
		r.FirstError = firstErr.Error()
	}
	return r
}

// summarise turns the latencies of the operations that succeeded, over
// wall time, into a Result.
func summarise(lat []time.Duration, wall time.Duration) Result {
	r := Result{Ops: len(lat), Seconds: wall.Seconds()}
	if len(lat) == 0 || wall <= 0 {
		return r
	}
	slices.Sort(lat)
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	r.PerSecond = float64(len(lat)) / wall.Seconds()
	r.P50 = ms(percentile(lat, 50))
	r.P99 = ms(percentile(lat, 99))
	r.Mean = ms(sum / time.Duration(len(lat)))
	return r
}

// percentile returns the p-th percentile of sorted by the nearest-rank
// method: the smallest value that at least p percent of values are at or
// below.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(p/100*float64(len(sorted)) + 0.9999999)
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// ms converts d to milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// String summarises r on one line, for progress output.
func (r Result) String() string {
	s := fmt.Sprintf("%d ops in %.2fs: %.1f/s, p50 %.2fms, p99 %.2fms",
		r.Ops, r.Seconds, r.PerSecond, r.P50, r.P99)
	if r.Errors > 0 {
		s += fmt.Sprintf(", %d errors (first: %s)", r.Errors, r.FirstError)
	}
	return s
}
