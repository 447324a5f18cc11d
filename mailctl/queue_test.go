package main

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailsuite/store"
)

func TestQueueCommands(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.ok("", "domain", "add", "example.com") // creates the store
	if got := e.ok("", "queue", "list"); got != "" {
		t.Errorf("queue list of an empty queue = %q", got)
	}
	st := e.openStore()
	for _, env := range []store.Envelope{
		{From: "a@example.com", Remote: []string{"x@remote.test", "y@remote.test"}},
		{From: "", Remote: []string{"z@remote.test"}, IsBounce: true},
	} {
		if err := st.Accept(ctx, env, []byte("Subject: t\r\n\r\nx\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	q, err := st.QueuedMessages(ctx)
	if err != nil || len(q) != 2 {
		t.Fatal(q, err)
	}
	// A failed attempt pushes the first message into the future.
	due, _ := st.DueRecipients(ctx, time.Now(), 10)
	later := time.Now().Add(time.Hour).Truncate(time.Second)
	if _, err := st.RecordAttempts(ctx, q[0].ID, []store.Outcome{
		{RcptID: due[0].ID, Status: store.RcptPending, Next: later, Error: "451 4.3.0 try\tagain\nlater"},
		{RcptID: due[1].ID, Status: store.RcptSent, Next: time.Now()},
	}); err != nil {
		t.Fatal(err)
	}
	id1, id2 := itoa(q[0].ID), itoa(q[1].ID)
	want := lines(
		id1+"\ta@example.com\tx@remote.test\t1\t"+later.UTC().Format(time.RFC3339)+"\t451 4.3.0 try again later",
		id2+"\t<>\tz@remote.test\t0\t"+q[1].Rcpts[0].NextAttempt.UTC().Format(time.RFC3339)+"\t-",
	)
	if got := e.ok("", "queue", "list"); got != want {
		t.Errorf("queue list =\n%q\nwant\n%q", got, want)
	}

	// The changing commands print nothing on success, as the help says.
	if got := e.ok("", "queue", "retry", id1); got != "" {
		t.Errorf("queue retry printed %q, want nothing", got)
	}
	if due, _ := st.DueRecipients(ctx, time.Now(), 10); len(due) != 2 {
		t.Errorf("after retry %d recipients due, want 2", len(due))
	}
	if got := e.ok("", "queue", "delete", id2); got != "" {
		t.Errorf("queue delete printed %q, want nothing", got)
	}
	if got := e.ok("", "queue", "list"); strings.Count(got, "\n") != 1 || !strings.HasPrefix(got, id1+"\t") {
		t.Errorf("queue list after delete = %q", got)
	}
	if got := e.ok("", "queue", "flush"); got != "" {
		t.Errorf("queue flush printed %q, want nothing", got)
	}

	e.fail(1, "no queued message 999", "", "queue", "retry", "999")
	e.fail(1, "no queued message "+id2, "", "queue", "delete", id2)
	e.fail(2, "not a queue ID", "", "queue", "retry", "abc")
	e.fail(2, "queue", "", "queue", "retry")
	e.fail(2, "queue", "", "queue", "bogus")
	e.fail(2, "queue retry does not take --json", "", "queue", "retry", id1, "--json")
	e.fail(2, "too many operands", "", "queue", "flush", "now")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
