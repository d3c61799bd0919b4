package googlesim

import (
	"bytes"
	"html/template"
	"net/http"
	"slices"
)

// demoPage is the demo's one page. Parsing a constant template cannot
// fail, so Must is safe here.
var demoPage = template.Must(template.New("demo").Parse(demoHTML))

// demoView is what the demo page shows.
type demoView struct {
	CSRF      string
	HasStream bool
	Stream    StreamInfo
	Events    []string // short names of the stream's events
	Users     []demoUser
	Pushes    []PushResult // newest first
}

type demoUser struct {
	User
	HasRefresh bool
}

// handleDemoPage is GET /demo.
func (s *Server) handleDemoPage(w http.ResponseWriter, r *http.Request) {
	v := demoView{CSRF: demoCSRF(w, r)}
	v.Stream, v.HasStream = s.Stream()
	for _, uri := range v.Stream.Events {
		v.Events = append(v.Events, EventName(uri))
	}
	for _, u := range s.Users() {
		g, ok := s.Grant(u.Sub)
		v.Users = append(v.Users, demoUser{User: u, HasRefresh: ok && len(g.RefreshTokens) > 0})
	}
	v.Pushes = s.StreamPushes()
	slices.Reverse(v.Pushes)
	var buf bytes.Buffer
	if err := demoPage.Execute(&buf, v); err != nil {
		s.log.ErrorContext(r.Context(), "googlesim: demo page", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	_, _ = w.Write(buf.Bytes())
}

const demoHTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Google stand-in: send security events</title>
<style>
body{font-family:system-ui,sans-serif;background:#f1f3f4;margin:0;color:#202124}
main{max-width:64rem;margin:2rem auto;background:#fff;border:1px solid #dadce0;border-radius:8px;padding:1.5rem 2rem}
h1{font-size:1.4rem;font-weight:400;margin-top:0}
h2{font-size:1.1rem;font-weight:500;margin-top:2rem}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #eee;vertical-align:top;font-size:.9rem}
.id,.muted{color:#5f6368}
.ok{color:#188038}.bad{color:#d93025}
form.user{display:flex;flex-wrap:wrap;gap:.4rem}
button{font-size:.85rem;padding:.3rem .7rem;border-radius:4px;border:1px solid #dadce0;background:#fff;cursor:pointer}
button:disabled{color:#aaa;cursor:not-allowed}
button.danger{border-color:#d93025;color:#d93025}
code{font-size:.85rem}
</style></head>
<body><main>
<h1>Google stand-in: send security events</h1>
<h2>Stream</h2>
{{if .HasStream}}
<p>Delivery URL <code id="delivery-url">{{.Stream.DeliveryURL}}</code>,
status <strong id="stream-status" class="{{if .Stream.Enabled}}ok{{else}}bad{{end}}">{{if .Stream.Enabled}}enabled{{else}}disabled{{end}}</strong>.</p>
<p class="muted">Events requested: {{range $i, $e := .Events}}{{if $i}}, {{end}}{{$e}}{{end}}</p>
{{else}}
<p id="stream-status" class="bad">No stream yet: run <code>riscd stream update</code> against this stand-in first.</p>
{{end}}

<h2>Users</h2>
<table>
<tr><th>User</th><th>Send an event about this user</th></tr>
{{range .Users}}
<tr><td>{{.Name}}<br><span class="id">{{.Email}}<br>sub {{.Sub}}</span></td>
<td><form class="user" method="post" action="/demo/push">
<input type="hidden" name="csrf" value="{{$.CSRF}}">
<input type="hidden" name="sub" value="{{.Sub}}">
<button name="event" value="sessions-revoked">sessions-revoked</button>
<button name="event" value="tokens-revoked">tokens-revoked</button>
<button name="event" value="token-revoked"{{if not .HasRefresh}} disabled title="no refresh token issued to this user yet"{{end}}>token-revoked</button>
<button class="danger" name="event" value="account-disabled/hijacking">account-disabled (hijacking)</button>
<button name="event" value="account-disabled/bulk-account">account-disabled (bulk-account)</button>
<button name="event" value="account-disabled/none">account-disabled (no reason)</button>
<button name="event" value="account-enabled">account-enabled</button>
<button name="event" value="credential-change-required">credential-change-required</button>
<button class="danger" name="event" value="account-purged">account-purged</button>
</form></td></tr>
{{end}}
</table>

<h2>Verification</h2>
<form method="post" action="/demo/push">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<label>state <input name="state" placeholder="random when empty"></label>
<button name="event" value="verification">verification</button>
</form>

<h2 id="pushes">Pushes</h2>
{{if .Pushes}}
<table>
<tr><th>When</th><th>Event</th><th>User</th><th>Receiver's answer</th></tr>
{{range .Pushes}}
<tr><td>{{.At.Format "15:04:05"}}</td><td>{{.Name}}</td><td class="id">{{.Sub}}</td>
<td>{{if .Status}}<strong class="push-status {{if lt .Status 300}}ok{{else}}bad{{end}}">{{.Status}}</strong> {{.Answer}}{{end}}{{if .Error}} <span class="bad">{{.Error}}</span>{{end}}</td></tr>
{{end}}
</table>
{{else}}
<p class="muted">Nothing sent yet.</p>
{{end}}
</main></body></html>
`
