package admin

import (
	"context"
	"io"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// Backuper is an optional Store method: an engine that can write a
// consistent copy of itself while in use (the bbolt engine: a whole store
// file, holding every inbox entry acknowledged before the call). Errors are
// the store's, or w's.
type Backuper interface {
	Backup(ctx context.Context, w io.Writer) (int64, error)
}

// errNoBackup answers a backup request to an engine without one.
var errNoBackup = &Error{Status: http.StatusNotImplemented, Code: CodeNotImplemented,
	Detail: "this store engine has no online backup through riscd: back the database up with its own tools (PostgreSQL: pg_dump)"}

// backupStore streams a copy of the store (POST /admin/store/backup) as
// application/octet-stream. A failure before the first byte is an error
// answer; one after it aborts the connection, so that the client sees a
// cut answer and never a whole-looking one.
func (s *Server) backupStore(c echo.Context) error {
	b, ok := s.store.(Backuper)
	if !ok {
		return errNoBackup
	}
	w := &startedWriter{c: c}
	_, err := b.Backup(c.Request().Context(), w)
	if err == nil {
		return nil
	}
	if !w.started {
		return err
	}
	s.log.ErrorContext(c.Request().Context(), "store backup cut short", "err", err)
	panic(http.ErrAbortHandler)
}

// backupWriteIdle is how long a backup's write may wait for the client:
// each write moves the connection's write deadline this far ahead, so a
// large store streams for as long as it takes while a stalled client is
// cut off (the listener's own write timeout would cut a long backup).
const backupWriteIdle = time.Minute

// startedWriter writes the answer's header on the first write.
type startedWriter struct {
	c       echo.Context
	started bool
}

func (w *startedWriter) Write(p []byte) (int, error) {
	_ = http.NewResponseController(w.c.Response()).SetWriteDeadline(time.Now().Add(backupWriteIdle))
	if !w.started {
		w.started = true
		h := w.c.Response().Header()
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Content-Disposition", `attachment; filename="riscd-backup.db"`)
		w.c.Response().WriteHeader(http.StatusOK)
	}
	return w.c.Response().Write(p)
}
