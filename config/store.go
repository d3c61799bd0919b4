package config

import (
	"net/url"
)

// checkStoreURL says what is wrong with a store.url, "" when nothing is. Its
// message never repeats the URL, which may carry a password.
func checkStoreURL(raw string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "not a URL (its text is not repeated here: it may hold a password)"
	case u.Scheme != "postgres" && u.Scheme != "postgresql":
		return "must be a postgres:// (or postgresql://) URL"
	case u.Host == "" && u.Query().Get("host") == "":
		return "must name the database host, e.g. postgres://riscd@db.example.com:5432/riscd"
	case u.Fragment != "":
		return "must not carry a fragment"
	}
	return ""
}

// urlHasPassword reports whether a postgres URL carries a password, in its
// user info or as the password parameter.
func urlHasPassword(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	if _, ok := u.User.Password(); ok {
		return true
	}
	return u.Query().Has("password")
}

// Where names the store for log lines and status output without anything
// secret: the bbolt file, or the PostgreSQL host, port and database (never
// the user, the password or the parameters).
func (s Store) Where() string {
	if s.Engine != EnginePostgres {
		return s.Path
	}
	u, err := url.Parse(s.URL)
	if err != nil {
		return "postgres"
	}
	return "postgres://" + u.Host + u.EscapedPath()
}
