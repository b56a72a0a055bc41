package config

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Limits bounds what a client may ask of the API, so that no client, by
// mistake or on purpose, can hold the server's connections or take all
// its time. The defaults are generous: no rate limit, and timeouts that
// only a client that has stopped sending runs into.
type Limits struct {
	// RequestsPerSecond is how many requests each access key may make a
	// second, on average, before it is answered RequestLimitExceeded, as
	// EC2 throttles. Zero, the default, sets no limit.
	RequestsPerSecond float64 `toml:"requests_per_second"`

	// Burst is how many requests a key may make at once, past the rate;
	// the rate rounded up when zero.
	Burst int `toml:"burst"`

	// MaxBodyBytes bounds a request body; 1 MiB when zero. A larger body
	// is answered RequestEntityTooLarge.
	MaxBodyBytes int64 `toml:"max_body_bytes"`

	// ReadHeaderTimeout is how long a client may take to send a
	// request's headers, 10s when zero; ReadTimeout, how long for the
	// whole request, 1m when zero; IdleTimeout, how long a kept-alive
	// connection may wait for its next request, 2m when zero. A client
	// past one is disconnected.
	ReadHeaderTimeout Duration `toml:"read_header_timeout"`
	ReadTimeout       Duration `toml:"read_timeout"`
	IdleTimeout       Duration `toml:"idle_timeout"`
}

// The default limits.
const (
	DefaultMaxBodyBytes      = 1 << 20
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = time.Minute
	DefaultIdleTimeout       = 2 * time.Minute
)

// setDefaults fills in the limits left at zero.
func (l *Limits) setDefaults() {
	if l.RequestsPerSecond > 0 && l.Burst == 0 {
		l.Burst = int(math.Ceil(l.RequestsPerSecond))
	}
	if l.MaxBodyBytes == 0 {
		l.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if l.ReadHeaderTimeout.Duration == 0 {
		l.ReadHeaderTimeout.Duration = DefaultReadHeaderTimeout
	}
	if l.ReadTimeout.Duration == 0 {
		l.ReadTimeout.Duration = DefaultReadTimeout
	}
	if l.IdleTimeout.Duration == 0 {
		l.IdleTimeout.Duration = DefaultIdleTimeout
	}
}

// validate refuses negative limits, which would mean nothing.
func (l *Limits) validate() error {
	var errs []error
	if l.RequestsPerSecond < 0 || math.IsNaN(l.RequestsPerSecond) || l.Burst < 0 {
		errs = append(errs, errors.New("limits: requests_per_second and burst must not be negative"))
	}
	if l.MaxBodyBytes < 0 {
		errs = append(errs, errors.New("limits: max_body_bytes must not be negative"))
	}
	for _, t := range []struct {
		name string
		d    Duration
	}{
		{"read_header_timeout", l.ReadHeaderTimeout}, {"read_timeout", l.ReadTimeout},
		{"idle_timeout", l.IdleTimeout},
	} {
		if t.d.Duration < 0 {
			errs = append(errs, fmt.Errorf("limits: %s must not be negative", t.name))
		}
	}
	return errors.Join(errs...)
}
