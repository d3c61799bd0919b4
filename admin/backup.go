package admin

import (
	"context"
	"io"
	"net/http"

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

// startedWriter writes the answer's header on the first write.
type startedWriter struct {
	c       echo.Context
	started bool
}

func (w *startedWriter) Write(p []byte) (int, error) {
	if !w.started {
		w.started = true
		h := w.c.Response().Header()
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Content-Disposition", `attachment; filename="riscd-backup.db"`)
		w.c.Response().WriteHeader(http.StatusOK)
	}
	return w.c.Response().Write(p)
}
