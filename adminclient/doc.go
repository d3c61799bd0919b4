// Package adminclient is a small typed client of riscd's admin API, the
// JSON API on riscd's internal listener (internal.listen) that the riscd
// CLI's grants, events and accounts commands use. It needs only the
// standard library, so other tools can use it without riscd's
// dependencies.
//
// Build a Client with New from the listener's base URL and the admin
// token, then call one method per route:
//
//	c, err := adminclient.New(adminclient.Config{
//		BaseURL: "http://127.0.0.1:9090",
//		Token:   adminclient.Token(os.Getenv("RISCD_INTERNAL_ADMIN_TOKEN")),
//	})
//	page, err := c.ListGrants(ctx, adminclient.GrantFilter{Status: adminclient.GrantHeld})
//	for g, err := range c.AllEvents(ctx, adminclient.EventFilter{Status: adminclient.EventParked}) { ... }
//
// # Errors
//
// Every method returns one of three kinds of error:
//
//   - an error wrapping ErrUnreachable when no HTTP answer came (connection
//     refused, DNS, TLS, timeout or a cancelled context, which is also
//     wrapped);
//   - an *APIError when riscd (or whatever answers at BaseURL) answered
//     with a status other than 2xx. Its Code is the admin API's error code
//     ("not_found", "unauthorized", ...) and errors.Is matches it against
//     the sentinels ErrNotFound, ErrUnauthorized, ErrAdminDisabled,
//     ErrNotParked, ErrNotFailed, ErrBadRequest, ErrNotImplemented and
//     ErrUnavailable.
//     Code is "" when the answer is not an admin API error at all (a proxy's
//     page, the public listener, a redirect);
//   - an error wrapping ErrUnexpectedAnswer when a 2xx answer is not the
//     JSON the route promises.
//
// The admin token travels only in the Authorization header. It never
// appears in an error, and Token, Config and Client redact it when printed
// or logged.
package adminclient
