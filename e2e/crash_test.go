package e2e

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riscd/riscd"
)

// crashSenders is how many transmitter connections push SETs at once.
const crashSenders = 4

// TestCrashSafety kills riscd with SIGKILL at random moments while SETs
// stream in for many subjects (every Google event type, several senders
// retrying as Google does), restarts it each time, and then checks the
// promises: every acknowledged SET is in the inbox and was acted on exactly
// once, every webhook reached the app (duplicates share a webhook-id), the
// store passes its check, and the grants made by consent flows before the
// crashes are all there, once each, in the state their events lead to.
func TestCrashSafety(t *testing.T) {
	s := suiteSettings(t)
	ctx := context.Background()
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("RISCD_E2E_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("RISCD_E2E_SEED=%q: %v", v, err)
		}
		seed = n
	}
	t.Logf("seed %d (RISCD_E2E_SEED reproduces the kill moments and the event mix)", seed)
	rng := rand.New(rand.NewPCG(seed, 1))

	nUsers := 16
	if s.long {
		nUsers = 48
	}
	users := simUsers("crash", nUsers)
	r := newRig(t, rigOptions{users: users, webhooks: true})
	r.start()

	// Grants through the consent flow, before any crash.
	jtis := &jtiSource{prefix: "CRASH"}
	scripts := make([]script, len(users))
	grantIDs := map[string]string{} // sub -> grant id
	for i, u := range users {
		g := r.mustConsent(ctx, u)
		grantIDs[u.Sub] = g.ID
		info, ok := r.sim.Grant(u.Sub)
		if !ok || len(info.RefreshTokens) != 1 {
			t.Fatalf("googlesim grant of %s: %+v, want one refresh token", u.Email, info)
		}
		scripts[i] = scriptFor(jtis, i, u, info.RefreshTokens[0])
	}
	sendCtx, cancelSend := context.WithTimeout(ctx, 10*time.Minute)
	defer cancelSend()
	snd := startScriptSenders(sendCtx, r, crashSenders, seed, s.kills, jtis, scripts)

	for i := range s.kills {
		time.Sleep(time.Duration(100+rng.IntN(700)) * time.Millisecond)
		if err := snd.failed(); err != nil {
			t.Fatalf("sender: %v", err)
		}
		r.kill()
		if rng.IntN(2) == 0 {
			time.Sleep(time.Duration(rng.IntN(200)) * time.Millisecond)
		}
		snd.round.Store(int64(i + 1))
		r.start()
	}
	time.Sleep(300 * time.Millisecond)
	acked, retried, err := snd.finish()
	if err != nil {
		t.Fatalf("sender: %v", err)
	}
	t.Logf("%d kills; %d SETs acknowledged, %d deliveries retried after a 5xx or a dropped connection", s.kills, len(acked), retried)
	if retried == 0 {
		t.Errorf("no delivery was ever retried: the kills did not interrupt the stream")
	}

	r.waitDrained(ctx, 3*time.Minute)
	r.stop()
	db := r.checkStore(ctx)
	verifyAcked(t, ctx, db, r.hooks, acked)
	ids, deliveries := r.hooks.counts()
	t.Logf("webhooks: %d ids, %d deliveries (%d duplicates)", ids, deliveries, deliveries-ids)
	replays, recovered := journalReplays(t, r.logPath)
	t.Logf("inbox journal: replayed at %d starts; %d acknowledged SETs reached the inbox only through a replay", replays, recovered)
	if s.kills >= 10 && recovered == 0 {
		t.Errorf("no kill caught a SET between its 202 and its move into the inbox: the journal's replay went untested")
	}

	// Every grant made before the crashes is there once, in its script's state.
	checkScripts(t, ctx, db, scripts, grantIDs)
}

// checkScripts checks that each script's subject has exactly the grant
// its consent made (grantIDs, by sub), in the state the script leads to.
func checkScripts(t *testing.T, ctx context.Context, db riscd.DB, scripts []script, grantIDs map[string]string) {
	t.Helper()
	bySub := map[string][]riscd.Grant{}
	for _, g := range allGrants(t, ctx, db) {
		bySub[g.Sub] = append(bySub[g.Sub], g)
	}
	for _, sc := range scripts {
		gs := bySub[sc.user.Sub]
		if len(gs) != 1 || gs[0].ID != grantIDs[sc.user.Sub] {
			t.Errorf("grants of %s: %d (%v), want exactly %s", sc.user.Sub, len(gs), gs, grantIDs[sc.user.Sub])
			continue
		}
		if got := string(gs[0].Status); got != sc.status {
			t.Errorf("grant of %s is %s, want %s", sc.user.Sub, got, sc.status)
		}
		if sc.status == "revoked" && !gs[0].RefreshToken.IsZero() {
			t.Errorf("revoked grant of %s still holds a refresh token", sc.user.Sub)
		}
		a, err := db.Account(ctx, sc.user.Sub)
		if err != nil {
			t.Errorf("account of %s: %v", sc.user.Sub, err)
			continue
		}
		if msg := sc.check(a); msg != "" {
			t.Errorf("account of %s: %+v: %s", sc.user.Sub, a, msg)
		}
	}
}

// scriptSenders push the steps of scripts, with filler SETs between, from
// several goroutines, as Google's retrying deliveries do, and record every
// SET acknowledged. Step k of a script waits for round k*kills/maxSteps
// (the caller advances round after each kill), so the scripts advance
// across the whole crash loop; once finish is called, the rest follow.
type scriptSenders struct {
	led      ledger
	round    atomic.Int64 // kills so far: unlocks script steps
	stopping atomic.Bool  // no more filler once set
	wg       sync.WaitGroup
	failures chan error
}

// startScriptSenders starts n senders through r, splitting scripts among
// them; seed fixes their choices.
func startScriptSenders(ctx context.Context, r *rig, n int, seed uint64, kills int, jtis *jtiSource, scripts []script) *scriptSenders {
	s := &scriptSenders{failures: make(chan error, n)}
	maxSteps := 0
	for _, sc := range scripts {
		maxSteps = max(maxSteps, len(sc.steps))
	}
	for w := range n {
		var mine []*script
		for i := w; i < len(scripts); i += n {
			mine = append(mine, &scripts[i])
		}
		wrng := rand.New(rand.NewPCG(seed, uint64(w)+2))
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			next := make([]int, len(mine))
			for {
				var p *plannedSET
				pending := false
				for i, sc := range mine {
					if next[i] >= len(sc.steps) {
						continue
					}
					pending = true
					unlocked := s.stopping.Load() || s.round.Load() >= int64(next[i]*kills/maxSteps)
					if unlocked && wrng.IntN(3) == 0 {
						p = &sc.steps[next[i]]
						next[i]++
						break
					}
				}
				if p == nil {
					if s.stopping.Load() && !pending {
						return
					}
					f := fillerSET(jtis, wrng, mine)
					p = &f
				}
				res, err := r.deliverPlanned(ctx, *p)
				if err != nil {
					s.failures <- err
					return
				}
				s.led.add(*p, res.retried)
				time.Sleep(time.Duration(2+wrng.IntN(8)) * time.Millisecond)
			}
		}()
	}
	return s
}

// failed returns a sender's error, if one has failed so far.
func (s *scriptSenders) failed() error {
	select {
	case err := <-s.failures:
		return err
	default:
		return nil
	}
}

// finish lets the scripts run to their ends, waits for the senders and
// returns the SETs acknowledged and the deliveries retried.
func (s *scriptSenders) finish() (acked []plannedSET, retried int, err error) {
	s.stopping.Store(true)
	s.wg.Wait()
	close(s.failures)
	for e := range s.failures {
		return nil, 0, e
	}
	s.led.mu.Lock()
	retried = s.led.retried
	s.led.mu.Unlock()
	return s.led.list(), retried, nil
}

// fillerSET is an event that leaves the scripted state as it is: a
// sessions-revoked or credential-change-required about a subject whose
// script keeps its account, or any event about a subject riscd never saw.
func fillerSET(j *jtiSource, rng *rand.Rand, mine []*script) plannedSET {
	if n := rng.IntN(4); n == 0 && len(mine) > 0 {
		sc := mine[rng.IntN(len(mine))]
		if sc.steps[len(sc.steps)-1].name != "account-purged" {
			if rng.IntN(2) == 0 {
				return sessionsRevoked(j, sc.user.Sub)
			}
			return credentialChange(j, sc.user.Sub)
		}
	}
	return unknownSubjectSET(j, rng, "crash")
}

// journalReplays reads riscd's JSON log: how many starts replayed the inbox
// journal, and how many entries those replays added to the inbox (SETs
// acknowledged, then killed before the applier moved them).
func journalReplays(t *testing.T, logPath string) (starts, added int) {
	t.Helper()
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		var rec struct {
			Msg string `json:"msg"`
			New int    `json:"new"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "inbox journal replayed" {
			starts++
			added += rec.New
		}
	}
	return starts, added
}
