package store

import (
	"context"
	"strings"
	"testing"

	"github.com/riscd/riscd/seal"
)

func TestOpenPostgresKeepsThePasswordOut(t *testing.T) {
	k, _, err := seal.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	const pw = "pa55-w0rd-in-url"
	// Nothing listens on port 1: the engine is reached, the connection
	// fails, and the error says so without the password.
	_, err = Open(context.Background(), Options{Engine: EnginePostgres, Key: k,
		URL: "postgres://riscd:" + pw + "@127.0.0.1:1/riscd?sslmode=disable&connect_timeout=2"})
	if err == nil || strings.Contains(err.Error(), pw) || !strings.Contains(err.Error(), "connect") {
		t.Fatalf("Open = %v; want a connection error without the password", err)
	}
}

func TestOpenUnknownEngine(t *testing.T) {
	if _, err := Open(context.Background(), Options{Engine: "sqlite"}); err == nil || !strings.Contains(err.Error(), `"sqlite"`) {
		t.Fatalf("Open = %v", err)
	}
}
