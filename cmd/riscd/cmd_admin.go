package main

import (
	"context"
	"errors"
)

func cmdGrants(_ context.Context, _ *cliEnv, _ []string) error {
	return errors.New("not built yet")
}

func cmdEvents(_ context.Context, _ *cliEnv, _ []string) error {
	return errors.New("not built yet")
}

func cmdAccounts(_ context.Context, _ *cliEnv, _ []string) error {
	return errors.New("not built yet")
}
