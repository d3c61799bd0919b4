package riscd

import "time"

// AdminSession is one signed-in browser of the admin page.
type AdminSession struct {
	ID       Secret // the cookie's value; engines keep only its SHA-256
	CSRF     Secret // the token every form posts back
	Operator string // who signed in: the admin token's label, or "operator"
	Created  time.Time
	Expires  time.Time
}
