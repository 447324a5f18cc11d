package main

import (
	"context"
)

// backup writes a consistent copy of the live store to PATH while the
// daemons keep running. PATH must not exist.
func backup(ctx context.Context, e *env, args []string) error {
	return e.st.Backup(ctx, args[0])
}
