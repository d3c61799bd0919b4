package receiver

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/riscd/riscd/events"
)

// verified is a SET that passed every check.
type verified struct {
	route   *route
	set     *events.SET
	payload []byte // the verified payload JSON, as signed
}

// verify runs every check on a compact JWS and fills v. v.route is set as
// soon as the transmitter is picked, so that it is known (for the observer)
// even when a later check fails. Its errors are rejections (400), transient
// faults (503, see transient), or, for a bug, anything else.
func (r *Receiver) verify(ctx context.Context, token []byte, v *verified) error {
	c, err := splitCompact(token)
	if err != nil {
		return err
	}
	h, err := parseHeader(c.header)
	if err != nil {
		return err
	}
	alg, ok := r.verifiers[h.alg]
	if !ok {
		return reject(CodeInvalidKey, "alg is not accepted")
	}
	rt, err := r.pick(c.payload)
	if err != nil {
		return err
	}
	v.route = rt
	if !slices.Contains(rt.algs, h.alg) {
		return reject(CodeInvalidKey, "alg is not accepted")
	}
	if rt.format == events.FormatSSF && !h.hasTyp {
		return reject(CodeInvalidRequest, "header: typ secevent+jwt is required")
	}
	if h.kid == "" {
		return reject(CodeInvalidKey, "header: kid is required")
	}
	key, err := rt.keys.lookup(ctx, h.kid)
	switch {
	case errors.Is(err, errUnknownKid):
		return reject(CodeInvalidKey, "unknown kid")
	case errors.Is(err, errUnusableKey):
		return reject(CodeInvalidKey, "the key set's key for this kid is not usable")
	case err != nil:
		return fmt.Errorf("receiver: transmitter %q: %w", rt.name, err)
	}
	if (key.alg != "" && key.alg != h.alg) || !alg.keyFits(key.key) {
		return reject(CodeInvalidKey, "alg does not match the key")
	}
	if err := alg.check(c.signingInput, c.signature, key); err != nil {
		return &rejection{code: CodeInvalidKey, desc: "signature does not verify", cause: err}
	}
	// Everything below is about a payload the transmitter signed.
	set, err := r.checkClaims(c.payload, rt)
	if err != nil {
		var rej *rejection
		if errors.As(err, &rej) {
			rej.signed = true
		}
		return err
	}
	v.set, v.payload = set, c.payload
	return nil
}

// checkClaims parses a verified payload and checks it against its
// transmitter: iss, aud and iat.
func (r *Receiver) checkClaims(payload []byte, rt *route) (*events.SET, error) {
	set, err := r.cfg.Registry.Parse(payload, rt.format)
	switch {
	case errors.Is(err, events.ErrMalformed):
		return nil, reject(CodeInvalidRequest, events.Description(err))
	case err != nil:
		return nil, fmt.Errorf("receiver: parse: %w", err)
	}
	if set.Iss != rt.spellings[0] && set.Iss != rt.spellings[1] {
		return nil, reject(CodeInvalidIssuer, "issuer is not trusted")
	}
	if !slices.ContainsFunc(set.Aud, func(a string) bool { return slices.Contains(rt.audiences, a) }) {
		return nil, reject(CodeInvalidAudience, "audience is not this receiver")
	}
	if set.IAT.After(r.cfg.Now().Add(r.cfg.MaxIATSkew)) {
		return nil, reject(CodeInvalidRequest, "iat is in the future")
	}
	return set, nil
}

// pick returns the route of the transmitter named by the payload's iss. The
// payload is not verified yet: iss only chooses whose keys verify it, and
// verify checks the parsed iss again. The payload is read with jsontext,
// allowing duplicate names other than iss and invalid UTF-8, which the
// events parser refuses once the signature is verified. Errors:
// invalid_request for a payload that is not a JSON object with one string
// iss; errNotDiscovered while an
// unmatched iss might belong to a transmitter not discovered yet;
// invalid_issuer otherwise.
func (r *Receiver) pick(payload []byte) (*route, error) {
	var iss string
	found, twice, isString := false, false, false
	err := readObject(payload, func(d *jsontext.Decoder, name string) error {
		switch {
		case name != "iss":
			return d.SkipValue()
		case found:
			twice = true
			return errStopRead
		}
		found = true
		var err error
		isString, err = readString(d, &iss)
		return err
	}, jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	switch {
	case twice:
		return nil, reject(CodeInvalidRequest, `duplicate member "iss"`)
	case err != nil:
		return nil, reject(CodeInvalidRequest, "payload: "+describeJSON(err))
	case !found:
		return nil, reject(CodeInvalidRequest, "claims: iss is missing")
	case !isString:
		return nil, reject(CodeInvalidRequest, "claims: iss is not a string")
	}
	table := r.routes.Load()
	if rt, ok := table.byIss[iss]; ok {
		return rt, nil
	}
	if table.pending > 0 {
		return nil, errNotDiscovered
	}
	return nil, reject(CodeInvalidIssuer, "issuer is not trusted")
}
