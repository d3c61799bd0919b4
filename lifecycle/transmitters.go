package lifecycle

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/dispatch"
	"github.com/riscd/riscd/events"
)

// Subject mappings: how a subject of another transmitter may name one of
// riscd's accounts (Transmitter.Subjects).
const (
	// SubjectIssSub maps an iss_sub subject (RFC 9493 section 3.2.5) whose
	// iss is the transmitter's own issuer (the SET's iss, which the
	// receiver checked) to the account whose sub is the subject's sub:
	// for a transmitter that names users by the same identifiers riscd keys
	// accounts on.
	SubjectIssSub = "iss_sub"
	// SubjectEmail maps an email subject (RFC 9493 section 3.2.2) to every
	// account holding a grant whose email is that address, compared
	// without regard to case, and which the grant's ID token marked
	// verified (store.Grant.EmailVerified). The event acts on those grants.
	SubjectEmail = "email"
)

// SubjectMappings returns the subject mappings Transmitter.Subjects may
// name.
func SubjectMappings() []string { return []string{SubjectIssSub, SubjectEmail} }

// Transmitter is what riscd does with the events of a transmitter other
// than Google (Config.Transmitters).
type Transmitter struct {
	// Subjects lists the mappings (SubjectIssSub, SubjectEmail) that may
	// name one of riscd's accounts, tried in this order; the members of a
	// complex subject's user facet and of an aliases subject are tried
	// too. Empty: no subject names an account.
	Subjects []string
	// Actions maps event keys, as Config.Actions does, to action lists.
	// An event without an entry gets ActionNotify only: another
	// transmitter's events change nothing in riscd unless configured to.
	Actions map[string][]string
}

// policy is a validated Transmitter.
type policy struct {
	subjects []string
	table    table
}

// buildPolicies checks every transmitter's mappings and actions.
func buildPolicies(ts map[string]Transmitter) (map[string]*policy, []string) {
	out := make(map[string]*policy, len(ts))
	var problems []string
	for _, name := range slices.Sorted(maps.Keys(ts)) {
		t := ts[name]
		where := fmt.Sprintf("transmitters[%s]", name)
		for _, s := range t.Subjects {
			if !slices.Contains(SubjectMappings(), s) {
				problems = append(problems, fmt.Sprintf("%s.subjects: unknown mapping %q (known: %s)", where, s, strings.Join(SubjectMappings(), ", ")))
			}
		}
		tbl, tp := buildTable(where+".actions", map[string][]string{}, t.Actions)
		problems = append(problems, tp...)
		out[name] = &policy{subjects: slices.Clone(t.Subjects), table: tbl}
	}
	return out, problems
}

// resolveMapped finds the accounts another transmitter's subject names
// through the transmitter's mappings. A subject that names none gets one
// target that is not an account: its event is forwarded with the subject as
// received, and only ActionNotify acts on it.
func (l *Lifecycle) resolveMapped(ctx context.Context, tx riscd.Tx, d dispatch.Delivery, ev events.Event, p *policy) ([]*target, noTarget, error) {
	subject := ev.Subject()
	if subject == nil {
		return []*target{{}}, noTarget{}, nil
	}
	var targets []*target
	bySub := map[string]*target{}
	add := func(sub, how string, scope map[string]bool) error {
		if t, ok := bySub[sub]; ok {
			if t.scope != nil {
				if scope == nil {
					t.scope = nil
				} else {
					maps.Copy(t.scope, scope)
				}
			}
			return nil
		}
		t, known, err := loadTarget(ctx, tx, sub, scope)
		if err != nil || !known {
			return err
		}
		t.detail = how
		bySub[sub] = t
		targets = append(targets, t)
		return nil
	}
	for _, m := range p.subjects {
		for _, s := range facets(subject) {
			switch v := s.(type) {
			case events.IssSub:
				if m != SubjectIssSub || v.Sub == "" || strings.TrimSuffix(v.Iss, "/") != strings.TrimSuffix(d.SET.Iss, "/") {
					continue
				}
				if err := add(v.Sub, "matched by iss_sub", nil); err != nil {
					return nil, noTarget{}, err
				}
			case events.Email:
				if m != SubjectEmail {
					continue
				}
				grants, err := tx.GrantsByVerifiedEmail(ctx, v.Address)
				if err != nil {
					return nil, noTarget{}, err
				}
				for _, g := range grants {
					if err := add(g.Sub, "matched by verified email", map[string]bool{g.ID: true}); err != nil {
						return nil, noTarget{}, err
					}
				}
			}
		}
	}
	if len(targets) > 0 {
		return targets, noTarget{}, nil
	}
	how := "no subject mapping configured"
	if len(p.subjects) > 0 {
		how = "subject mappings tried: " + strings.Join(p.subjects, ", ")
	}
	return []*target{{
		unmatched:  true,
		subject:    rawSubject(d.Entry.Claims, ev.Type()),
		subjectKey: events.SubjectKey(subject),
		detail:     "subject " + quote(subject.String()) + "; " + how,
	}}, noTarget{}, nil
}

// facets lists the identifiers a subject offers for mapping: the subject,
// a complex subject's user facet (SSF 1.0 section 3.2), each member of an
// aliases subject (RFC 9493 section 3.2.8), recursively.
func facets(s events.Subject) []events.Subject {
	switch v := s.(type) {
	case events.Complex:
		if v.User != nil {
			return facets(v.User)
		}
		return nil
	case events.Aliases:
		var out []events.Subject
		for _, id := range v.Identifiers {
			out = append(out, facets(id)...)
		}
		return out
	case nil:
		return nil
	}
	return []events.Subject{s}
}

// rawSubject returns the subject of event uri as the transmitter sent it:
// the event's own "subject" member (Google's shape), else the SET's
// "sub_id" (SSF 1.0 section 4.1.1); nil when claims hold neither. claims
// were verified and checked for duplicate members by the receiver.
func rawSubject(claims json.RawMessage, uri string) json.RawMessage {
	var p struct {
		SubID  json.RawMessage `json:"sub_id"`
		Events map[string]struct {
			Subject json.RawMessage `json:"subject"`
		} `json:"events"`
	}
	if len(claims) == 0 || json.Unmarshal(claims, &p) != nil {
		return nil
	}
	if e, ok := p.Events[uri]; ok && len(e.Subject) > 0 && string(e.Subject) != "null" {
		return e.Subject
	}
	if len(p.SubID) > 0 && string(p.SubID) != "null" {
		return p.SubID
	}
	return nil
}
