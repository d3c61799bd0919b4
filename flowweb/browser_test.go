package flowweb_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/riscd/riscd/internal/testkit"
)

// TestBrowserConsent drives headless Chromium through the consent flow:
// riscd's index, Connect, googlesim's consent page with one feature
// unticked, Allow, and back on riscd showing exactly the granted features.
func TestBrowserConsent(t *testing.T) {
	e := newEnv(t, envOptions{})
	dir := testkit.ArtifactDir(t)

	tctx := testkit.Chromium(t)
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(tctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	location := func() string {
		t.Helper()
		loc, err := chromedp.Run(tctx, chromedp.Location())
		if err != nil {
			t.Fatalf("location: %v", err)
		}
		return loc
	}

	do("open riscd on a phone-sized screen",
		chromedp.EmulateViewport(390, 844),
		chromedp.Navigate(e.srv.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("connect")),
	)
	do("connect", chromedp.Click(chromedp.ID("connect")), chromedp.WaitVisible(chromedp.ID("consent")))
	if loc := location(); !strings.HasPrefix(loc, e.sim.URL()) {
		t.Fatalf("after Connect the browser is at %s, want googlesim's consent page", loc)
	}
	do("choose the account, untick calendar, allow",
		chromedp.Click(chromedp.CSS(`input[name="user"][value="`+e.user.Sub+`"]`)),
		chromedp.Click(chromedp.CSS(`input[name="scope"][value="`+calendarScope+`"]`)),
		chromedp.Click(chromedp.CSS(`button[value="allow"]`)),
		chromedp.WaitVisible(chromedp.ID("features")),
	)
	if loc := location(); loc != e.srv.URL+"/" {
		t.Errorf("back on %s, want riscd's index without code or state", loc)
	}

	rows, err := chromedp.Run(tctx, chromedp.AttributesAll(chromedp.CSSAll("li.feature")))
	if err != nil {
		t.Fatalf("feature rows: %v", err)
	}
	var enabled, shown []string
	for _, r := range rows {
		shown = append(shown, r["data-feature"])
		if r["data-enabled"] == "true" {
			enabled = append(enabled, r["data-feature"])
		}
	}
	if !slices.Equal(enabled, []string{"drive"}) || len(shown) != 2 {
		t.Errorf("features shown %v, enabled %v; want calendar and drive shown, only drive enabled", shown, enabled)
	}
	who, err := chromedp.Run(tctx, chromedp.Text(chromedp.ID("who")))
	if err != nil || strings.TrimSpace(who) != e.user.Email {
		t.Errorf("header shows %q (%v), want %s", who, err, e.user.Email)
	}
	// The stylesheet loaded under the Content-Security-Policy.
	bg, err := chromedp.Run(tctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector(".bar")).backgroundColor`))
	if err != nil || bg != "rgb(18, 58, 94)" {
		t.Errorf("header background %q (%v): the stylesheet did not apply", bg, err)
	}
	if g := e.onlyGrant(); slices.Contains(g.Scopes, calendarScope) || !slices.Contains(g.Scopes, driveScope) {
		t.Errorf("stored scopes %v, want drive without calendar", g.Scopes)
	}

	for _, vp := range []struct {
		name          string
		width, height int64
	}{{"narrow", 390, 844}, {"wide", 1280, 900}} {
		do("resize to "+vp.name, chromedp.EmulateViewport(vp.width, vp.height))
		png, err := chromedp.Run(tctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		path := filepath.Join(dir, "flowweb-consent-"+vp.name+".png")
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatalf("write screenshot: %v", err)
		}
		t.Logf("screenshot of riscd's index after consent (%s, %dx%d): %s", vp.name, vp.width, vp.height, path)
	}

	do("call drive's test API",
		chromedp.EmulateViewport(390, 844),
		chromedp.Click(chromedp.CSS(`li[data-feature="drive"] a.button`)),
		chromedp.WaitVisible(chromedp.ID("answer")),
	)
	answer, err := chromedp.Run(tctx, chromedp.Text(chromedp.ID("answer")))
	if err != nil || !strings.Contains(answer, "Quarterly report") {
		t.Errorf("feature page answer %q (%v), want the Drive file list", answer, err)
	}
	png, err := chromedp.Run(tctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(dir, "flowweb-feature-narrow.png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatalf("write screenshot: %v", err)
	}
	t.Logf("screenshot of the drive feature page (narrow): %s", path)

	// A real browser's form POST (Referrer-Policy no-referrer makes it send
	// Origin: null) passes the CSRF checks.
	do("sign out of riscd",
		chromedp.Navigate(e.srv.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("clear")),
		chromedp.Click(chromedp.ID("clear")),
		chromedp.WaitVisible(chromedp.CSS(`[data-code="signed_out"]`)),
	)
	if st, err := e.db.Stats(context.Background()); err != nil || st.Sessions != 0 {
		t.Errorf("sessions after signing out: %d (%v), want 0", st.Sessions, err)
	}
}
