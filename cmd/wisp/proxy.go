package main

import (
	"context"
	"errors"
)

func runProxy(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "proxy", "[flags]")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return errors.New("not implemented yet")
}
