package googlesim

import (
	"maps"
	"slices"
	"time"
)

// flowState is everything the OAuth side remembers. Guarded by Server.mu.
type flowState struct {
	sessions map[string]*session     // browser cookie value -> signed-in users
	pending  map[string]*pendingAuth // consent page id -> the request it answers
	codes    map[string]*authCode    // authorization code -> what it grants
	grants   map[string]*grant       // user sub -> the user's grant to the client
	tokens   map[string]*issuedToken // access and refresh tokens
	dead     map[string]bool         // tokens and codes revoked, replayed or retired
	refresh  map[string]int          // refresh token -> successful refreshes
}

func newFlowState() flowState {
	return flowState{
		sessions: map[string]*session{},
		pending:  map[string]*pendingAuth{},
		codes:    map[string]*authCode{},
		grants:   map[string]*grant{},
		tokens:   map[string]*issuedToken{},
		dead:     map[string]bool{},
		refresh:  map[string]int{},
	}
}

// session is one browser's sign-in state: the accounts it has used.
type session struct {
	users []string // subs, first signed in first
}

func (se *session) has(sub string) bool { return slices.Contains(se.users, sub) }

// grant is what one user granted the client: the union of every scope ever
// granted, until revocation ends it.
type grant struct {
	sub     string
	scopes  map[string]bool
	offline bool     // a refresh token was issued since the grant began
	refresh []string // live refresh tokens, oldest first
}

func (g *grant) covers(scopes []string) bool {
	for _, sc := range scopes {
		if !g.scopes[sc] {
			return false
		}
	}
	return true
}

func (g *grant) scopeList() []string { return slices.Sorted(maps.Keys(g.scopes)) }

type tokenKind int

const (
	accessToken tokenKind = iota + 1
	refreshToken
)

// issuedToken is an access or refresh token the server handed out.
type issuedToken struct {
	kind    tokenKind
	sub     string
	scopes  []string
	code    string    // the authorization code the token descends from
	expires time.Time // access tokens only
}

// authCode is an authorization code and what exchanging it gives.
type authCode struct {
	redirectURI string
	sub         string
	scopes      []string
	challenge   string
	method      string
	nonce       string
	refresh     bool // the exchange issues a refresh token
	expires     time.Time
	used        bool
}

// pendingAuth is a consent page waiting for its answer.
type pendingAuth struct {
	req     authRequest
	created time.Time
}
