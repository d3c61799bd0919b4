package googlesim

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
)

// DriveFile is one entry of the fake Drive file list, in Drive v3's JSON shape.
type DriveFile struct {
	Kind     string `json:"kind"`
	ID       string `json:"id"`
	Name     string `json:"name"`
	MimeType string `json:"mimeType"`
}

// driveScope accepts every Drive scope.
func driveScope(sc string) bool {
	return strings.HasPrefix(sc, "https://www.googleapis.com/auth/drive")
}

// handleDriveFiles serves GET /drive/v3/files: a fixed list per user, for a
// bearer access token that holds a Drive scope.
func (s *Server) handleDriveFiles(w http.ResponseWriter, r *http.Request) {
	t, ok := s.bearer(w, r)
	if !ok || !requireScope(w, t, driveScope) {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"kind":             "drive#fileList",
		"incompleteSearch": false,
		"files":            DriveFiles(t.sub),
	})
}

// DriveFiles returns the file list the fake Drive serves to the user with
// subject sub: the same three files every time, with IDs derived from sub.
func DriveFiles(sub string) []DriveFile {
	files := []struct{ name, mime string }{
		{"Quarterly report", "application/vnd.google-apps.document"},
		{"Budget 2026", "application/vnd.google-apps.spreadsheet"},
		{"holiday.jpg", "image/jpeg"},
	}
	out := make([]DriveFile, 0, len(files))
	for _, f := range files {
		sum := sha256.Sum256([]byte(sub + "/" + f.name))
		out = append(out, DriveFile{Kind: "drive#file", ID: "1" + hex.EncodeToString(sum[:16]), Name: f.name, MimeType: f.mime})
	}
	return out
}
