package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"mailsuite/internal/pgtest"
)

// openHost opens a store on dsn, as one host does, closed when the test
// ends.
func openHost(t testing.TB, dsn string) *Store {
	t.Helper()
	s, err := OpenPostgres(dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// plainConn opens a plain connection to dsn, closed when the test ends,
// listening on the channels given.
func plainConn(t testing.TB, dsn string, listen ...string) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(ctx) })
	for _, ch := range listen {
		if _, err := c.Exec(ctx, "LISTEN "+ch); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// twoHosts opens two stores on one new PostgreSQL database, as two hosts
// do, with users a, b and c at example.com.
func twoHosts(t *testing.T) (a, b *Store, users []int64) {
	t.Helper()
	dsn := pgtest.DSN(t)
	a, b = openHost(t, dsn), openHost(t, dsn)
	ctx := context.Background()
	if err := a.AddDomain(ctx, "example.com"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "b", "c"} {
		id, err := a.AddUser(ctx, name+"@example.com", "hash", true)
		if err != nil {
			t.Fatal(err)
		}
		users = append(users, id)
	}
	return a, b, users
}

// inboxUIDs returns the ID and the UIDs of a user's INBOX.
func inboxUIDs(t *testing.T, s *Store, user int64) (int64, []uint32) {
	t.Helper()
	mb := inbox(t, s, user)
	uids, _, err := s.MailboxUIDs(context.Background(), mb.ID)
	if err != nil {
		t.Fatal(err)
	}
	return mb.ID, uids
}

// openBatch begins a batch of plain deliveries on s as its committer
// does (beginBatch) and delivers to the first of its recipients, and
// leaves the transaction open: another host's batch, as it stands before
// its commit, with the first recipient's INBOX taken.
func openBatch(t *testing.T, s *Store, local ...int64) (*sql.Tx, func()) {
	t.Helper()
	ctx := context.Background()
	w, err := s.takeWriter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tx, mode, err := s.beginBatch(ctx, w, []*acceptReq{{env: Envelope{From: "x@remote.test", Local: local}}})
	if err != nil || mode != lockBesideDeliveries {
		t.Fatalf("begin a batch of deliveries: mode %v, %v", mode, err)
	}
	deliverOne(t, tx, local[0])
	return tx, func() { tx.Rollback(); w.release() }
}

func deliverOne(t *testing.T, tx *sql.Tx, user int64) {
	t.Helper()
	body := []byte("Subject: held\r\n\r\nheld\r\n")
	if err := deliverTx(tx, true, Envelope{From: "x@remote.test", Local: []int64{user}}, body, body, time.Now().Unix()); err != nil {
		t.Fatal(err)
	}
}

// TestDeliveriesCommitInParallel: on PostgreSQL a host's delivery to one
// user does not wait for another host's batch to other users, only for
// one that holds the same user's INBOX; and a watcher still reads every
// change, though the change numbered lower commits last.
func TestDeliveriesCommitInParallel(t *testing.T) {
	a, b, users := twoHosts(t)
	ctx := context.Background()
	cur, err := b.StartChanges(ctx)
	if err != nil {
		t.Fatal(err)
	}
	held, done := openBatch(t, a, users[0])
	defer done()

	body := []byte("Subject: other\r\n\r\nother\r\n")
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := b.Accept(wctx, Envelope{From: "x@remote.test", Local: []int64{users[1]}}, body); err != nil {
		t.Fatalf("a delivery to another user waited for the open batch: %v", err)
	}
	sctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if err := b.Accept(sctx, Envelope{From: "x@remote.test", Local: []int64{users[0]}}, body); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a delivery to the user of the open batch: %v, want it held up", err)
	}

	changes, _, err := b.ChangesWithFlags(ctx, &cur, func(int64) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 1 || cur.Gaps() != 1 {
		t.Fatalf("before the open batch commits: %+v, %d gaps; want the other user's change and one gap", changes, cur.Gaps())
	}
	waitUp(t, b.changeFeed())
	if err := held.Commit(); err != nil {
		t.Fatal(err)
	}
	// The held batch sends no notification (its committer would), yet
	// a watcher about to wait sees the late change at once.
	wctx2, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := b.WaitChange(wctx2, cur.Clone()); err != nil {
		t.Fatalf("WaitChange after a late commit below the cursor: %v, want a return at once", err)
	}
	late, err := b.ChangesSince(ctx, changes[0].Seq, 10)
	if err != nil || len(late) != 0 {
		t.Fatalf("changes after the other user's: %+v, %v; want none (the late commit is numbered lower)", late, err)
	}
	changes, _, err = b.ChangesWithFlags(ctx, &cur, func(int64) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	in := inbox(t, a, users[0])
	if len(changes) != 1 || changes[0].MailboxID != in.ID || changes[0].Kind != ChangeNew || cur.Gaps() != 0 {
		t.Fatalf("after the commit: %+v, %d gaps; want the late delivery to user a's INBOX #%d", changes, cur.Gaps(), in.ID)
	}

	// A batch that rolls back leaves a gap that the next read after it
	// ends lets go.
	_, done2 := openBatch(t, a, users[0])
	if err := b.Accept(wctx, Envelope{From: "x@remote.test", Local: []int64{users[1]}}, body); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.ChangesWithFlags(ctx, &cur, func(int64) bool { return true }); err != nil || cur.Gaps() != 1 {
		t.Fatalf("%d gaps, %v; want one", cur.Gaps(), err)
	}
	done2()
	if err := b.Accept(wctx, Envelope{From: "x@remote.test", Local: []int64{users[2]}}, body); err != nil {
		t.Fatal(err)
	}
	changes, _, err = b.ChangesWithFlags(ctx, &cur, func(int64) bool { return true })
	if err != nil || len(changes) != 1 || cur.Gaps() != 0 {
		t.Fatalf("after the rollback: %+v, %d gaps, %v; want one change and no gap", changes, cur.Gaps(), err)
	}
}

// TestParallelDeliveriesDoNotDeadlock: two hosts' batches that deliver to
// the same users in opposite orders wait for each other; neither is
// chosen as a deadlock's victim (PostgreSQL would take a second to tell).
func TestParallelDeliveriesDoNotDeadlock(t *testing.T) {
	a, b, users := twoHosts(t)
	ctx := context.Background()
	held, done := openBatch(t, a, users[0], users[1])
	defer done()
	retried := make(chan error, 10)
	b.onRetry = func(err error) { retried <- err }

	other := make(chan error, 1)
	go func() {
		other <- b.Accept(ctx, Envelope{From: "x@remote.test", Local: []int64{users[1], users[0]}}, []byte("Subject: b\r\n\r\nb\r\n"))
	}()
	// Wait until b's batch waits for a row lock of a's.
	deadline := time.Now().Add(time.Minute)
	for {
		var n int
		err := a.r.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event = 'transactionid'`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the other host's batch never waited for the open one")
		}
		time.Sleep(10 * time.Millisecond)
	}
	deliverOne(t, held, users[1]) // a deadlock would fail this one or b's
	if err := held.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-other; err != nil {
		t.Fatal(err)
	}
	close(retried)
	for err := range retried {
		t.Errorf("the other host's batch was run again: %v", err)
	}
	for _, u := range users[:2] {
		if _, uids := inboxUIDs(t, a, u); fmt.Sprint(uids) != "[1 2]" {
			t.Errorf("user #%d: UIDs %v, want [1 2]", u, uids)
		}
	}
}

// BenchmarkAcceptHosts is Accept on PostgreSQL through one store handle
// and through two, as two hosts' smtpd call it, in the same run: 16
// callers deliver 4 KB messages to 16 users, alternating between the
// handles. "hosts=2/alone" is two hosts whose batches each take the
// write lock alone, as before deliveries shared it. Without smtpd and
// its clients in the way, the machine's CPU goes to the store and
// PostgreSQL.
//
//	go test -run '^$' -bench AcceptHosts -benchtime 6000x -count 5 ./store/
func BenchmarkAcceptHosts(b *testing.B) {
	for _, c := range []struct {
		name  string
		hosts int
		alone bool
	}{{"hosts=1", 1, false}, {"hosts=2", 2, false}, {"hosts=2/alone", 2, true}} {
		b.Run(c.name, func(b *testing.B) {
			dsn := pgtest.DSN(b)
			var stores []*Store
			for range c.hosts {
				s := openHost(b, dsn)
				s.alone = c.alone
				stores = append(stores, s)
			}
			ctx := context.Background()
			if err := stores[0].AddDomain(ctx, "example.com"); err != nil {
				b.Fatal(err)
			}
			var users []int64
			for i := range 16 {
				id, err := stores[0].AddUser(ctx, fmt.Sprintf("u%d@example.com", i), "hash", true)
				if err != nil {
					b.Fatal(err)
				}
				users = append(users, id)
			}
			var next atomic.Int64
			var wg sync.WaitGroup
			b.SetBytes(int64(len(body4K)))
			b.ResetTimer()
			for i := range 16 {
				wg.Go(func() {
					for n := next.Add(1); n <= int64(b.N); n = next.Add(1) {
						env := Envelope{From: "a@remote.test", Local: []int64{users[n%16]}}
						if err := stores[i%c.hosts].Accept(ctx, env, body4K); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// TestChangeCursorAdvance: a cursor keeps the numbers a read skipped,
// each with the bound the reader took, drops each once a later read's
// oldest running transaction has reached its bound, keeps none on SQLite
// (bound 0: nothing runs beside a reader), and keeps at most
// maxChangeGaps, the newest.
func TestChangeCursorAdvance(t *testing.T) {
	chs := func(seqs ...int64) []Change {
		var out []Change
		for _, s := range seqs {
			out = append(out, Change{Seq: s})
		}
		return out
	}
	gaps := func(c *ChangeCursor) []int64 { return slices.Sorted(maps.Keys(c.gaps)) }

	var c ChangeCursor
	if !c.missed(chs(1, 2, 5)) || c.missed(chs(1, 2, 3)) {
		t.Fatal("missed: 3 and 4 skipped, or nothing")
	}
	c.advance(chs(1, 2, 5), 10, 12)
	if c.Last != 5 || !slices.Equal(gaps(&c), []int64{3, 4}) {
		t.Fatalf("Last %d, gaps %v; want 5, [3 4]", c.Last, gaps(&c))
	}
	c.advance(chs(4), 11, 13) // 4 came; 3's writer may still run (xmin 11 < bound 12)
	if c.Last != 5 || !slices.Equal(gaps(&c), []int64{3}) {
		t.Fatalf("Last %d, gaps %v; want 5, [3]", c.Last, gaps(&c))
	}
	c.advance(nil, 12, 14) // every transaction below the bound has ended
	if c.Gaps() != 0 {
		t.Fatalf("gaps %v after their writers ended", gaps(&c))
	}

	var lite ChangeCursor
	lite.advance(chs(1, 3), 0, 0)
	if lite.Last != 3 || lite.Gaps() != 0 {
		t.Fatalf("SQLite: Last %d, gaps %v; want 3 and none", lite.Last, gaps(&lite))
	}

	var big ChangeCursor
	big.advance(chs(100_000), 1, 2)
	if g := gaps(&big); len(g) != maxChangeGaps || g[0] != 100_000-maxChangeGaps || g[len(g)-1] != 99_999 {
		t.Fatalf("%d gaps from %d to %d; want the newest %d", len(g), g[0], g[len(g)-1], maxChangeGaps)
	}
}

// TestOrderDeliveries: a batch is sorted so that it takes its recipients'
// INBOXes in the order of their users' IDs, and says when it cannot be
// (two messages' recipients interleave), without touching the callers'
// envelopes.
func TestOrderDeliveries(t *testing.T) {
	given := []int64{5, 2}
	batch := []*acceptReq{
		{env: Envelope{Local: []int64{9}}},
		{env: Envelope{Local: given}},
		{env: Envelope{Remote: []string{"x@remote.test"}}},
		{env: Envelope{Local: []int64{7, 7}}},
	}
	if !orderDeliveries(batch) {
		t.Fatal("a batch that can be ordered was not")
	}
	var got []int64
	for _, r := range batch {
		got = append(got, r.env.Local...)
	}
	if !slices.Equal(got, []int64{2, 5, 7, 7, 9}) || !slices.Equal(given, []int64{5, 2}) {
		t.Fatalf("order %v, caller's envelope %v; want [2 5 7 7 9] and [5 2]", got, given)
	}
	if orderDeliveries([]*acceptReq{{env: Envelope{Local: []int64{3, 1}}}, {env: Envelope{Local: []int64{2}}}}) {
		t.Fatal("recipients 1 and 3 of one message, 2 of another: ordered, want the INBOXes locked first")
	}
}

// TestInterleavedBatchLocksFirst: a batch whose messages' recipients
// interleave holds all their INBOXes from its start (lockInboxesTx), so
// that it never waits for one while holding another out of order.
func TestInterleavedBatchLocksFirst(t *testing.T) {
	a, b, users := twoHosts(t)
	ctx := context.Background()
	w, err := a.takeWriter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer w.release()
	batch := []*acceptReq{
		{env: Envelope{From: "x@remote.test", Local: []int64{users[0], users[2]}}},
		{env: Envelope{From: "x@remote.test", Local: []int64{users[1]}}},
	}
	tx, _, err := a.beginBatch(ctx, w, batch)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	for _, u := range users {
		var id int64
		err := b.w.QueryRowContext(ctx, `SELECT id FROM mailboxes WHERE user_id = ? AND name = 'INBOX' FOR UPDATE NOWAIT`, u).Scan(&id)
		if pgCode(err) != pgLockNotAvailable {
			t.Errorf("user #%d's INBOX taken by another host during the batch: %v; want it held", u, err)
		}
	}
}

// TestWatcherSeesEveryParallelDelivery: while two hosts deliver at once
// to the same users, a watcher reading the log as it goes sees every new
// message exactly once, none lost to a commit that came late.
func TestWatcherSeesEveryParallelDelivery(t *testing.T) {
	a, b, users := twoHosts(t)
	ctx := context.Background()
	cur, err := a.StartChanges(ctx)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[[2]int64]int{}
	read := func() {
		t.Helper()
		changes, _, err := a.ChangesWithFlags(ctx, &cur, func(int64) bool { return false })
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range changes {
			if c.Kind == ChangeNew {
				seen[[2]int64{c.MailboxID, int64(c.UID)}]++
			}
		}
	}
	const perWriter, writers = 60, 8
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		s := []*Store{a, b}[i%2]
		wg.Go(func() {
			for j := range perWriter {
				local := []int64{users[(i+j)%3]}
				if j%4 == 0 {
					local = append(local, users[(i+j+1)%3])
				}
				if err := s.Accept(ctx, Envelope{From: "x@remote.test", Local: local}, []byte("Subject: p\r\n\r\np\r\n")); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
			read()
		}
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	read()
	read() // a gap left by the last read is settled by now
	var stored int
	for _, u := range users {
		id, uids := inboxUIDs(t, a, u)
		for _, uid := range uids {
			stored++
			if n := seen[[2]int64{id, int64(uid)}]; n != 1 {
				t.Errorf("INBOX #%d UID %d seen %d times, want once", id, uid, n)
			}
		}
	}
	if want := writers * perWriter * 5 / 4; stored != want || len(seen) != stored {
		t.Fatalf("%d messages stored, %d seen; want %d", stored, len(seen), want)
	}
}
