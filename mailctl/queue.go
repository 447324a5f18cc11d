package main

import (
	"context"
	"errors"
	"io"

	"mailsuite/store"
)

// queueCmd runs "mailctl queue ...". This is a placeholder until the
// outbound queue lands; the queue's own change replaces this file.
func queueCmd(ctx context.Context, st *store.Store, args []string, stdout io.Writer) error {
	return errors.New("queue: not available yet")
}
