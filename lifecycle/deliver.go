package lifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/workqueue"
)

// maxAnswer bounds how much of an answer body the outbox reads.
const maxAnswer = 16 << 10

// result is what one call came to.
type result struct {
	ok        bool
	permanent bool   // no retry can fix it
	outcome   string // audit outcome of a success
	err       string // the failure, without secrets
}

// record stores an attempt's result on the job, with an audit entry when
// the job ends: done when st.res is a success, else the failed attempt f,
// retried at f.Next (never past the job's deadline) or, when f.Park is set
// or the deadline has passed, failed. It returns f as recorded: Park when
// the job left the queue (failed, or no longer pending), Next when it is
// retried. On an error nothing was recorded and f.Next is the next poll.
func (l *Lifecycle) record(ctx context.Context, st attemptState, f workqueue.Failure) (workqueue.Failure, error) {
	now := l.now()
	var p jobPayload
	_ = json.Unmarshal(st.job.Payload, &p) // best effort: the audit entry names what it can
	var j riscd.OutboxJob
	recorded := false // the attempt was stored on a pending job
	// Batch: the outbox's concurrent workers share commits, as the
	// dispatcher's deliveries do.
	err := l.cfg.Store.Batch(ctx, func(tx riscd.Tx) error {
		var err error
		recorded = false
		if j, err = tx.OutboxJob(ctx, st.job.ID); err != nil {
			return err
		}
		if j.Status != riscd.OutboxPending {
			return nil
		}
		j.Attempts++
		var auditOutcome string
		switch {
		case st.res.ok:
			j.Status, j.DoneAt, j.LastError, j.NextAttemptAt, j.Token = riscd.OutboxDone, now, "", time.Time{}, ""
			auditOutcome = st.res.outcome
		case f.Park, !j.Deadline.IsZero() && !now.Before(j.Deadline):
			j.Status, j.DoneAt, j.LastError, j.NextAttemptAt = riscd.OutboxFailed, now, f.Msg, time.Time{}
			auditOutcome = fmt.Sprintf("failed after %d attempts", j.Attempts)
			if !errors.Is(f.Err, workqueue.ErrPermanent) {
				auditOutcome += ": deadline passed"
			}
		default:
			j.LastError = f.Msg
			j.NextAttemptAt = f.Next
			if !j.Deadline.IsZero() && j.NextAttemptAt.After(j.Deadline) {
				j.NextAttemptAt = j.Deadline
			}
		}
		if err := tx.PutOutboxJob(ctx, j); err != nil {
			return err
		}
		recorded = true
		if auditOutcome == "" {
			return nil
		}
		_, err = tx.AppendAudit(ctx, jobAudit(j, p, now, auditOutcome))
		return err
	})
	if err != nil {
		f.Next = now.Add(l.cfg.PollInterval)
		return f, fmt.Errorf("lifecycle: outbox: recording an attempt at job %d: %w", st.job.ID, err)
	}
	if recorded {
		l.observeOutbox(j)
	}
	f.Park = j.Status != riscd.OutboxPending
	f.Next = j.NextAttemptAt
	return f, nil
}

// jobAudit is the audit entry of a job's end.
func jobAudit(j riscd.OutboxJob, p jobPayload, now time.Time, outcome string) riscd.AuditEntry {
	e := riscd.AuditEntry{
		At: now, Transmitter: p.Transmitter, EventJTI: p.EventJTI, EventType: p.EventType, Sub: p.Sub,
		Outcome: outcome, Detail: j.LastError, Actor: "outbox",
	}
	if j.GrantID != "" {
		e.GrantIDs = []string{j.GrantID}
	}
	switch j.Kind {
	case riscd.OutboxRevoke:
		e.Action = ActionRevokeUpstream
	case riscd.OutboxWebhook:
		e.Action = ActionNotify
		e.Detail = joinDetail("webhook-id "+p.WebhookID, e.Detail)
	default:
		e.Action = string(j.Kind)
	}
	return e
}

// revoke asks the revocation endpoint, through the Revoker, to revoke the
// job's token: 200 is done, 400 invalid_token is done too (Google's answer
// for a token already dead), 408, 429, 5xx and transport failures are
// retried, other answers fail the job (401 invalid_client and 400
// invalid_request, a refusal of riscd's client authentication, are fixed by
// the configuration, then by riscd outbox retry-failed).
func (l *Lifecycle) revoke(ctx context.Context, job riscd.OutboxJob) result {
	if job.Token == "" {
		return result{permanent: true, err: "revoke: the job holds no token"}
	}
	a, err := l.cfg.Revoker.Revoke(ctx, job.Token)
	if err != nil {
		return result{err: err.Error()}
	}
	status := a.Status
	switch {
	case a.Revoked():
		return result{ok: true, outcome: "revoked"}
	case status == http.StatusBadRequest && a.Code == "invalid_token":
		return result{ok: true, outcome: "already revoked: Google answered invalid_token"}
	case status == http.StatusBadRequest:
		code := "no error code"
		if a.Code != "" {
			code = a.Code
		}
		return result{permanent: true, err: "revoke: HTTP 400 (" + code + ")"}
	case status == http.StatusUnauthorized && a.Code != "":
		return result{permanent: true, err: "revoke: HTTP 401 (" + a.Code + ")"}
	case status == http.StatusRequestTimeout, status == http.StatusTooManyRequests, status >= 500, status < 400:
		return result{err: "revoke: HTTP " + strconv.Itoa(status)}
	default:
		return result{permanent: true, err: "revoke: HTTP " + strconv.Itoa(status)}
	}
}

// webhook POSTs the job's message to the app, signed: 2xx is done, anything
// else is retried.
func (l *Lifecycle) webhook(ctx context.Context, job riscd.OutboxJob) result {
	var p jobPayload
	if err := json.Unmarshal(job.Payload, &p); err != nil || p.WebhookID == "" || len(p.Body) == 0 {
		return result{permanent: true, err: "webhook: the job holds no message"}
	}
	if l.signer == nil {
		return result{permanent: true, err: "webhook: no webhook URL is configured any more"}
	}
	ts := l.now().Unix()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.cfg.WebhookURL, strings.NewReader(string(p.Body)))
	if err != nil {
		return result{permanent: true, err: "webhook: bad request: " + err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "riscd")
	req.Header.Set("webhook-id", p.WebhookID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	sig := l.signer.sign(p.WebhookID, ts, p.Body)
	req.Header.Set("webhook-signature", sig)
	status, body, err := l.do(req)
	if err != nil {
		return result{err: "webhook: " + err.Error()}
	}
	if status/100 == 2 {
		return result{ok: true, outcome: "delivered"}
	}
	// The start of the app's answer says why it refused (a wrong secret,
	// a validation error), where the status alone does not.
	msg := "webhook: HTTP " + strconv.Itoa(status)
	if ex := answerExcerpt(body, append(l.signer.secretForms(), sig, strings.TrimPrefix(sig, "v1,"))...); ex != "" {
		msg += ": " + ex
	}
	return result{err: msg}
}

// do sends req and returns the status and the start of the body. Its error
// names the failure without the URL, which may hold a secret.
func (l *Lifecycle) do(req *http.Request) (int, []byte, error) {
	resp, err := l.cfg.HTTPClient.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return 0, nil, errors.New("no answer within the attempt timeout")
		}
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
	return resp.StatusCode, body, nil
}
