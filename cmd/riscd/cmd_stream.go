package main

import (
	"context"
	"errors"
)

func cmdStream(_ context.Context, _ *cliEnv, _ []string) error {
	return errors.New("not built yet")
}
