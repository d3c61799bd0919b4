package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/riscd/riscd/lifecycle"
)

// cmdWebhookSecret prints a new webhook secret ("whsec_" and base64 of 32
// random bytes, the form companion.webhook_secret_file holds), or writes it
// to a new file (mode 0600) with --file.
func cmdWebhookSecret(_ context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "webhook-secret", "webhook-secret [--file PATH]\n\n"+
		"Prints a new random webhook secret, or writes it to a new file readable by its owner only.")
	file := fs.String("file", "", "write the secret to this new file (mode 0600) instead of printing it")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	secret, err := lifecycle.GenerateWebhookSecret()
	if err != nil {
		return err
	}
	if *file == "" {
		fmt.Fprintln(env.stdout, secret.Reveal())
		return nil
	}
	f, err := os.OpenFile(*file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return usageError{fmt.Errorf("%s exists: riscd does not overwrite a secret file", *file)}
	}
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintln(f, secret.Reveal()); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "wrote a new webhook secret to %s\n", *file)
	return nil
}
