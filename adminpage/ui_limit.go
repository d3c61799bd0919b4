package adminpage

import (
	"time"

	"github.com/riscd/riscd/limit"
)

// Limits of sign-ins to the admin page.
const (
	// signinAttempts is how many sign-ins one client address may try at
	// once; then one more every signinWindow/signinAttempts. A success
	// forgets the address's attempts.
	signinAttempts = 5
	signinWindow   = time.Minute
	// maxLimitedClients bounds the addresses tracked; past it the least
	// recently seen address is forgotten (limit.Keyed), so each address
	// keeps a bucket of its own.
	maxLimitedClients = 4096
)

// newSigninLimiter is the sign-in limiter: a token bucket per client
// address, taken when the attempt is judged.
func newSigninLimiter() *limit.Keyed {
	return limit.NewKeyed(limit.KeyedConfig{
		Every: signinWindow / signinAttempts, Burst: signinAttempts, Size: maxLimitedClients,
	})
}
