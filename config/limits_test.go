package config

import "testing"

// Bad bounds are config errors naming the file and the key.
func TestLimitsConfigErrors(t *testing.T) {
	f := writeTestFiles(t, "")
	if errs := configErrors(t, f.config, nil); errs != nil {
		t.Fatalf("defaults refused: %v", errs)
	}
	errs := configErrors(t, f.config, []string{
		"RISCD_PUBLIC_MAX_CONNECTIONS=0", "RISCD_PUBLIC_MAX_CONNECTIONS_PER_CLIENT=0",
		"RISCD_PUBLIC_IDLE_TIMEOUT=0s", "RISCD_PUBLIC_READ_HEADER_TIMEOUT=2h",
		"RISCD_PUBLIC_TRUSTED_PROXIES=10.0.0.0/8,proxy.example", "RISCD_PUBLIC_CONSENT_PER_MINUTE=0",
		"RISCD_PUBLIC_MAX_PENDING_FLOWS=0", "RISCD_INTERNAL_MAX_CONNECTIONS=0",
		"RISCD_INTERNAL_ALLOWED_HOSTS=admin.example,https://x.example", "RISCD_INTERNAL_TRUSTED_PROXIES=300.1.1.1",
	})
	want := []string{"public.max_connections", "public.max_connections_per_client", "public.idle_timeout",
		"public.read_header_timeout", "public.trusted_proxies", "public.consent_per_minute", "public.max_pending_flows",
		"internal.max_connections", "internal.allowed_hosts[1]", "internal.trusted_proxies"}
	got := map[string]bool{}
	for _, e := range errs {
		got[e.Key] = true
		if e.File != f.config {
			t.Errorf("%s: file %q, want %q", e.Key, e.File, f.config)
		}
	}
	for _, k := range want {
		if !got[k] {
			t.Errorf("no error for %s; got %v", k, errs)
		}
	}
	if len(errs) != len(want) {
		t.Errorf("got %d errors, want %d: %v", len(errs), len(want), errs)
	}
}
