package main

import (
	"context"
	"errors"
)

func runServe(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "serve", "[flags]")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return errors.New("not implemented yet")
}
