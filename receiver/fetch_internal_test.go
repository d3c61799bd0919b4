package receiver

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

var now0 = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

func TestCacheTTL(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cc, exp string
		want    time.Duration
	}{
		{"Google's header", "public, max-age=19854, must-revalidate, no-transform", "", 19854 * time.Second},
		{"max-age alone", "max-age=60", "", time.Minute},
		{"upper case directive", "MAX-AGE=60", "", time.Minute},
		{"quoted value", `max-age="60"`, "", time.Minute},
		{"first max-age wins", "max-age=60, max-age=6000", "", time.Minute},
		{"no-store", "no-store, max-age=600", "", 0},
		{"no-cache", "max-age=600, no-cache", "", 0},
		{"max-age beyond int64 is ignored", "max-age=99999999999999999999", "", 0},
		{"absurd max-age is bounded", "max-age=99999999999999999", "", time.Duration(1<<31) * time.Second},
		{"negative max-age ignored", "max-age=-5", "", 0},
		{"garbage max-age falls back to Expires", "max-age=soon", now0.Add(time.Hour).Format(http.TimeFormat), time.Hour},
		{"Expires", "", now0.Add(2 * time.Hour).Format(http.TimeFormat), 2 * time.Hour},
		{"Expires in the past", "", now0.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"Expires garbage", "", "tomorrow", 0},
		{"nothing", "", "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.cc != "" {
				h.Set("Cache-Control", tc.cc)
			}
			if tc.exp != "" {
				h.Set("Expires", tc.exp)
			}
			if got := cacheTTL(h, now0); got != tc.want {
				t.Errorf("cacheTTL(%q, %q) = %v, want %v", tc.cc, tc.exp, got, tc.want)
			}
		})
	}
}

func TestFetcherClampsCachingHeaders(t *testing.T) {
	var cc, exp string
	body := `{"keys":[]}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if cc != "" {
			w.Header().Set("Cache-Control", cc)
		}
		if exp != "" {
			w.Header().Set("Expires", exp)
		}
		_, _ = io.WriteString(w, body)
	}))
	defer srv.Close()
	f := &fetcher{ctx: context.Background(), client: srv.Client(), timeout: 5 * time.Second,
		now: func() time.Time { return now0 }, min: 5 * time.Minute, max: 24 * time.Hour}
	for _, tc := range []struct {
		name, cc, exp, want string
	}{
		{"a year is cut to a day", "max-age=31536000", "", "max-age=86400"},
		{"a minute is raised to five", "max-age=60", "", "max-age=300"},
		{"an hour is kept", "public, max-age=3600", "", "max-age=3600"},
		{"no-store refreshes at the minimum", "no-store", "", "max-age=300"},
		{"Expires is turned into max-age", "", now0.Add(2 * time.Hour).Format(http.TimeFormat), "max-age=7200"},
		{"no header refreshes at the minimum", "", "", "max-age=300"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cc, exp = tc.cc, tc.exp
			res, err := f.Get(srv.URL)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if got := res.Header.Get("Cache-Control"); got != tc.want {
				t.Errorf("Cache-Control = %q, want %q", got, tc.want)
			}
			if got := res.Header.Get("Expires"); got != "" {
				t.Errorf("Expires = %q, want it removed", got)
			}
			b, _ := io.ReadAll(res.Body)
			if string(b) != body {
				t.Errorf("body = %q, want %q", b, body)
			}
		})
	}
	t.Run("oversized document", func(t *testing.T) {
		cc, exp, body = "", "", strings.Repeat(" ", maxDocument+1)
		if _, err := f.Get(srv.URL); !errors.Is(err, errTooLarge) {
			t.Errorf("Get = %v, want errTooLarge", err)
		}
	})
}

func TestIsSETType(t *testing.T) {
	for typ, want := range map[string]bool{
		"secevent+jwt": true, "SecEvent+JWT": true, "application/secevent+jwt": true, "APPLICATION/secevent+jwt": true,
		"": false, "JWT": false, "application/": false, "application/jwt": false, "text/secevent+jwt": false,
		"secevent+jwt; charset=utf-8": false, "application/application/secevent+jwt": false,
	} {
		if got := isSETType(typ); got != want {
			t.Errorf("isSETType(%q) = %v, want %v", typ, got, want)
		}
	}
}

func TestRefreshWindow(t *testing.T) {
	for minRefresh, want := range map[time.Duration]time.Duration{
		5 * time.Minute: time.Minute, time.Hour: time.Minute, time.Minute: 12 * time.Second, time.Second: time.Second,
	} {
		if got := refreshWindow(minRefresh); got != want {
			t.Errorf("refreshWindow(%v) = %v, want %v", minRefresh, got, want)
		}
	}
}

func TestClip(t *testing.T) {
	long := strings.Repeat("é", 40) // 80 bytes
	got := clip(long)
	if len(got) > maxEcho+3 || !strings.HasSuffix(got, "...") || !strings.HasPrefix(long, strings.TrimSuffix(got, "...")) {
		t.Errorf("clip = %q, want at most 64 bytes of the input on a rune boundary, marked", got)
	}
	if got := clip("short"); got != "short" {
		t.Errorf("clip(short) = %q", got)
	}
}
