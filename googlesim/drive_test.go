package googlesim

import (
	"net/http"
	"testing"
)

func TestDriveFiles(t *testing.T) {
	s := newSim(t, nil)
	a := s.grantFlow(t, browser(t), nil, Choice{})
	at := a.str("access_token")
	ok := s.get(t, PathDriveFiles, at)
	files, _ := ok.body["files"].([]any)
	if ok.status != http.StatusOK || ok.str("kind") != "drive#fileList" || len(files) != 3 {
		t.Fatalf("drive files: %d %v, want 200 with 3 files", ok.status, ok.body)
	}
	f0 := files[0].(map[string]any)
	if want := DriveFiles(DefaultUsers()[0].Sub)[0]; f0["id"] != want.ID || f0["name"] != want.Name {
		t.Errorf("first file = %v, want %+v", f0, want)
	}

	cases := []struct {
		name   string
		bearer string
		status int
		reason string
	}{
		{"no token", "", 401, "authError"},
		{"unknown token", "ya29.unknown", 401, "authError"},
		{"refresh token as bearer", a.str("refresh_token"), 401, "authError"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkAPIError(t, s.get(t, PathDriveFiles, tc.bearer), tc.status, tc.reason)
		})
	}
	t.Run("no drive scope", func(t *testing.T) {
		other := s.grantFlow(t, browser(t), map[string]string{"scope": "openid email", "login_hint": "bob@example.com"}, Choice{})
		checkAPIError(t, s.get(t, PathDriveFiles, other.str("access_token")), 403, "insufficientPermissions")
	})
	t.Run("expired token", func(t *testing.T) {
		s.ExpireAccessTokens()
		a := s.get(t, PathDriveFiles, at)
		checkAPIError(t, a, 401, "authError")
		if got := a.header.Get("WWW-Authenticate"); got == "" {
			t.Error("401 without WWW-Authenticate")
		}
	})
}

func TestUserinfo(t *testing.T) {
	s := newSim(t, nil)
	a := s.grantFlow(t, browser(t), map[string]string{"scope": "openid email"}, Choice{})
	u := s.get(t, PathUserinfo, a.str("access_token"))
	alice := DefaultUsers()[0]
	if u.status != http.StatusOK || u.str("sub") != alice.Sub || u.str("email") != alice.Email {
		t.Errorf("userinfo = %d %v, want alice's sub and email", u.status, u.body)
	}
	if _, ok := u.body["name"]; ok {
		t.Error("userinfo gave the name without the profile scope")
	}
}

// checkAPIError checks Google's JSON API error shape.
func checkAPIError(tb testing.TB, a answer, status int, reason string) {
	tb.Helper()
	e, _ := a.body["error"].(map[string]any)
	errs, _ := e["errors"].([]any)
	var got string
	if len(errs) > 0 {
		got, _ = errs[0].(map[string]any)["reason"].(string)
	}
	if a.status != status || e["code"] != float64(status) || got != reason {
		tb.Errorf("got %d %v, want %d with reason %s", a.status, a.body, status, reason)
	}
}
