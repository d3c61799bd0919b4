package limit

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7":                     "192.0.2.7",
		"::ffff:192.0.2.7":              "192.0.2.7",
		"2001:db8:1:2:aaaa:bbbb:cccc:1": "2001:db8:1:2::",
		"2001:db8:1:2::ffff":            "2001:db8:1:2::",
		"2001:db8:1:3::1":               "2001:db8:1:3::",
		"not an address":                "not an address",
	} {
		if got := KeyOf(in); got != want {
			t.Errorf("KeyOf(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestClientIP(t *testing.T) {
	proxies, err := ParseProxies([]string{"10.0.0.0/8", "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseProxies([]string{"10.0.0.0/8", "proxy.example"}); err == nil {
		t.Error("a host name was taken for a proxy address")
	}
	for _, tc := range []struct {
		trusted     []netip.Prefix
		remote, xff string
		want        string
	}{
		{nil, "198.51.100.1:1", "203.0.113.5", "198.51.100.1"},
		{proxies, "10.1.1.1:1", "203.0.113.5", "203.0.113.5"},
		{proxies, "10.1.1.1:1", "203.0.113.9, 203.0.113.5", "203.0.113.5"},
		{proxies, "10.1.1.1:1", "203.0.113.5, 192.0.2.1", "203.0.113.5"},
		{proxies, "198.51.100.1:1", "203.0.113.5", "198.51.100.1"},
		{proxies, "10.1.1.1:1", "", "10.1.1.1"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.remote
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got := ClientIP(tc.trusted)(r); got != tc.want {
			t.Errorf("remote %s, X-Forwarded-For %q, %d proxies: %q, want %q", tc.remote, tc.xff, len(tc.trusted), got, tc.want)
		}
	}
}
