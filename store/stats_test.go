package store

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestQueueSummaryAndGrantCount: the figures the metrics read follow the
// queue and the grants, expired grants left out.
func TestQueueSummaryAndGrantCount(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := openTest(t, WithClock(c.now))
	u := seed(t, s)
	if q, err := s.QueueSummary(ctx); err != nil || q.Messages != 0 || !q.Oldest.IsZero() {
		t.Fatalf("empty queue: %+v, %v", q, err)
	}
	first := c.t
	for range 2 {
		if err := s.Accept(ctx, Envelope{From: "a@example.com", Remote: []string{"x@r.test"}}, []byte("Subject: q\r\n\r\nhi\r\n")); err != nil {
			t.Fatal(err)
		}
		c.t = c.t.Add(time.Hour)
	}
	if q, err := s.QueueSummary(ctx); err != nil || q.Messages != 2 || !q.Oldest.Equal(first) {
		t.Fatalf("queue of 2: %+v, %v; want oldest %v", q, err, first)
	}

	if n, err := s.LiveGrantCount(ctx); err != nil || n != 0 {
		t.Fatalf("no grants: %d, %v", n, err)
	}
	s.Grant(ctx, "127.0.0.2", u.ID, 30*time.Minute)
	s.Grant(ctx, "127.0.0.3", u.ID, 10*time.Minute)
	if n, err := s.LiveGrantCount(ctx); err != nil || n != 2 {
		t.Fatalf("two grants: %d, %v", n, err)
	}
	c.t = c.t.Add(20 * time.Minute)
	if n, err := s.LiveGrantCount(ctx); err != nil || n != 1 {
		t.Fatalf("one expired: %d, %v", n, err)
	}
}

// TestCommitObserver: a delivery (the group commit) and another write each
// report one commit; a failed write reports none.
func TestCommitObserver(t *testing.T) {
	var mu sync.Mutex
	var seen []time.Duration
	s := openTest(t, WithCommitObserver(func(d time.Duration) {
		mu.Lock()
		seen = append(seen, d)
		mu.Unlock()
	}))
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(seen)
	}
	ctx := context.Background()
	u := seed(t, s)
	before := count()
	if before == 0 {
		t.Fatal("adding a domain and a user reported no commit")
	}
	if err := s.Accept(ctx, Envelope{From: "b@r.test", Local: []int64{u.ID}}, []byte("Subject: x\r\n\r\nhi\r\n")); err != nil {
		t.Fatal(err)
	}
	if got := count(); got != before+1 {
		t.Fatalf("a delivery reported %d commits, want 1", got-before)
	}
	if err := s.AddDomain(ctx, "example.com"); err == nil {
		t.Fatal("adding a domain twice succeeded")
	}
	if got := count(); got != before+1 {
		t.Fatalf("a failed write reported %d commits", got-before-1)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, d := range seen {
		if d <= 0 {
			t.Errorf("commit took %v", d)
		}
	}
}
