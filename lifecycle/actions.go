package lifecycle

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/riscd/riscd/events"
)

// The action vocabulary. Config.Actions and DefaultActions speak only these
// names. Whatever order a list gives, actions run in the order below.
const (
	// ActionRecord does nothing beyond the audit entry every event gets; a
	// list of only "record" (or an empty list) makes an event audit-only.
	ActionRecord = "record"
	// ActionEndSessions deletes riscd's own browser sessions of the subject
	// created before the event's time.
	ActionEndSessions = "end_sessions"
	// ActionSetSessionsRevokedAt moves the account's SessionsRevokedAt up to
	// the event's time; apps end their sessions created before it.
	ActionSetSessionsRevokedAt = "set_sessions_revoked_at"
	// ActionRevokeUpstream queues, for each grant in scope that still holds a
	// token, a call to Google's revoke endpoint (durable outbox).
	ActionRevokeUpstream = "revoke_upstream"
	// ActionRevokeGrants marks the grants in scope revoked and discards
	// their tokens.
	ActionRevokeGrants = "revoke_grants"
	// ActionHoldGrants marks the active grants in scope held (tokens kept
	// encrypted, never served) and the account held.
	ActionHoldGrants = "hold_grants"
	// ActionReleaseHolds returns the held grants in scope to active (revoked
	// ones stay revoked) and clears the account's hold.
	ActionReleaseHolds = "release_holds"
	// ActionDisableSignin sets the account's SigninDisabled.
	ActionDisableSignin = "disable_signin"
	// ActionEnableSignin clears the account's SigninDisabled.
	ActionEnableSignin = "enable_signin"
	// ActionFlagReview sets the account's Review flag.
	ActionFlagReview = "flag_review"
	// ActionFlagCredentialChange sets the account's CredentialChangeRequired.
	ActionFlagCredentialChange = "flag_credential_change"
	// ActionMarkReconsent sets the account's ReconsentRequired: the user
	// must consent again before riscd has usable tokens.
	ActionMarkReconsent = "mark_reconsent"
	// ActionPurge revokes every grant of the subject, discards their tokens,
	// erases the email kept on the grants and the account, deletes all of
	// riscd's sessions of the subject and marks the account purged; the
	// records stay as tombstones.
	ActionPurge = "purge"
	// ActionNotify queues one webhook to the app describing the event and
	// what riscd did (nothing when no webhook URL is configured).
	ActionNotify = "notify"
)

// Actions returns the action vocabulary in the order actions run.
func Actions() []string {
	return []string{
		ActionRecord, ActionEndSessions, ActionSetSessionsRevokedAt, ActionRevokeUpstream,
		ActionRevokeGrants, ActionHoldGrants, ActionReleaseHolds, ActionDisableSignin,
		ActionEnableSignin, ActionFlagReview, ActionFlagCredentialChange, ActionMarkReconsent,
		ActionPurge, ActionNotify,
	}
}

// Action-table keys beyond events.ShortName's names.
const (
	keyUnknown  = "unknown" // event types riscd does not know (events.ShortName's "unknown")
	keyDisabled = "account-disabled"
)

// disabledReasonKeys are the reason-qualified keys of account-disabled.
func disabledReasonKeys() []string {
	return []string{keyDisabled + "/hijacking", keyDisabled + "/bulk-account", keyDisabled + "/none", keyDisabled + "/other"}
}

// DefaultActions returns the built-in action table, keyed by event short
// name (events.ShortName), by "account-disabled/<reason>" (hijacking,
// bulk-account, none, other) and by "unknown". Known event types missing from
// it get ActionRecord and ActionNotify. Each call returns a fresh map.
func DefaultActions() map[string][]string {
	sessions := []string{ActionEndSessions, ActionSetSessionsRevokedAt, ActionNotify}
	return map[string][]string{
		"token-revoked":                      {ActionRevokeGrants, ActionMarkReconsent, ActionNotify},
		"tokens-revoked":                     {ActionEndSessions, ActionRevokeGrants, ActionMarkReconsent, ActionNotify},
		"sessions-revoked":                   slices.Clone(sessions),
		"caep:session-revoked":               slices.Clone(sessions),
		keyDisabled + "/hijacking":           {ActionEndSessions, ActionSetSessionsRevokedAt, ActionHoldGrants, ActionNotify},
		keyDisabled + "/bulk-account":        {ActionFlagReview, ActionNotify},
		keyDisabled + "/none":                {ActionDisableSignin, ActionHoldGrants, ActionNotify},
		keyDisabled + "/other":               {ActionDisableSignin, ActionHoldGrants, ActionNotify},
		"account-enabled":                    {ActionEnableSignin, ActionReleaseHolds, ActionNotify},
		"account-credential-change-required": {ActionFlagCredentialChange, ActionNotify},
		"caep:credential-change":             {ActionFlagCredentialChange, ActionNotify},
		"credential-compromise":              {ActionFlagCredentialChange, ActionNotify},
		"account-purged":                     {ActionPurge, ActionNotify},
		"verification":                       {ActionRecord},
		"ssf:verification":                   {ActionRecord},
		"ssf:stream-updated":                 {ActionRecord},
		keyUnknown:                           {ActionRecord, ActionNotify},
	}
}

// table is a validated action table: each list deduplicated and sorted into
// the order actions run.
type table map[string][]string

// validKey reports whether key may appear in an action table.
func validKey(key string) bool {
	if key == keyUnknown || slices.Contains(disabledReasonKeys(), key) {
		return true
	}
	_, ok := events.TypeForName(key)
	return ok
}

// conflicting are pairs of actions that undo each other.
func conflicting() [][2]string {
	return [][2]string{{ActionHoldGrants, ActionReleaseHolds}, {ActionDisableSignin, ActionEnableSignin}}
}

// buildTable merges overrides into base (DefaultActions for Google's events,
// an empty map for another transmitter's) and checks every key and action
// name, reporting all problems at once, each prefixed with where.
func buildTable(where string, base, overrides map[string][]string) (table, []string) {
	merged := base
	var problems []string
	for _, key := range slices.Sorted(maps.Keys(overrides)) {
		if !validKey(key) {
			problems = append(problems, fmt.Sprintf("%s: %q is not an event short name, an account-disabled/<reason> key or \"unknown\"", where, key))
			continue
		}
		merged[key] = overrides[key]
		if key == keyDisabled {
			// A plain override covers every reason.
			for _, k := range disabledReasonKeys() {
				merged[k] = overrides[key]
			}
		}
	}
	vocab := Actions()
	t := table{}
	for key, list := range merged {
		var bad []string
		for _, a := range list {
			if !slices.Contains(vocab, a) {
				bad = append(bad, fmt.Sprintf("%q", a))
			}
		}
		if len(bad) > 0 {
			problems = append(problems, fmt.Sprintf("%s[%s]: unknown action %s (known: %s)", where, key, strings.Join(bad, ", "), strings.Join(vocab, ", ")))
			continue
		}
		for _, c := range conflicting() {
			if slices.Contains(list, c[0]) && slices.Contains(list, c[1]) {
				problems = append(problems, fmt.Sprintf("%s[%s]: %s and %s undo each other", where, key, c[0], c[1]))
			}
		}
		var ordered []string
		for _, a := range vocab {
			if slices.Contains(list, a) {
				ordered = append(ordered, a)
			}
		}
		t[key] = ordered
	}
	slices.Sort(problems)
	return t, problems
}

// tableKey returns the key an event is looked up by.
func tableKey(ev events.Event) string {
	name := events.ShortName(ev.Type())
	if d, ok := ev.(events.AccountDisabled); ok {
		switch d.Reason {
		case events.ReasonHijacking, events.ReasonBulkAccount:
			return keyDisabled + "/" + d.Reason
		case "":
			return keyDisabled + "/none"
		default:
			return keyDisabled + "/other"
		}
	}
	return name
}

// lookup returns the actions for an event, in the order they run: its
// entry, else record and notify.
func (t table) lookup(ev events.Event) []string {
	if list, ok := t[tableKey(ev)]; ok {
		return list
	}
	return []string{ActionRecord, ActionNotify}
}
