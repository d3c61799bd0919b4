package riscd

import "context"

// ConnectSession runs ReadTx.ConnectSession in its own transaction.
func (s Shortcuts) ConnectSession(ctx context.Context, id string) (ConnectSession, error) {
	return view(ctx, s, func(tx ReadTx) (ConnectSession, error) { return tx.ConnectSession(ctx, id) })
}

// LinksOfAppUser runs ReadTx.LinksOfAppUser in its own transaction.
func (s Shortcuts) LinksOfAppUser(ctx context.Context, appUser string) ([]AppUserLink, error) {
	return view(ctx, s, func(tx ReadTx) ([]AppUserLink, error) { return tx.LinksOfAppUser(ctx, appUser) })
}

// LinksOfSub runs ReadTx.LinksOfSub in its own transaction.
func (s Shortcuts) LinksOfSub(ctx context.Context, sub string) ([]AppUserLink, error) {
	return view(ctx, s, func(tx ReadTx) ([]AppUserLink, error) { return tx.LinksOfSub(ctx, sub) })
}

// CreateConnectSession runs Tx.CreateConnectSession in its own transaction.
func (s Shortcuts) CreateConnectSession(ctx context.Context, cs ConnectSession) error {
	return s.Update(ctx, func(tx Tx) error { return tx.CreateConnectSession(ctx, cs) })
}

// PutConnectSession runs Tx.PutConnectSession in its own transaction.
func (s Shortcuts) PutConnectSession(ctx context.Context, cs ConnectSession) error {
	return s.Update(ctx, func(tx Tx) error { return tx.PutConnectSession(ctx, cs) })
}

// DeleteExpiredConnectSessions runs Tx.DeleteExpiredConnectSessions in its
// own transaction.
func (s Shortcuts) DeleteExpiredConnectSessions(ctx context.Context) (int, error) {
	return update(ctx, s, func(tx Tx) (int, error) { return tx.DeleteExpiredConnectSessions(ctx) })
}

// LinkAppUser runs Tx.LinkAppUser in its own transaction.
func (s Shortcuts) LinkAppUser(ctx context.Context, l AppUserLink) (AppUserLink, bool, error) {
	type res struct {
		l   AppUserLink
		new bool
	}
	r, err := update(ctx, s, func(tx Tx) (res, error) {
		got, created, err := tx.LinkAppUser(ctx, l)
		return res{got, created}, err
	})
	return r.l, r.new, err
}

// UnlinkAppUser runs Tx.UnlinkAppUser in its own transaction.
func (s Shortcuts) UnlinkAppUser(ctx context.Context, appUser, sub string) error {
	return s.Update(ctx, func(tx Tx) error { return tx.UnlinkAppUser(ctx, appUser, sub) })
}
