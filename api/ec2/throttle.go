package ec2

import (
	"sync"
	"time"

	"github.com/minicloud/minicloud/internal/cloud"
)

// errThrottled is EC2's answer to a caller over its request rate. The
// SDKs and the aws CLI know the code and retry after a backoff.
var errThrottled = &cloud.Error{
	Code:    cloud.ErrCodeRequestLimitExceeded,
	Message: "Request limit exceeded.",
}

// throttle holds a token bucket for each access key: each request takes
// a token, and tokens come back at rate a second up to burst. A caller
// that keeps within the rate is never refused; one that sends a burst
// larger than burst is refused until tokens have come back.
type throttle struct {
	rate  float64 // tokens a second
	burst float64 // the most tokens a bucket holds
	now   func() time.Time

	mu      sync.Mutex         // guards buckets
	buckets map[string]*bucket // by access key id
}

// bucket is one access key's tokens as of last.
type bucket struct {
	tokens float64
	last   time.Time
}

// newThrottle returns a throttle of rate requests a second with bursts of
// up to burst, or nil, which allows everything, when rate is not
// positive. A burst below one is one.
func newThrottle(rate float64, burst int, now func() time.Time) *throttle {
	if rate <= 0 {
		return nil
	}
	return &throttle{
		rate: rate, burst: max(1, float64(burst)), now: now,
		buckets: map[string]*bucket{},
	}
}

// allow takes a token from the bucket of accessKeyID, reporting false
// when it is empty. Only keys that signed a request get a bucket, so the
// map holds no more buckets than there are configured keys.
func (t *throttle) allow(accessKeyID string) bool {
	if t == nil {
		return true
	}
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()

	// Refill for the time since the key's last request.
	b, ok := t.buckets[accessKeyID]
	if !ok {
		b = &bucket{tokens: t.burst, last: now}
		t.buckets[accessKeyID] = b
	}
	if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
		b.tokens = min(t.burst, b.tokens+elapsed*t.rate)
		b.last = now
	}

	// Take a token, if there is one.
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
