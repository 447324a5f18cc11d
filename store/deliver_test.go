package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
)

func inbox(t testing.TB, s *Store, userID int64) Mailbox {
	t.Helper()
	mb, err := s.MailboxByName(context.Background(), userID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	return mb
}

// TestCommitBatchIsolation runs one batch directly: the request that fails
// after writing part of its delivery is rolled back alone, including the
// UID it took, and the others commit.
func TestCommitBatchIsolation(t *testing.T) {
	s := openTest(t)
	u := seed(t, s)
	req := func(env Envelope, body string) *acceptReq {
		return &acceptReq{ctx: context.Background(), env: env, body: []byte(body), now: s.unix(), done: make(chan error, 1)}
	}
	batch := []*acceptReq{
		req(Envelope{Local: []int64{u.ID}}, "one\r\n"),
		req(Envelope{Local: []int64{u.ID, 99999}}, "bad\r\n"), // writes to u, then fails
		req(Envelope{Local: []int64{u.ID}, Remote: []string{"b@remote.test"}}, "two\r\n"),
	}
	s.commitBatch(batch)
	for i, r := range batch {
		err := <-r.done
		if (i == 1) != (err != nil) {
			t.Errorf("request %d: err = %v", i, err)
		}
		if i == 1 && !errors.Is(err, ErrNotFound) {
			t.Errorf("bad request: err = %v, want ErrNotFound", err)
		}
	}
	mb := inbox(t, s, u.ID)
	msgs, _ := s.Messages(context.Background(), mb.ID)
	if len(msgs) != 2 || msgs[0].UID != 1 || msgs[1].UID != 2 || mb.UIDNext != 3 {
		t.Fatalf("messages %+v, UIDNEXT %d: want UIDs 1 and 2", msgs, mb.UIDNext)
	}
	body, _ := s.MessageBody(context.Background(), mb.ID, 2)
	if string(body) != "two\r\n" {
		t.Fatalf("UID 2 = %q", body)
	}
}

// TestAcceptConcurrent has many goroutines accept at once, one of them to
// a user that does not exist: only that call fails.
func TestAcceptConcurrent(t *testing.T) {
	s := openTest(t)
	u := seed(t, s)
	var mu sync.Mutex
	var batches []int
	s.onBatch = func(n int) { mu.Lock(); batches = append(batches, n); mu.Unlock() }
	const n = 60
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			env := Envelope{From: "x@remote.test", Local: []int64{u.ID}}
			if i == n/2 {
				env.Local = []int64{u.ID, 12345}
			}
			errs[i] = s.Accept(context.Background(), env, fmt.Appendf(nil, "Subject: %d\r\n\r\n", i))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if (i == n/2) != (err != nil) {
			t.Errorf("Accept %d: err = %v", i, err)
		}
	}
	mb := inbox(t, s, u.ID)
	msgs, _ := s.Messages(context.Background(), mb.ID)
	if len(msgs) != n-1 || mb.UIDNext != n {
		t.Fatalf("%d messages, UIDNEXT %d; want %d, %d", len(msgs), mb.UIDNext, n-1, n)
	}
	checkUIDOrder(t, s, mb.ID, n-1)
	mu.Lock()
	t.Logf("batch sizes: %v", batches)
	mu.Unlock()
}

// holdWriter takes the writer connection until release is closed, so the
// committer cannot begin its transaction.
func holdWriter(t *testing.T, s *Store) (release func()) {
	t.Helper()
	held, done := make(chan struct{}), make(chan struct{})
	finished := make(chan error, 1)
	go func() {
		finished <- s.write(context.Background(), func(*sql.Tx) error {
			close(held)
			<-done
			return nil
		})
	}()
	<-held
	return func() {
		close(done)
		if err := <-finished; err != nil {
			t.Error(err)
		}
	}
}

// TestAcceptCancelledBeforeCommit cancels a caller whose request the
// committer already holds: the caller gets the ctx error and nothing of
// its message is written, not even a UID.
func TestAcceptCancelledBeforeCommit(t *testing.T) {
	s := openTest(t)
	u := seed(t, s)
	if err := s.Accept(context.Background(), Envelope{Local: []int64{u.ID}}, []byte("first\r\n")); err != nil {
		t.Fatal(err)
	}
	taken := make(chan struct{}, 1)
	s.onBatch = func(int) { taken <- struct{}{} }
	release := holdWriter(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	result := make(chan error, 1)
	go func() { result <- s.Accept(ctx, Envelope{Local: []int64{u.ID}}, []byte("cancelled\r\n")) }()
	<-taken // the committer has the request and waits for the writer
	cancel()
	release()
	if err := <-result; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	// The committer is still healthy.
	s.onBatch = nil
	if err := s.Accept(context.Background(), Envelope{Local: []int64{u.ID}}, []byte("second\r\n")); err != nil {
		t.Fatal(err)
	}
	mb := inbox(t, s, u.ID)
	msgs, _ := s.Messages(context.Background(), mb.ID)
	if len(msgs) != 2 || msgs[1].UID != 2 {
		t.Fatalf("messages = %+v, want UIDs 1 and 2", msgs)
	}
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if err := s.Accept(ctx, Envelope{Local: []int64{u.ID}}, []byte("x\r\n")); !errors.Is(err, context.Canceled) {
		t.Fatalf("already cancelled: err = %v", err)
	}
}

// TestAcceptAfterClose: Close stops the committer; Accept then fails
// cleanly instead of hanging.
func TestAcceptAfterClose(t *testing.T) {
	s := openTest(t)
	u := seed(t, s)
	if err := s.Accept(context.Background(), Envelope{Local: []int64{u.ID}}, []byte("x\r\n")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Accept(context.Background(), Envelope{Local: []int64{u.ID}}, []byte("x\r\n")); !errors.Is(err, ErrClosed) {
		t.Fatalf("err = %v, want ErrClosed", err)
	}
}

// TestAcceptSpooled stores a body held in a file: the INBOX copy has the
// local prefix, the queued copy not, and both have the head and the whole
// file, byte for byte.
func TestAcceptSpooled(t *testing.T) {
	s := openTest(t)
	u := seed(t, s)
	ctx := context.Background()
	content := bytes.Repeat([]byte("0123456789abcdef\r\n"), 200_000) // 3.6 MB
	f, err := os.CreateTemp(t.TempDir(), "spool")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// More in the file than Size: only Size bytes belong to the message.
	if _, err := f.Write(append(slices.Clone(content), "trailing"...)); err != nil {
		t.Fatal(err)
	}
	env := Envelope{From: "s@far.test", Local: []int64{u.ID}, Remote: []string{"b@remote.test"},
		LocalPrefix: []byte("Return-Path: <s@far.test>\r\n")}
	head := []byte("Received: test\r\n")
	if err := s.AcceptSpooled(ctx, env, Spooled{Head: head, File: f, Size: int64(len(content))}); err != nil {
		t.Fatal(err)
	}
	want := string(head) + string(content)
	got, err := s.MessageBody(ctx, inbox(t, s, u.ID).ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(env.LocalPrefix)+want {
		t.Fatalf("INBOX copy: %d bytes, want %d", len(got), len(env.LocalPrefix)+len(want))
	}
	q, err := s.QueuedMessages(ctx)
	if err != nil || len(q) != 1 {
		t.Fatalf("queue: %v %v", q, err)
	}
	got, err = s.QueueBody(ctx, q[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("queued copy: %d bytes, want %d", len(got), len(want))
	}
}
