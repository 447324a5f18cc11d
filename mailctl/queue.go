package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"mailsuite/store"
)

// The outbound queue's commands. smtpd's runner sees their changes at its
// next poll (a couple of seconds). Like postsuper, the changing ones print
// nothing on success; an unknown ID is an error.

// queueRow is one line of "queue list".
type queueRow struct {
	ID         int64    `json:"id"`
	Sender     string   `json:"sender"`     // "" for the null sender (bounces)
	Recipients []string `json:"recipients"` // those still pending
	Attempts   int      `json:"attempts"`   // the most any pending recipient had
	// NextAttempt is the earliest next attempt, RFC 3339 UTC; "" when no
	// recipient is pending (the message's bounce is being sent).
	NextAttempt string `json:"next_attempt"`
	LastError   string `json:"last_error"` // the latest error, "" when none
}

// fields renders the row as
//
//	ID  SENDER  RECIPIENTS  ATTEMPTS  NEXT-ATTEMPT  LAST-ERROR
//
// with "<>" for the null sender, the recipients comma-separated, and "-"
// for an empty field.
func (r queueRow) fields() []string {
	sender := r.Sender
	if sender == "" {
		sender = "<>"
	}
	return []string{strconv.FormatInt(r.ID, 10), queueField(sender), queueField(strings.Join(r.Recipients, ",")),
		strconv.Itoa(r.Attempts), queueField(r.NextAttempt), queueField(r.LastError)}
}

// queueList prints one line per queued message (see queueRow).
func queueList(ctx context.Context, e *env, args []string) error {
	msgs, err := e.st.QueuedMessages(ctx)
	if err != nil {
		return err
	}
	rows := make([]queueRow, len(msgs))
	for i, m := range msgs {
		rows[i] = newQueueRow(m)
	}
	return writeList(e, rows)
}

func newQueueRow(m store.QueuedMessage) queueRow {
	r := queueRow{ID: m.ID, Sender: m.Sender, Recipients: []string{}}
	var next, lastAt time.Time
	for _, rc := range m.Rcpts {
		if rc.Status != store.RcptPending {
			continue
		}
		r.Recipients = append(r.Recipients, rc.Rcpt)
		r.Attempts = max(r.Attempts, rc.Attempts)
		if next.IsZero() || rc.NextAttempt.Before(next) {
			next = rc.NextAttempt
		}
		if rc.LastError != "" && (r.LastError == "" || rc.NextAttempt.After(lastAt)) {
			r.LastError, lastAt = oneSpaced(rc.LastError), rc.NextAttempt
		}
	}
	if !next.IsZero() {
		r.NextAttempt = next.UTC().Format(time.RFC3339)
	}
	return r
}

// queueRetry makes every pending recipient of a message due now.
func queueRetry(ctx context.Context, e *env, args []string) error {
	id, err := queueID("retry", args[0])
	if err != nil {
		return err
	}
	return queueNotFound("retry", id, e.st.RetryQueued(ctx, id, e.st.Now()))
}

// queueDelete drops a message from the queue without a bounce.
func queueDelete(ctx context.Context, e *env, args []string) error {
	id, err := queueID("delete", args[0])
	if err != nil {
		return err
	}
	return queueNotFound("delete", id, e.st.DeleteQueued(ctx, id))
}

// queueFlush makes every queued message due now.
func queueFlush(ctx context.Context, e *env, args []string) error {
	_, err := e.st.FlushQueue(ctx, e.st.Now())
	return err
}

func queueID(verb, s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, usagef("queue %s: %q is not a queue ID (see mailctl queue list)", verb, s)
	}
	return id, nil
}

func queueNotFound(verb string, id int64, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("queue %s: no queued message %d", verb, id)
	}
	return err
}

// queueField keeps a text field on one line without tabs, "-" when empty.
func queueField(s string) string {
	if s = oneSpaced(s); s == "" {
		return "-"
	}
	return s
}

// oneSpaced folds runs of white space, newlines and tabs included, into
// single spaces.
func oneSpaced(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
