package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/store/boltdb"
	"github.com/riscd/riscd/store/boltdb/bolttest"
)

// notifyOn is a slog handler that sends each record with the given message
// to ch.
type notifyOn struct {
	msg string
	ch  chan<- slog.Record
}

func (h notifyOn) Enabled(context.Context, slog.Level) bool { return true }
func (h notifyOn) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h notifyOn) WithGroup(string) slog.Handler            { return h }
func (h notifyOn) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		select {
		case h.ch <- r.Clone():
		default:
		}
	}
	return nil
}

// A damaged page in the flows bucket, which the sweep at start walks: the
// sweep fails and says so, and riscd keeps serving.
func TestServeOnZeroedLeafPageKeepsRunning(t *testing.T) {
	cfg := simConfig(t, startSim(t))
	l, err := load(cfg, nil, secretsOptions{needKey: true})
	if err != nil {
		t.Fatal(err)
	}
	db, err := boltdb.Open(t.Context(), boltdb.Options{Path: l.cfg.Store.Path, Key: l.secrets.StoreKey})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(t.Context(), func(tx riscd.Tx) error {
		for i := range 300 {
			f := riscd.Flow{ID: riscd.Secret(fmt.Sprint("flow-id-", i)), State: "st", PKCEVerifier: "pv", Nonce: "n", Sub: fmt.Sprint("damage-flow-", i)}
			if err := tx.CreateFlow(t.Context(), f); err != nil {
				return err
			}
		}
		return nil
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	bolttest.ZeroLeafHolding(t, l.cfg.Store.Path, []byte("damage-flow-150"))

	failed := make(chan slog.Record, 1)
	m := &Main{Config: l.cfg, Secrets: l.secrets, Logger: slog.New(notifyOn{msg: "sweep of old flows and sessions failed", ch: failed})}
	if err := m.Run(t.Context()); err != nil {
		t.Fatalf("Run: %v", err)
	}
	defer m.Close()
	var r slog.Record
	select {
	case r = <-failed:
	case <-t.Context().Done():
		t.Fatal("the sweep never failed")
	}
	var msg string
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "err" {
			msg = a.Value.String()
		}
		return true
	})
	if !strings.Contains(msg, l.cfg.Store.Path+" is damaged: ") || !strings.Contains(msg, "riscd store check") {
		t.Errorf("sweep error %q; want the store file named as damaged and the check suggested", msg)
	}
	waitReady(t, "http://"+m.InternalAddr())
}
