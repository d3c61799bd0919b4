package adminclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// Backup asks the running riscd for a consistent copy of its store (POST
// /admin/store/backup) and writes it to w as it arrives; it returns the
// bytes written. An error answer is an *APIError (501 not_implemented:
// the engine has none, use the database's own tools); an answer cut short
// (riscd failed midway) is an error wrapping ErrUnreachable, and what was
// written to w is then not a whole copy.
func (c *Client) Backup(ctx context.Context, w io.Writer) (int64, error) {
	const method, path = http.MethodPost, "/admin/store/backup"
	u := *c.base
	u.Path = c.base.Path + path
	u.RawPath = ""
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w: %v", method, path, ErrInvalidArgument, err)
	}
	req.Header.Set("Authorization", "Bearer "+string(c.token))
	req.Header.Set("Accept", "application/octet-stream, application/json")
	req.Header.Set("User-Agent", c.ua)
	resp, err := c.hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, fmt.Errorf("%s %s: %w: %w", method, path, ErrUnreachable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
		return 0, apiError(method, path, resp, body)
	}
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, fmt.Errorf("%s %s: %w: the copy was cut short after %d bytes: %w", method, path, ErrUnreachable, n, err)
	}
	return n, nil
}
