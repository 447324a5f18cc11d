package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestQueueLifecycle(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	s := openTest(t, WithClock(c.now))
	ctx := context.Background()
	if err := s.Accept(ctx, Envelope{From: "a@example.com", Remote: []string{"x@r.test", "y@r.test"}}, []byte("Subject: q\r\n\r\nhi\r\n")); err != nil {
		t.Fatal(err)
	}
	due, err := s.DueRecipients(ctx, c.now(), 10)
	if err != nil || len(due) != 2 || due[0].Sender != "a@example.com" || due[0].Rcpt != "x@r.test" {
		t.Fatalf("due = %+v, %v", due, err)
	}
	qid := due[0].QueueID
	next := c.now().Add(time.Minute)
	p, err := s.RecordAttempts(ctx, qid, []Outcome{
		{RcptID: due[0].ID, Status: RcptSent, Next: c.now()},
		{RcptID: due[1].ID, Status: RcptPending, Next: next, Error: "451 later", RemoteMTA: "mx.r.test", DSNStatus: "4.0.0"},
	})
	if err != nil || p.Pending != 1 || p.Deleted {
		t.Fatalf("progress = %+v, %v", p, err)
	}
	if due, _ := s.DueRecipients(ctx, c.now(), 10); len(due) != 0 {
		t.Fatalf("due before the retry time: %+v", due)
	}
	m, err := s.QueuedMessageByID(ctx, qid)
	if err != nil || len(m.Rcpts) != 2 || m.Rcpts[1].Attempts != 1 || m.Rcpts[1].LastError != "451 later" || !m.Rcpts[1].NextAttempt.Equal(next) {
		t.Fatalf("queued = %+v, %v", m, err)
	}
	if err := s.RetryQueued(ctx, qid, c.now()); err != nil {
		t.Fatal(err)
	}
	if due, _ := s.DueRecipients(ctx, c.now(), 10); len(due) != 1 {
		t.Fatalf("retry did not make it due: %+v", due)
	}
	// The last recipient fails: a bounce is owed, so the message stays.
	p, err = s.RecordAttempts(ctx, qid, []Outcome{{RcptID: due[1].ID, Status: RcptFailed, Next: c.now(), Error: "550 no"}})
	if err != nil || p.Pending != 0 || p.Failed != 1 || p.Deleted {
		t.Fatalf("progress = %+v, %v", p, err)
	}
	if ids, err := s.FinishedQueued(ctx); err != nil || len(ids) != 1 || ids[0] != qid {
		t.Fatalf("finished = %v, %v", ids, err)
	}
	if err := s.DeleteQueued(ctx, qid); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{s.DeleteQueued(ctx, qid), s.RetryQueued(ctx, qid, c.now())} {
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("on a deleted message: %v, want ErrNotFound", err)
		}
	}
	if _, err := s.QueueBody(ctx, qid); !errors.Is(err, ErrNotFound) {
		t.Errorf("QueueBody: %v", err)
	}
}

func TestQueueDoneWithoutBounceIsDeleted(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	s := openTest(t, WithClock(c.now))
	ctx := context.Background()
	if err := s.Accept(ctx, Envelope{From: "", Remote: []string{"x@r.test"}}, []byte("x\r\n")); err != nil {
		t.Fatal(err)
	}
	due, _ := s.DueRecipients(ctx, c.now(), 10)
	p, err := s.RecordAttempts(ctx, due[0].QueueID, []Outcome{{RcptID: due[0].ID, Status: RcptFailed, Next: c.now()}})
	if err != nil || !p.Deleted {
		t.Fatalf("a failure from <> owes no bounce: %+v, %v", p, err)
	}
	if q, _ := s.QueuedMessages(ctx); len(q) != 0 {
		t.Fatalf("queue = %+v", q)
	}
}

func TestFlushQueue(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	s := openTest(t, WithClock(c.now))
	ctx := context.Background()
	for range 3 {
		if err := s.Accept(ctx, Envelope{From: "a@b.test", Remote: []string{"x@r.test"}}, []byte("x\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	due, _ := s.DueRecipients(ctx, c.now(), 10)
	for _, d := range due[:2] {
		s.RecordAttempts(ctx, d.QueueID, []Outcome{{RcptID: d.ID, Status: RcptPending, Next: c.now().Add(time.Hour)}})
	}
	n, err := s.FlushQueue(ctx, c.now())
	if err != nil || n != 2 {
		t.Fatalf("flush = %d, %v; want 2 messages made due", n, err)
	}
	if due, _ := s.DueRecipients(ctx, c.now(), 10); len(due) != 3 {
		t.Fatalf("due after flush: %d", len(due))
	}
}

func TestLease(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	now := time.Unix(1_700_000_000, 0)
	ok, _, err := s.AcquireLease(ctx, "l", "a", "", time.Minute, now)
	if err != nil || !ok {
		t.Fatal("free lease not taken", err)
	}
	if ok, holder, _ := s.AcquireLease(ctx, "l", "b", "", time.Minute, now.Add(30*time.Second)); ok || holder != "a" {
		t.Fatalf("live lease taken by b (holder %q)", holder)
	}
	if ok, _, _ := s.AcquireLease(ctx, "l", "a", "", time.Minute, now.Add(50*time.Second)); !ok {
		t.Fatal("holder could not renew")
	}
	if ok, _, _ := s.AcquireLease(ctx, "l", "b", "", time.Minute, now.Add(100*time.Second)); ok {
		t.Fatal("renewed lease taken")
	}
	if ok, _, _ := s.AcquireLease(ctx, "l", "b", "", time.Minute, now.Add(111*time.Second)); !ok {
		t.Fatal("expired lease not taken")
	}
	if ok, _, _ := s.AcquireLease(ctx, "l", "c", "b", time.Minute, now.Add(112*time.Second)); !ok {
		t.Fatal("lease of a dead holder not taken over")
	}
	if err := s.ReleaseLease(ctx, "l", "b"); err != nil {
		t.Fatal(err)
	}
	if ok, _, _ := s.AcquireLease(ctx, "l", "b", "", time.Minute, now.Add(113*time.Second)); ok {
		t.Fatal("release by a non-holder freed the lease")
	}
	s.ReleaseLease(ctx, "l", "c")
	if ok, _, _ := s.AcquireLease(ctx, "l", "b", "", time.Minute, now.Add(113*time.Second)); !ok {
		t.Fatal("released lease not free")
	}
}
