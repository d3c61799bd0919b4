package testkit

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumNames are where Debian and other distributions put Chromium.
var chromiumNames = []string{"chromium", "chromium-browser", "chromium-headless-shell", "/usr/bin/chromium", "/usr/lib/chromium/chromium"}

// Chromium starts headless Chromium for one test and returns a context to
// drive it with chromedp, cancelled after two minutes or when the test
// ends. A missing Chromium fails the test: CI installs Debian's chromium.
func Chromium(tb testing.TB) context.Context {
	tb.Helper()
	path := ""
	for _, name := range chromiumNames {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		tb.Fatal("chromium not found in PATH: install Debian's chromium (apt-get install chromium); .ci/run does")
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(tb.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	tb.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(allocCtx)
	tb.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // starts the browser, bound to ctx
		tb.Fatalf("start chromium %s: %v", path, err)
	}
	tctx, tcancel := context.WithTimeout(ctx, 2*time.Minute)
	tb.Cleanup(tcancel)
	return tctx
}

// ArtifactDir is where a test keeps screenshots: $RISCD_TEST_ARTIFACTS,
// or a temporary folder.
func ArtifactDir(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv("RISCD_TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(tb.TempDir(), "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatalf("artifact folder: %v", err)
	}
	return dir
}
