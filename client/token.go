package client

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// Who names the user riscd serves: a Google subject (Sub) or the app's own
// user identifier (AppUser) that riscd linked to a grant when that user
// connected (see Connect). The zero Who names nobody.
type Who struct {
	sub, appUser string
}

// Sub names the user by Google's subject identifier (the ID token's sub).
func Sub(sub string) Who { return Who{sub: sub} }

// AppUser names the user by the app's own identifier, as given to Connect.
func AppUser(id string) Who { return Who{appUser: id} }

// Sub returns the Google subject Who names, or "" for an app user.
func (w Who) Sub() string { return w.sub }

// AppUser returns the app user Who names, or "" for a Google subject.
func (w Who) AppUser() string { return w.appUser }

// IsZero reports whether w names nobody.
func (w Who) IsZero() bool { return w.sub == "" && w.appUser == "" }

// String is "sub:<sub>" or "app_user:<id>".
func (w Who) String() string {
	if w.appUser != "" {
		return "app_user:" + w.appUser
	}
	return "sub:" + w.sub
}

// errNobody is the error of a token asked for the zero Who.
var errNobody = errors.New("riscd client: no user named (use client.Sub or client.AppUser)")

// tokenRequest is POST /v1/token's body: "sub" for a Google subject,
// "app_user" for an app user.
type tokenRequest struct {
	Sub     string   `json:"sub,omitempty"`
	AppUser string   `json:"app_user,omitempty"`
	Scopes  []string `json:"scopes"`
}

// tokenAnswer is POST /v1/token's answer. It never holds a refresh token.
type tokenAnswer struct {
	AccessToken string     `json:"access_token"`
	TokenType   string     `json:"token_type"`
	Expiry      *time.Time `json:"expiry"`
	Scopes      []string   `json:"scopes"`
}

// Token asks riscd for an access token of who's grant covering scopes
// (POST /v1/token), refreshed by riscd when it was about to expire. The
// token has no refresh token; its "scopes" extra (Token.Extra("scopes"))
// is the []string of scopes the grant holds. It does not cache: use
// TokenSource for that.
//
// Errors: errors.Is(err, ErrNoGrant) when riscd holds no grant for who; a
// *ScopeError when no grant covers scopes; an *UnavailableError when the
// grant is held, revoked or needs consent or re-authentication; an
// *APIError (Temporary) while Google's token endpoint fails with no valid
// token left; ctx's error or a transport error otherwise.
func (c *Client) Token(ctx context.Context, who Who, scopes ...string) (*oauth2.Token, error) {
	if who.IsZero() {
		return nil, errNobody
	}
	var a tokenAnswer
	if err := c.call(ctx, "POST", "/v1/token", tokenRequest{Sub: who.sub, AppUser: who.appUser, Scopes: scopes}, &a); err != nil {
		return nil, err
	}
	if a.AccessToken == "" {
		return nil, errors.New("riscd client: POST /v1/token answered no access token")
	}
	tok := &oauth2.Token{AccessToken: a.AccessToken, TokenType: a.TokenType}
	if a.Expiry != nil {
		tok.Expiry = *a.Expiry
	}
	return tok.WithExtra(map[string]any{"scopes": slices.Clone(a.Scopes)}), nil
}

// TokenSource returns an oauth2.TokenSource of who's access tokens for
// scopes, for Google's client libraries (option.WithTokenSource) or
// oauth2.NewClient. Like oauth2.ReuseTokenSource it hands out the same
// token until the expiry margin (DefaultExpiryMargin, WithExpiryMargin)
// before its expiry, then asks riscd again (Token); a token riscd gives
// without expiry is not reused. ctx bounds every request to riscd. It is
// safe for concurrent use; concurrent callers wait for one request. Errors
// are Token's, and are not cached.
//
// Google's client libraries keep a cache of their own on top (the
// cloud.google.com/go/auth one hands out a token within 225 s of its expiry
// while it fetches the next one in the background), which asks this
// TokenSource again as the expiry nears.
func (c *Client) TokenSource(ctx context.Context, who Who, scopes ...string) oauth2.TokenSource {
	return &tokenSource{c: c, ctx: ctx, who: who, scopes: slices.Clone(scopes)}
}

// tokenSource caches one token of one user and scopes.
type tokenSource struct {
	c      *Client
	ctx    context.Context
	who    Who
	scopes []string

	mu  sync.Mutex
	tok *oauth2.Token
}

// Token returns the cached token while it is good beyond the margin, else
// a new one from riscd.
func (s *tokenSource) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok != nil && s.c.now().Add(s.c.margin).Before(s.tok.Expiry) {
		return s.tok, nil
	}
	tok, err := s.c.Token(s.ctx, s.who, s.scopes...)
	if err != nil {
		return nil, err
	}
	s.tok = nil
	if !tok.Expiry.IsZero() {
		s.tok = tok
	}
	return tok, nil
}
