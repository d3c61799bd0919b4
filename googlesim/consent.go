package googlesim

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// pendingTTL bounds how long a consent page can be answered.
const pendingTTL = time.Hour

// consentView is what the consent page shows.
type consentView struct {
	ReqID   string
	Action  string
	Project string
	Chooser bool
	Users   []userView
	Fixed   userView
	Scopes  []scopeView
}

type userView struct {
	Sub, Email, Name string
	Checked          bool
}

type scopeView struct {
	Scope, Label string
	Identity     bool
}

// renderConsentPage stores the request server-side and shows the page that
// answers it.
func (s *Server) renderConsentPage(w http.ResponseWriter, r *http.Request, req authRequest, signedIn []string, user User, known bool) {
	id := randomURL(24)
	now := s.now()
	s.mu.Lock()
	for k, p := range s.state.pending {
		if now.Sub(p.created) > pendingTTL {
			delete(s.state.pending, k)
		}
	}
	s.state.pending[id] = &pendingAuth{req: req, created: now}
	s.mu.Unlock()

	v := consentView{ReqID: id, Action: PathConsent, Project: s.cfg.ProjectID}
	v.Chooser = req.promptSelect || !known
	pre := user.Sub
	if !known && req.loginHint != "" {
		if u, ok := s.lookupUser(req.loginHint); ok {
			pre = u.Sub
		}
	}
	if !known && pre == "" && len(signedIn) > 0 {
		pre = signedIn[0]
	}
	for _, u := range s.users {
		uv := userView{Sub: u.Sub, Email: u.Email, Name: u.Name, Checked: u.Sub == pre}
		v.Users = append(v.Users, uv)
		if uv.Checked {
			v.Fixed = uv
		}
	}
	for _, sc := range req.scopes {
		v.Scopes = append(v.Scopes, scopeView{Scope: sc, Label: scopeLabel(sc), Identity: identityScope(sc)})
	}
	s.renderPage(w, r, http.StatusOK, "consent", v)
}

// handleConsent takes the consent page's answer.
func (s *Server) handleConsent(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.renderErrorPage(w, r, "invalid_request", "The consent form could not be read.")
		return
	}
	f := r.PostForm
	allow := f.Get("action") == "allow"
	var user User
	if allow {
		u, ok := s.lookupUser(f.Get("user"))
		if !ok {
			s.renderErrorPage(w, r, "invalid_request", "Choose an account to continue.")
			return
		}
		user = u
	}
	s.mu.Lock()
	p, ok := s.state.pending[f.Get("req")]
	delete(s.state.pending, f.Get("req"))
	s.mu.Unlock()
	if !ok || s.now().Sub(p.created) > pendingTTL {
		s.renderErrorPage(w, r, "invalid_request", "This consent request has expired or was already answered.")
		return
	}
	req := p.req
	if !allow {
		s.log.InfoContext(r.Context(), "googlesim: consent denied")
		redirectError(w, r, req, "access_denied", "")
		return
	}
	ticked := f["scope"]
	var chosen []string
	for _, sc := range req.scopes {
		if identityScope(sc) || slices.Contains(ticked, sc) {
			chosen = append(chosen, sc)
		}
	}
	if len(chosen) == 0 {
		redirectError(w, r, req, "access_denied", "")
		return
	}
	s.approve(w, r, req, user, chosen, "consent")
}

// approve records the user's consent to chosen, issues a code and sends the
// browser back to the client. prompt is the prompt word Google echoes.
func (s *Server) approve(w http.ResponseWriter, r *http.Request, req authRequest, user User, chosen []string, prompt string) {
	code := "4/0A" + randomURL(54)
	s.mu.Lock()
	g := s.grantLocked(user.Sub)
	granted := slices.Clone(chosen)
	if req.includeGranted {
		for _, sc := range g.scopeList() {
			if !slices.Contains(granted, sc) {
				granted = append(granted, sc)
			}
		}
	}
	for _, sc := range chosen {
		g.scopes[sc] = true
	}
	refresh := req.offline && (!g.offline || req.promptConsent)
	if refresh {
		g.offline = true
	}
	s.state.codes[code] = &authCode{
		redirectURI: req.redirectURI, sub: user.Sub, scopes: granted,
		challenge: req.challenge, method: req.method, nonce: req.nonce,
		refresh: refresh, expires: s.now().Add(s.cfg.CodeTTL),
	}
	s.stats.CodesIssued++
	s.mu.Unlock()
	s.signIn(w, r, user.Sub)
	s.log.InfoContext(r.Context(), "googlesim: consent granted", "sub", user.Sub, "scopes", strings.Join(granted, " "), "refresh_token", refresh)
	v := url.Values{
		"code":     {code},
		"scope":    {strings.Join(granted, " ")},
		"authuser": {strconv.Itoa(0)},
		"prompt":   {prompt},
	}
	if req.state != "" {
		v.Set("state", req.state)
	}
	redirectTo(w, r, req.redirectURI, v)
}

// scopeLabel is the consent page's text for a scope.
func scopeLabel(sc string) string {
	switch sc {
	case "openid":
		return "Associate you with your personal info on Google"
	case "email", "https://www.googleapis.com/auth/userinfo.email":
		return "See your primary Google Account email address"
	case "profile", "https://www.googleapis.com/auth/userinfo.profile":
		return "See your personal info, including any personal info you've made publicly available"
	case "https://www.googleapis.com/auth/drive.metadata.readonly":
		return "See information about your Google Drive files"
	case "https://www.googleapis.com/auth/drive.readonly":
		return "See and download all your Google Drive files"
	case "https://www.googleapis.com/auth/drive":
		return "See, edit, create, and delete all of your Google Drive files"
	case "https://www.googleapis.com/auth/drive.file":
		return "See, edit, create, and delete only the specific Google Drive files you use with this app"
	case "https://www.googleapis.com/auth/calendar.readonly":
		return "See and download any calendar you can access using your Google Calendar"
	case "https://www.googleapis.com/auth/gmail.readonly":
		return "View your email messages and settings"
	}
	return sc
}
