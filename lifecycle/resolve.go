package lifecycle

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/dispatch"
	"github.com/riscd/riscd/events"
)

// noTarget says why an event acts on nobody, for its record entry.
type noTarget struct {
	sub     string
	outcome string
	detail  string
}

// resolve finds the subjects an event acts on. The events of a transmitter
// in Config.Transmitters are resolved by its mappings (resolveMapped). An
// event that names no subject gets one target with an empty sub (only
// record and notify act on it). None, with the reason, when the subject cannot be mapped to Google's
// sub, its issuer is not trusted for the transmitter, riscd has never seen
// it, or no stored token matches a token-revoked identifier.
func (l *Lifecycle) resolve(ctx context.Context, tx riscd.Tx, d dispatch.Delivery, ev events.Event) ([]*target, noTarget, error) {
	if p, ok := l.policies[d.Entry.Transmitter]; ok {
		return l.resolveMapped(ctx, tx, d, ev, p)
	}
	switch s := ev.Subject().(type) {
	case nil:
		return []*target{{}}, noTarget{}, nil
	case events.OAuthToken:
		if !l.trustedIssuer(d.Entry.Transmitter, d.SET.Iss, d.SET.Iss) {
			return nil, noTarget{outcome: "ignored: token identifiers from this transmitter are not trusted"}, nil
		}
		return l.resolveToken(ctx, tx, s)
	default:
		is, ok := events.IssSubOf(s)
		if !ok {
			return nil, noTarget{outcome: "ignored: subject format " + quote(s.Format()) + " names no Google account"}, nil
		}
		if !l.trustedIssuer(d.Entry.Transmitter, d.SET.Iss, is.Iss) {
			return nil, noTarget{
				sub:     is.Sub,
				outcome: "ignored: subject issuer not trusted for this transmitter",
				detail:  "subject iss: " + quote(is.Iss),
			}, nil
		}
		t, known, err := loadTarget(ctx, tx, is.Sub, nil)
		if err != nil {
			return nil, noTarget{}, err
		}
		if !known {
			return nil, noTarget{sub: is.Sub, outcome: "ignored: unknown subject"}, nil
		}
		return []*target{t}, noTarget{}, nil
	}
}

// trustedIssuer reports whether a subject's iss may name riscd's users for
// events from transmitter, comparing with and without a trailing slash.
func (l *Lifecycle) trustedIssuer(transmitter, setIss, subIss string) bool {
	trusted, ok := l.cfg.SubjectIssuers[transmitter]
	if !ok {
		trusted = []string{setIss}
	}
	want := strings.TrimSuffix(subIss, "/")
	if want == "" {
		return false
	}
	for _, iss := range trusted {
		if strings.TrimSuffix(iss, "/") == want {
			return true
		}
	}
	return false
}

// loadTarget reads a subject's account and grants. known is false when
// riscd has neither.
func loadTarget(ctx context.Context, tx riscd.Tx, sub string, scope map[string]bool) (*target, bool, error) {
	t := &target{sub: sub, scope: scope}
	a, err := tx.Account(ctx, sub)
	switch {
	case err == nil:
		t.account, t.accountFound = a, true
	case !errors.Is(err, riscd.ErrNotFound):
		return nil, false, err
	}
	if t.grants, err = tx.GrantsBySub(ctx, sub); err != nil {
		return nil, false, err
	}
	return t, t.accountFound || len(t.grants) > 0, nil
}

// resolveToken finds the grants a token-revoked identifier names: by hash
// (proof, tolerant of the base64 alphabet and padding), or by prefix (every
// candidate). Each subject among them is one target, its scope the
// matching grants.
func (l *Lifecycle) resolveToken(ctx context.Context, tx riscd.Tx, tok events.OAuthToken) ([]*target, noTarget, error) {
	grants, how, err := matchToken(ctx, tx, tok)
	if err != nil {
		return nil, noTarget{}, err
	}
	if len(grants) == 0 {
		return nil, noTarget{outcome: "no matching token", detail: how}, nil
	}
	var targets []*target
	bySub := map[string]*target{}
	for _, g := range grants {
		if t, ok := bySub[g.Sub]; ok {
			t.scope[g.ID] = true
			continue
		}
		t, _, err := loadTarget(ctx, tx, g.Sub, map[string]bool{g.ID: true})
		if err != nil {
			return nil, noTarget{}, err
		}
		t.detail = how
		bySub[g.Sub] = t
		targets = append(targets, t)
	}
	return targets, noTarget{}, nil
}

// matchToken looks a token identifier up in the store's indexes.
func matchToken(ctx context.Context, tx riscd.Tx, tok events.OAuthToken) ([]riscd.Grant, string, error) {
	switch tok.Alg {
	case events.AlgHashSHA512SHA512:
		digest, err := base64.RawStdEncoding.DecodeString(events.NormalizeTokenHash(tok.Token))
		if err != nil || len(digest) != 64 {
			return nil, "the hash identifier is not base64 of 64 bytes", nil
		}
		g, err := tx.GrantByRefreshDigest(ctx, digest)
		if errors.Is(err, riscd.ErrNotFound) {
			return nil, "no stored refresh token has this hash", nil
		}
		if err != nil {
			return nil, "", err
		}
		return []riscd.Grant{g}, "matched by hash", nil
	case events.AlgPrefix:
		if len(tok.Token) < riscd.RefreshPrefixLen {
			return nil, fmt.Sprintf("the prefix identifier is shorter than %d characters", riscd.RefreshPrefixLen), nil
		}
		cands, err := tx.GrantsByRefreshPrefix(ctx, tok.Token[:riscd.RefreshPrefixLen])
		if err != nil {
			return nil, "", err
		}
		var out []riscd.Grant
		for _, g := range cands {
			if tok.Matches(g.RefreshToken.Reveal()) {
				out = append(out, g)
			}
		}
		if len(out) == 0 {
			return nil, "no stored refresh token has this prefix", nil
		}
		return out, fmt.Sprintf("matched by prefix: %d candidates, all acted on", len(out)), nil
	default:
		return nil, "unsupported identifier algorithm " + quote(tok.Alg), nil
	}
}
