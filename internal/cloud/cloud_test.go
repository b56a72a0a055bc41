package cloud_test

import (
	"strings"
	"testing"

	"github.com/minicloud/minicloud/internal/cloud"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"web", "web", true},
		{"web", "web1", false},
		{"web*", "web1", true},
		{"*", "", true},
		{"w?b", "wab", true},
		{"w?b", "wb", false},
		{"*-prod-*", "api-prod-1", true},
		{"*-prod-*", "api-dev-1", false},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
		{"?", "é"[:1], true},
		{strings.Repeat("*a", 30) + "b", strings.Repeat("a", 60), false},
		{`\*amazon\?\\`, `*amazon?\`, true},
		{`\*amazon\?\\`, `xamazony\`, false},
		{`web\*`, "web*", true},
		{`web\*`, "webserver", false},
		{`a\?`, "ab", false},
		{`*\**`, "x*y", true},
		{`*\**`, "xy", false},
		{`back\`, `back\`, true},
	}
	for _, tt := range tests {
		if got := cloud.Match(tt.pattern, tt.s); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id := cloud.NewID(cloud.PrefixInstance)
		if !cloud.ValidID(cloud.PrefixInstance, id) || len(id) != 19 {
			t.Fatalf("NewID = %q, not i- and 17 hex digits", id)
		}
		if seen[id] {
			t.Fatalf("NewID repeated %q", id)
		}
		seen[id] = true
	}
}

func TestValidID(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"i-1234567890abcdef0", true},
		{"i-1a2b3c4d", true},
		{"i-1A2B3C4D", false},
		{"i-123", false},
		{"i-1234567890abcdefg", false},
		{"ami-1234567890abcdef0", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := cloud.ValidID(cloud.PrefixInstance, tt.id); got != tt.want {
			t.Errorf("ValidID(i-, %q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}

func TestInstanceState_Code(t *testing.T) {
	want := map[cloud.InstanceState]int{
		cloud.StatePending: 0, cloud.StateRunning: 16,
		cloud.StateShuttingDown: 32, cloud.StateTerminated: 48,
		cloud.StateStopping: 64, cloud.StateStopped: 80,
	}
	for s, code := range want {
		if got := s.Code(); got != code {
			t.Errorf("%s.Code() = %d, want %d", s, got, code)
		}
	}
	if cloud.InstanceState("sleeping").Valid() {
		t.Error("an unknown state is valid")
	}
}

func TestInstancesNotFound(t *testing.T) {
	got := cloud.InstancesNotFound([]string{"i-1", "i-2"}).Message
	want := "The instance IDs 'i-1, i-2' do not exist"
	if got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
}
