package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"mailsuite/store"
)

// queueCmd runs "mailctl queue list | retry ID | delete ID | flush" over
// the outbound queue. smtpd's runner sees the changes at its next poll
// (a couple of seconds).
func queueCmd(ctx context.Context, st *store.Store, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usagef("queue: want list, retry ID, delete ID or flush")
	}
	switch sub, rest := args[0], args[1:]; {
	case sub == "list" && len(rest) == 0:
		return queueList(ctx, st, stdout)
	case sub == "flush" && len(rest) == 0:
		n, err := st.FlushQueue(ctx, st.Now())
		if err != nil {
			return err
		}
		return record(stdout, "flushed="+strconv.Itoa(n))
	case (sub == "retry" || sub == "delete") && len(rest) == 1:
		id, err := strconv.ParseInt(rest[0], 10, 64)
		if err != nil || id <= 0 {
			return usagef("queue %s: %q is not a queue ID (see mailctl queue list)", sub, rest[0])
		}
		if sub == "retry" {
			err = st.RetryQueued(ctx, id, st.Now())
		} else {
			err = st.DeleteQueued(ctx, id)
		}
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("queue %s: no queued message %d", sub, id)
		}
		if err != nil {
			return err
		}
		return record(stdout, strconv.FormatInt(id, 10), map[string]string{"retry": "due", "delete": "deleted"}[sub])
	}
	return usagef("queue: want list, retry ID, delete ID or flush")
}

// queueList prints one line per queued message, tab-separated:
//
//	ID  SENDER  RECIPIENTS  ATTEMPTS  NEXT-ATTEMPT  LAST-ERROR
//
// SENDER is "<>" for the null sender (bounces); RECIPIENTS are those
// still pending, comma-separated; ATTEMPTS is the most any of them had;
// NEXT-ATTEMPT is RFC 3339 UTC, the earliest; LAST-ERROR is the latest
// error, "-" when none. A message with no pending recipient (its bounce
// is being sent) lists "-" for them.
func queueList(ctx context.Context, st *store.Store, w io.Writer) error {
	msgs, err := st.QueuedMessages(ctx)
	if err != nil {
		return err
	}
	for _, m := range msgs {
		if err := record(w, queueLine(m)...); err != nil {
			return err
		}
	}
	return nil
}

func queueLine(m store.QueuedMessage) []string {
	sender := m.Sender
	if sender == "" {
		sender = "<>"
	}
	var rcpts []string
	attempts := 0
	var next time.Time
	lastErr, lastAt := "-", time.Time{}
	for _, r := range m.Rcpts {
		if r.Status != store.RcptPending {
			continue
		}
		rcpts = append(rcpts, r.Rcpt)
		attempts = max(attempts, r.Attempts)
		if next.IsZero() || r.NextAttempt.Before(next) {
			next = r.NextAttempt
		}
		if r.LastError != "" && (lastErr == "-" || r.NextAttempt.After(lastAt)) {
			lastErr, lastAt = r.LastError, r.NextAttempt
		}
	}
	nextText := "-"
	if !next.IsZero() {
		nextText = next.UTC().Format(time.RFC3339)
	}
	if len(rcpts) == 0 {
		rcpts = []string{"-"}
	}
	return []string{strconv.FormatInt(m.ID, 10), queueField(sender), queueField(strings.Join(rcpts, ",")),
		strconv.Itoa(attempts), nextText, queueField(lastErr)}
}

// queueField keeps a field on one line without tabs.
func queueField(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
