package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// writerSync reads the writer connection's synchronous level (2 = FULL).
func writerSync(t *testing.T, s *Store) int {
	t.Helper()
	level, err := syncLevel(s)
	if err != nil {
		t.Fatal(err)
	}
	return level
}

// New mail stays synced while relaxed flag changes run beside it: every
// commit of deliveries and APPENDs runs with synchronous=FULL, and a
// relaxed write, failed or not, leaves the writer connection at FULL.
func TestNewMailSyncedBesideRelaxedFlags(t *testing.T) {
	s := openTest(t)
	u := seed(t, s)
	mb := inbox(t, s, u.ID)
	ctx := context.Background()
	uid, err := s.Append(ctx, mb.ID, nil, time.Now(), []byte("first\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var levels []int
	s.onBatch = func(int) { // in the committer, just before the batch's commit
		level, err := syncLevel(s)
		if err != nil {
			level = -1
		}
		mu.Lock()
		levels = append(levels, level)
		mu.Unlock()
	}
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := 0; i < 20; i++ {
		wg.Add(3)
		go func() {
			defer wg.Done()
			op := FlagsAdd
			if i%2 == 1 {
				op = FlagsDel
			}
			errs <- s.StoreFlags(ctx, mb.ID, []uint32{uid}, op, []string{`\Seen`})
		}()
		go func() {
			defer wg.Done()
			_, err := s.Append(ctx, mb.ID, []string{`\Flagged`}, time.Now(), []byte(fmt.Sprintf("append %d\r\n", i)))
			errs <- err
		}()
		go func() {
			defer wg.Done()
			errs <- s.Accept(ctx, Envelope{Local: []int64{u.ID}}, []byte(fmt.Sprintf("delivery %d\r\n", i)))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range levels {
		if l != 2 {
			t.Fatalf("a commit of new mail ran with synchronous=%d, want 2 (FULL): %v", l, levels)
		}
	}
	if len(levels) == 0 {
		t.Fatal("no batch committed")
	}
	// A relaxed write that fails (past the keyword limit) sets the level
	// back too.
	s.limits.Keywords = 1
	if _, err := s.StoreFlagsReport(ctx, mb.ID, []uint32{uid}, FlagsAdd, []string{"k1", "k2"}); !errors.Is(err, ErrLimit) {
		t.Fatalf("past the keyword limit: %v", err)
	}
	if got := writerSync(t, s); got != 2 {
		t.Fatalf("after relaxed writes the writer runs with synchronous=%d, want 2", got)
	}
	msgs, err := s.Messages(ctx, mb.ID)
	if err != nil || len(msgs) < 41 {
		t.Fatalf("%d messages, err %v: want 41", len(msgs), err)
	}
}

// StoreFlagsReport answers with the flags the transaction left and the
// mod-sequence of the change; a message whose flags did not change keeps
// its own and is not marked changed.
func TestStoreFlagsReport(t *testing.T) {
	s := openTest(t)
	u := seed(t, s)
	mb := inbox(t, s, u.ID)
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if _, err := s.Append(ctx, mb.ID, nil, time.Now(), []byte("m\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	res, err := s.StoreFlagsReport(ctx, mb.ID, []uint32{1, 2, 9}, FlagsAdd, []string{`\Seen`})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := s.HighestModSeq(ctx, mb.ID)
	if len(res) != 2 || !res[0].Changed || !res[1].Changed || res[1].ModSeq != h || res[0].ModSeq != h-1 ||
		fmt.Sprint(res[0].Flags) != `[\Seen]` {
		t.Fatalf("report %+v, highest modseq %d", res, h)
	}
	res, err = s.StoreFlagsReport(ctx, mb.ID, []uint32{1}, FlagsAdd, []string{`\Seen`})
	if err != nil || len(res) != 1 || res[0].Changed || res[0].ModSeq != h-1 {
		t.Fatalf("no-op report %+v, %v", res, err)
	}
	if _, err := s.StoreFlagsReport(ctx, 99999, []uint32{1}, FlagsAdd, []string{`\Seen`}); err != nil && !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown mailbox: %v", err)
	}
}
