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

	"github.com/riscd/riscd/store"
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

// attempt makes one attempt at job id and records it.
func (l *Lifecycle) attempt(ctx context.Context, key string, id uint64) outcome {
	o := outcome{key: key, id: id}
	var job store.OutboxJob
	err := l.cfg.Store.View(ctx, func(tx *store.Tx) error {
		var err error
		job, err = tx.OutboxJob(id)
		return err
	})
	switch {
	case ctx.Err() != nil:
		o.abort = true
		return o
	case errors.Is(err, store.ErrNotFound):
		o.final = true
		return o
	case err != nil:
		l.log.ErrorContext(ctx, "outbox: reading a job failed", "job", id, "err", err)
		o.next = l.now().Add(l.cfg.PollInterval)
		return o
	case job.Status != store.OutboxPending:
		o.final = true
		return o
	}
	actx, cancel := context.WithTimeout(ctx, l.cfg.AttemptTimeout)
	var res result
	switch job.Kind {
	case store.OutboxRevoke:
		res = l.revoke(actx, job)
	case store.OutboxWebhook:
		res = l.webhook(actx, job)
	default:
		res = result{permanent: true, err: "unknown job kind " + quote(string(job.Kind))}
	}
	cancel()
	if ctx.Err() != nil {
		o.abort = true
		return o
	}
	return l.record(ctx, o, job, res)
}

// record stores an attempt's result on the job, with an audit entry when
// the job ends, and says when to try again.
func (l *Lifecycle) record(ctx context.Context, o outcome, job store.OutboxJob, res result) outcome {
	now := l.now()
	var p jobPayload
	_ = json.Unmarshal(job.Payload, &p) // best effort: the audit entry names what it can
	var j store.OutboxJob
	recorded := false // the attempt was stored on a pending job
	err := l.cfg.Store.Update(ctx, func(tx *store.Tx) error {
		var err error
		o.final, o.next, recorded = false, time.Time{}, false
		if j, err = tx.OutboxJob(job.ID); err != nil {
			return err
		}
		if j.Status != store.OutboxPending {
			o.final = true
			return nil
		}
		j.Attempts++
		var auditOutcome string
		switch {
		case res.ok:
			j.Status, j.DoneAt, j.LastError, j.NextAttemptAt, j.Token = store.OutboxDone, now, "", time.Time{}, ""
			auditOutcome = res.outcome
		case res.permanent, !j.Deadline.IsZero() && !now.Before(j.Deadline):
			j.Status, j.DoneAt, j.LastError, j.NextAttemptAt = store.OutboxFailed, now, res.err, time.Time{}
			auditOutcome = fmt.Sprintf("failed after %d attempts", j.Attempts)
			if !res.permanent {
				auditOutcome += ": deadline passed"
			}
		default:
			j.LastError = res.err
			j.NextAttemptAt = now.Add(workqueue.Backoff(l.cfg.BackoffBase, l.cfg.BackoffMax, j.Attempts))
			if !j.Deadline.IsZero() && j.NextAttemptAt.After(j.Deadline) {
				j.NextAttemptAt = j.Deadline
			}
		}
		if err := tx.PutOutboxJob(j); err != nil {
			return err
		}
		recorded = true
		if auditOutcome == "" {
			return nil
		}
		o.final = true
		_, err = tx.AppendAudit(jobAudit(j, p, now, auditOutcome))
		return err
	})
	if err != nil {
		if ctx.Err() != nil {
			o.abort = true
			return o
		}
		l.log.ErrorContext(ctx, "outbox: recording an attempt failed", "job", job.ID, "err", err)
		o.final, o.next = false, now.Add(l.cfg.PollInterval)
		return o
	}
	if recorded {
		l.observeOutbox(j)
	}
	switch {
	case j.Status == store.OutboxFailed:
		l.log.ErrorContext(ctx, "outbox: job failed", "job", j.ID, "kind", j.Kind, "attempts", j.Attempts, "err", j.LastError)
	case j.Status == store.OutboxPending:
		o.next = j.NextAttemptAt
		l.log.WarnContext(ctx, "outbox: attempt failed, will retry", "job", j.ID, "kind", j.Kind,
			"attempts", j.Attempts, "retry_at", j.NextAttemptAt, "err", j.LastError)
	default:
		l.log.DebugContext(ctx, "outbox: job done", "job", j.ID, "kind", j.Kind, "attempts", j.Attempts)
	}
	return o
}

// jobAudit is the audit entry of a job's end.
func jobAudit(j store.OutboxJob, p jobPayload, now time.Time, outcome string) store.AuditEntry {
	e := store.AuditEntry{
		At: now, Transmitter: p.Transmitter, EventJTI: p.EventJTI, EventType: p.EventType, Sub: p.Sub,
		Outcome: outcome, Detail: j.LastError, Actor: "outbox",
	}
	if j.GrantID != "" {
		e.GrantIDs = []string{j.GrantID}
	}
	switch j.Kind {
	case store.OutboxRevoke:
		e.Action = ActionRevokeUpstream
	case store.OutboxWebhook:
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
func (l *Lifecycle) revoke(ctx context.Context, job store.OutboxJob) result {
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
func (l *Lifecycle) webhook(ctx context.Context, job store.OutboxJob) result {
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
	req.Header.Set("webhook-signature", l.signer.sign(p.WebhookID, ts, p.Body))
	status, _, err := l.do(req)
	if err != nil {
		return result{err: "webhook: " + err.Error()}
	}
	if status/100 == 2 {
		return result{ok: true, outcome: "delivered"}
	}
	return result{err: "webhook: HTTP " + strconv.Itoa(status)}
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
