package googlesim

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/lestrrat-go/jwx/v2/jwa"
)

// Transmitter signs Google-format SETs with the server's current key and
// pushes them to a receiver (RFC 8935). It is safe for concurrent use.
type Transmitter struct {
	s      *Server
	client *http.Client
}

// Transmitter returns the server's SET transmitter. Its HTTP client does not
// follow redirects and has no timeout of its own: Send's ctx bounds a push.
func (s *Server) Transmitter() *Transmitter {
	return &Transmitter{s: s, client: &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// WithHTTPClient returns a copy of t that pushes through c.
func (t *Transmitter) WithHTTPClient(c *http.Client) *Transmitter {
	return &Transmitter{s: t.s, client: c}
}

// Sign builds the SET Google would send for ev and signs it:
//
//	header  {"alg": "RS256", "kid": current kid}
//	payload {"iss": RISC issuer, "aud": client ID, "iat": now, "jti": random hex,
//	         "events": {ev.Type: {"subject": {...legacy subject_type...}, ...ev.Fields}}}
//
// opts change the token for a receiver's tests (see SETOption). Errors:
// ErrNoIssuer before the server knows its issuer, JSON or signing failures.
func (t *Transmitter) Sign(ev Event, opts ...SETOption) (string, error) {
	var b setBuild
	for _, o := range opts {
		o(&b)
	}
	iss, err := t.s.RISCIssuer()
	if err != nil {
		return "", err
	}
	key := t.s.currentKey()
	events := map[string]any{}
	for _, e := range append([]Event{ev}, b.extra...) {
		body := map[string]any{}
		if e.Subject != nil && !b.ssf {
			body["subject"] = e.Subject.json(iss, b.rfc9493)
		}
		for k, v := range e.Fields {
			body[k] = v
		}
		events[e.Type] = body
	}
	claims := map[string]any{
		"iss":    iss,
		"aud":    t.s.cfg.ClientID,
		"iat":    t.s.now().Unix(),
		"jti":    strings.ToUpper(randomHex(16)),
		"events": events,
	}
	if b.ssf && ev.Subject != nil {
		claims["sub_id"] = ev.Subject.json(iss, true)
	}
	for _, edit := range b.claimEdits {
		edit(claims)
	}
	payload := b.rawPayload
	if payload == nil {
		if payload, err = json.Marshal(claims); err != nil {
			return "", fmt.Errorf("googlesim: sign set: payload: %w", err)
		}
	}

	header := map[string]any{"alg": "RS256", "kid": key.kid}
	if b.ssf {
		header["typ"] = "secevent+jwt"
	}
	switch b.mode {
	case modeNone:
		header["alg"] = "none"
	case modeHS256:
		header["alg"] = "HS256"
	}
	for _, edit := range b.headerEdits {
		edit(header)
	}
	hdr := b.rawHeader
	if hdr == nil {
		if hdr, err = json.Marshal(header); err != nil {
			return "", fmt.Errorf("googlesim: sign set: header: %w", err)
		}
	}

	parts := compactParts{header: hdr, payload: payload}
	var tok string
	switch b.mode {
	case modeNone:
		tok = parts.signingInput() + "."
	case modeHS256:
		secret := b.secret
		if b.secretIsPublicKey {
			secret = publicKeyPEM(&key.priv.PublicKey)
		}
		tok, err = parts.signWith(jwa.HS256, secret)
	default:
		priv := key.priv
		if b.key != nil {
			priv = b.key
		}
		tok, err = parts.signWith(jwa.RS256, priv)
	}
	if err != nil {
		return "", fmt.Errorf("googlesim: sign set: %w", err)
	}
	if b.corrupt {
		tok = corruptSignature(tok)
	}
	return tok, nil
}

// ContentTypeSET is the media type of a pushed SET (RFC 8417 §2.3).
const ContentTypeSET = "application/secevent+jwt"

// Send POSTs token to target as RFC 8935 push delivery: Content-Type
// application/secevent+jwt, Accept application/json. It returns the status
// and up to 1 MiB of the answer's body. Errors: ErrNotLoopback for a target
// off this machine, the transport's error (ctx ending included); an HTTP
// error status is not an error.
func (t *Transmitter) Send(ctx context.Context, target, token string) (int, []byte, error) {
	return t.SendAs(ctx, target, ContentTypeSET, token)
}

// SendAs is Send with another Content-Type, as some transmitters use.
func (t *Transmitter) SendAs(ctx context.Context, target, contentType, token string) (int, []byte, error) {
	u, err := parseAbsolute(target)
	if err != nil {
		return 0, nil, fmt.Errorf("googlesim: send set: %w", err)
	}
	if !isLoopbackHost(u.Hostname()) {
		return 0, nil, fmt.Errorf("googlesim: send set to %s: %w", u.Host, ErrNotLoopback)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(token))
	if err != nil {
		return 0, nil, fmt.Errorf("googlesim: send set: %w", err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Accept", "application/json")
	t.s.mu.Lock()
	t.s.stats.SETsSent++
	t.s.mu.Unlock()
	resp, err := t.client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("googlesim: send set: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return resp.StatusCode, body, fmt.Errorf("googlesim: send set: read answer: %w", err)
	}
	return resp.StatusCode, body, nil
}

// Push signs ev with opts and sends it: Sign then Send.
func (t *Transmitter) Push(ctx context.Context, target string, ev Event, opts ...SETOption) (int, []byte, error) {
	tok, err := t.Sign(ev, opts...)
	if err != nil {
		return 0, nil, err
	}
	return t.Send(ctx, target, tok)
}
