package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/minicloud/minicloud/internal/config"
)

func TestLimits(t *testing.T) {
	t.Run("Defaults", func(t *testing.T) {
		cfg, err := config.Load("")
		if err != nil {
			t.Fatal(err)
		}
		got, want := cfg.Limits, config.Limits{
			MaxBodyBytes:      1 << 20,
			ReadHeaderTimeout: config.Duration{Duration: 10 * time.Second},
			ReadTimeout:       config.Duration{Duration: time.Minute},
			IdleTimeout:       config.Duration{Duration: 2 * time.Minute},
		}
		if got != want {
			t.Errorf("got %+v, want %+v (no rate limit)", got, want)
		}
	})

	t.Run("OK", func(t *testing.T) {
		cfg, err := config.Load(write(t, `
[limits]
requests_per_second = 2.5
read_header_timeout = "2s"
idle_timeout = "30s"
max_body_bytes = 65536
`))
		if err != nil {
			t.Fatal(err)
		}
		l := cfg.Limits
		if l.RequestsPerSecond != 2.5 || l.Burst != 3 || l.MaxBodyBytes != 65536 ||
			l.ReadHeaderTimeout.Duration != 2*time.Second || l.ReadTimeout.Duration != time.Minute ||
			l.IdleTimeout.Duration != 30*time.Second {
			t.Errorf("limits = %+v; want the burst to default to the rate rounded up", l)
		}
		if err := cfg.Validate(); err != nil {
			t.Error(err)
		}
	})

	t.Run("ErrNegative", func(t *testing.T) {
		for _, text := range []string{
			"[limits]\nrequests_per_second = -1",
			"[limits]\nrequests_per_second = 1\nburst = -2",
			"[limits]\nmax_body_bytes = -1",
			"[limits]\nread_header_timeout = \"-1s\"",
			"[limits]\nidle_timeout = \"-5m\"",
		} {
			cfg, err := config.Load(write(t, text))
			if err != nil {
				t.Fatal(err)
			}
			if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "negative") {
				t.Errorf("%q: Validate() = %v, want an error about a negative limit", text, err)
			}
		}
	})

	t.Run("ErrUnknownSetting", func(t *testing.T) {
		_, err := config.Load(write(t, "[limits]\nrequests_per_minute = 5"))
		if err == nil || !strings.Contains(err.Error(), "requests_per_minute") {
			t.Errorf("err = %v, want it to name the unknown setting", err)
		}
	})
}
