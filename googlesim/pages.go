package googlesim

import (
	"bytes"
	"html/template"
	"net/http"
	"strings"
)

// pages holds the consent and error pages. Parsing a constant template
// cannot fail, so Must is safe here.
var pages = template.Must(template.New("pages").Parse(pagesHTML))

const pagesHTML = `
{{define "head"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.}} - Google Accounts (simulated)</title>
<style>
body{font-family:system-ui,sans-serif;background:#f1f3f4;margin:0;color:#202124}
main{max-width:30rem;margin:3rem auto;background:#fff;border:1px solid #dadce0;border-radius:8px;padding:2rem}
h1{font-size:1.4rem;font-weight:400;margin-top:0}
fieldset{border:0;padding:0;margin:1rem 0}
legend{font-weight:500;margin-bottom:.5rem}
label{display:block;padding:.4rem 0}
.who{color:#5f6368;font-size:.9rem}
.id{color:#5f6368}
.buttons{display:flex;justify-content:flex-end;gap:1rem;margin-top:1.5rem}
button{font-size:1rem;padding:.5rem 1.5rem;border-radius:4px;border:1px solid #dadce0;background:#fff;cursor:pointer}
button.allow{background:#1a73e8;border-color:#1a73e8;color:#fff}
.err{color:#d93025}
footer{color:#5f6368;font-size:.8rem;margin-top:2rem}
</style></head><body><main>{{end}}

{{define "foot"}}<footer>googlesim: a local stand-in for Google. Nothing here leaves this machine.</footer></main></body></html>{{end}}

{{define "consent"}}{{template "head" "Sign in"}}
<h1>{{.Project}} wants access to your Google Account</h1>
<form id="consent" method="post" action="{{.Action}}">
<input type="hidden" name="req" value="{{.ReqID}}">
{{if .Chooser}}<fieldset id="accounts"><legend>Choose an account</legend>
{{range .Users}}<label><input type="radio" name="user" value="{{.Sub}}"{{if .Checked}} checked{{end}} required> {{.Name}} <span class="who">{{.Email}}</span></label>
{{end}}</fieldset>
{{else}}<p class="who" id="account">Signed in as {{.Fixed.Name}} ({{.Fixed.Email}})</p>
<input type="hidden" name="user" value="{{.Fixed.Sub}}">
{{end}}<fieldset id="scopes"><legend>Select what {{.Project}} can access</legend>
{{range .Scopes}}{{if .Identity}}<label class="id"><input type="checkbox" checked disabled data-identity="{{.Scope}}"> {{.Label}}</label>
{{else}}<label><input type="checkbox" name="scope" value="{{.Scope}}" checked> {{.Label}}</label>
{{end}}{{end}}</fieldset>
<div class="buttons"><button type="submit" name="action" value="deny">Deny</button>
<button type="submit" name="action" value="allow" class="allow">Allow</button></div>
</form>
{{template "foot"}}{{end}}

{{define "error"}}{{template "head" "Error"}}
<h1>Access blocked: this app's request is invalid</h1>
<p class="err" id="error" data-error="{{.Code}}" data-status="{{.Shown}}">Error {{.Shown}}: {{.Code}}</p>
<p>{{.Description}}</p>
{{template "foot"}}{{end}}
`

// errorView is what the error page shows. Shown is the status Google's page
// prints (401 for invalid_client), not the HTTP status.
type errorView struct {
	Code, Description string
	Shown             int
}

// renderErrorPage answers 400 with Google's "Access blocked" page; used when
// redirecting back to the client would be unsafe.
func (s *Server) renderErrorPage(w http.ResponseWriter, r *http.Request, code, desc string) {
	shown := http.StatusBadRequest
	if code == "invalid_client" {
		shown = http.StatusUnauthorized
	}
	s.renderPage(w, r, http.StatusBadRequest, "error", errorView{Code: code, Description: desc, Shown: shown})
}

// renderPage executes a page template into a buffer, then answers.
func (s *Server) renderPage(w http.ResponseWriter, r *http.Request, status int, name string, v any) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, v); err != nil {
		s.log.ErrorContext(r.Context(), "googlesim: render page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(strings.TrimSpace(buf.String())))
}
