package receiver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/events"
)

// ContentTypeSET is the media type of a pushed SET (RFC 8417 §2.3). Other
// types are accepted and logged.
const ContentTypeSET = "application/secevent+jwt"

// errMethod: a request that is not a POST.
var errMethod = errors.New("receiver: method not allowed")

// ServeHTTP implements http.Handler: it answers a POSTed SET with 202 once
// the SET is verified and committed to the inbox, 400 with an RFC 8935 error
// when it is refused, 503 with Retry-After when riscd cannot judge or store
// it now, and 405 to other methods. Each request is reported to
// Config.Observe, when set, just before its answer is written.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var start time.Time
	if r.cfg.Observe != nil {
		start = r.cfg.Now()
	}
	v, created, err := r.accept(req.Context(), w, req)
	if r.cfg.Observe != nil {
		r.observe(start, v.route, created, err)
	}
	if err != nil {
		r.answer(w, req, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
	r.logAccepted(req, v, created)
}

// accept reads, verifies and stores one SET. It returns what it verified
// (its route set as soon as the transmitter is known, even on error) and
// whether the SET was new; its errors are answered by answer.
func (r *Receiver) accept(ctx context.Context, w http.ResponseWriter, req *http.Request) (verified, bool, error) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return verified{}, false, errMethod
	}
	body, err := r.readBody(w, req)
	if err != nil {
		return verified{}, false, err
	}
	var v verified
	if err := r.verify(ctx, body, &v); err != nil {
		return v, false, err
	}
	created, err := r.commit(ctx, string(body), &v)
	return v, created, err
}

// logAccepted logs an accepted SET at info level.
func (r *Receiver) logAccepted(req *http.Request, v verified, created bool) {
	if !r.log.Enabled(req.Context(), slog.LevelInfo) {
		return
	}
	attrs := []any{"transmitter", v.route.name, "jti", clip(v.set.JTI), "types", shortNames(v.set.Types()), "new", created}
	if ct := req.Header.Get("Content-Type"); !isSETContentType(ct) {
		attrs = append(attrs, "content_type", clip(ct))
	}
	r.log.InfoContext(req.Context(), "set accepted", attrs...)
}

// readBody returns the body, which must hold at most MaxBody bytes, without
// surrounding white space. Errors are rejections (invalid_request).
func (r *Receiver) readBody(w http.ResponseWriter, req *http.Request) ([]byte, error) {
	if req.ContentLength > r.cfg.MaxBody {
		return nil, reject(CodeInvalidRequest, "body is too large")
	}
	// One spare byte lets the read that meets the end of a body of the
	// announced length find room without growing the buffer.
	size := int64(512)
	if req.ContentLength > 0 {
		size = req.ContentLength + 1
	}
	buf := make([]byte, 0, size)
	body := http.MaxBytesReader(w, req.Body, r.cfg.MaxBody)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		var tooLarge *http.MaxBytesError
		switch {
		case err == nil:
			continue
		case errors.Is(err, io.EOF):
			return bytes.TrimSpace(buf), nil
		case errors.As(err, &tooLarge):
			return nil, reject(CodeInvalidRequest, "body is too large")
		default:
			// A read that times out or a connection that breaks says
			// nothing about the SET: refusing it (400) would make the
			// transmitter drop its event, so it is asked to retry.
			return nil, fmt.Errorf("%w: body could not be read: %w", errUnavailable, err)
		}
	}
}

// commit stores a verified SET in the inbox and, when it is new, wakes the
// dispatcher. It reports whether the SET was new. The commit is not cut short
// when the transmitter hangs up: the SET is verified, and a redelivery will
// find it. Errors wrap errUnavailable.
func (r *Receiver) commit(ctx context.Context, token string, v *verified) (bool, error) {
	e := riscd.InboxEntry{
		Transmitter: v.route.name,
		Iss:         v.route.issuer,
		JTI:         v.set.JTI,
		Subject:     v.set.Key(),
		Types:       v.set.Types(),
		Raw:         token,
		Claims:      v.payload,
		ReceivedAt:  r.cfg.Now(),
	}
	stored, created, err := r.put(context.WithoutCancel(ctx), e)
	if err != nil {
		return false, fmt.Errorf("%w: inbox: %w", errUnavailable, err)
	}
	if created && r.cfg.Notify != nil {
		r.cfg.Notify()
	}
	if !created && stored.Raw != token {
		r.log.WarnContext(ctx, "redelivered jti carries a different token; keeping the first",
			"transmitter", v.route.name, "jti", clip(v.set.JTI), "id", stored.ID)
	}
	return created, nil
}

// answer is the one place that turns an error into an answer and decides
// how loudly to log it.
func (r *Receiver) answer(w http.ResponseWriter, req *http.Request, err error) {
	ctx := req.Context()
	var rej *rejection
	switch {
	case errors.As(err, &rej):
		level := slog.LevelDebug
		if rej.signed {
			level = slog.LevelWarn // a trusted transmitter's SET refused: an event is lost
		}
		attrs := []any{"err", rej.code, "reason", rej.Error()}
		if ct := req.Header.Get("Content-Type"); !isSETContentType(ct) {
			attrs = append(attrs, "content_type", clip(ct))
		}
		r.log.Log(ctx, level, "set rejected", attrs...)
		writeError(w, http.StatusBadRequest, rej.code, rej.desc)
	case errors.Is(err, errMethod):
		writeError(w, http.StatusMethodNotAllowed, CodeInvalidRequest, "use POST")
	case transient(err):
		level := slog.LevelWarn
		if errors.Is(err, errUnavailable) {
			level = slog.LevelError // the store failed
		}
		r.log.Log(ctx, level, "set not accepted: temporary fault", "err", err.Error())
		retry := r.cfg.RetryAfter
		if errors.Is(err, errKeysUnavailable) {
			// A key set is refetched again within UnknownKidRefetch: a
			// rotated key can be found on the retry that soon.
			retry = min(retry, r.cfg.UnknownKidRefetch)
		}
		w.Header().Set("Retry-After", fmt.Sprint(max(1, int64(retry.Seconds()))))
		writeError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "try again later")
	default:
		r.log.ErrorContext(ctx, "set not accepted: internal error", "err", err.Error())
		w.Header().Set("Retry-After", fmt.Sprint(int64(r.cfg.RetryAfter.Seconds())))
		writeError(w, http.StatusInternalServerError, "server_error", "internal error")
	}
}

// writeError writes an RFC 8935 error answer.
func writeError(w http.ResponseWriter, status int, code, desc string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Language", "en")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, `{"err":`+quoteJSON(code)+`,"description":`+quoteJSON(desc)+"}\n")
}

// isSETContentType reports whether ct is application/secevent+jwt, with any
// parameters.
func isSETContentType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && strings.EqualFold(mt, ContentTypeSET)
}

// shortNames maps event-type URIs to their short names for logs (bounded:
// unknown types are "unknown").
func shortNames(types []string) []string {
	out := make([]string, len(types))
	for i, t := range types {
		out[i] = events.ShortName(t)
	}
	return out
}
