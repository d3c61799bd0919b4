package admin

import (
	"context"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/riscd/riscd"
)

// Grants is what the admin API needs of riscd's grants service (the
// lifecycle package's *Lifecycle satisfies it): an operator's discard of a
// grant. DiscardGrant discards grant id's tokens and queues the upstream
// revocation of its refresh token (or its access token when it has no
// refresh token) in the outbox, so the call never waits for Google. Then
// the grant is gone (deleted, or kept as a revoked record without tokens:
// the implementation's choice). It writes its audit entry (Actor = actor)
// in the same transaction. Errors are Operator's.
type Grants interface {
	DiscardGrant(ctx context.Context, id, actor string) error
}

// Operator carries out the actions an operator takes through the admin API.
// cmd/riscd passes it in Config.Operator: the grants service, with the
// lifecycle package's ReleaseHolds and RetryOutboxJob adapted (their
// lifecycle.Op carries the actor). Each method writes its audit entry
// (Actor = actor) in the same transaction as its effect.
//
// Errors: one matching riscd.ErrNotFound (errors.Is) when the grant or
// account does not exist (404); anything else is a failure of riscd (500,
// logged). Error texts are logged, never shown; they must not carry tokens.
type Operator interface {
	Grants
	// ReleaseAccount lifts a hold on the subject: the account's held and
	// signin-disabled marks are cleared and its held grants become active
	// again (revoked ones stay revoked). It is idempotent: releasing an
	// account that is not held succeeds and changes nothing.
	ReleaseAccount(ctx context.Context, sub, actor string) error
	// RetryOutboxJob returns outbox job id, which failed for good, to
	// pending with a fresh budget of attempts and time, or makes a pending
	// one due now ("retry now", its attempts kept), audits it (reason in the
	// entry's detail) and has the outbox take it up at once. It returns the
	// job as stored. A done job is refused with an error whose JobStatus()
	// string method names its status (409).
	RetryOutboxJob(ctx context.Context, id uint64, actor, reason string) (riscd.OutboxJob, error)
}

// ActorOperator is the actor the admin API passes to Operator and writes in
// its own audit entries when the operator gave no name (ActorFor).
const ActorOperator = "operator"

// maxOperatorName bounds the name an operator gives (at the admin page's
// sign-in, or as the API's actor parameter).
const maxOperatorName = 64

// ActorFor is the audit actor of the operator who gave name:
// "operator:<name>", or ActorOperator when name is "". Check name with
// CheckOperatorName first.
func ActorFor(name string) string {
	if name == "" {
		return ActorOperator
	}
	return ActorOperator + ":" + name
}

// CheckOperatorName refuses a name an audit entry could not show as it is:
// it must be 1 to 64 letters, digits and . _ @ + - (an email or a login
// name), or "" for none. The error is a 400 Error.
func CheckOperatorName(name string) error {
	if len(name) > maxOperatorName {
		return BadRequest("the operator's name is longer than %d characters", maxOperatorName)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._@+-", r)) {
			return BadRequest("the operator's name may hold letters, digits and . _ @ + - only")
		}
	}
	return nil
}

// actorKey is where WithActor keeps the actor in a context.
type actorKey struct{}

// WithActor returns ctx carrying actor (ActorFor's form): the Service's
// operator actions run under ctx record it in their audit entries.
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// ActorOf is the actor ctx carries (WithActor), ActorOperator when none.
func ActorOf(ctx context.Context) string {
	if a, ok := ctx.Value(actorKey{}).(string); ok && a != "" {
		return a
	}
	return ActorOperator
}

// withActorParam runs an operator action under the actor its request names
// in the actor query parameter (ActorFor), refusing a name
// CheckOperatorName refuses.
func withActorParam(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		name := c.QueryParam("actor")
		if err := CheckOperatorName(name); err != nil {
			return err
		}
		r := c.Request()
		c.SetRequest(r.WithContext(WithActor(r.Context(), ActorFor(name))))
		return next(c)
	}
}
