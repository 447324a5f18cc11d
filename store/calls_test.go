package store

import (
	"context"
	"slices"
	"testing"
	"time"
)

// TestCallsOfTheDaemons runs, on the backend under test, the store calls
// that the daemons' own tests cover (on SQLite) and no other test of this
// package does, so each query also runs on PostgreSQL.
func TestCallsOfTheDaemons(t *testing.T) {
	s := openTest(t)
	u := seed(t, s)
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	if ds, err := s.Domains(ctx); err != nil || len(ds) != 1 || ds[0].Name != "example.com" {
		t.Fatalf("Domains = %+v, %v", ds, err)
	}
	must(s.AddAlias(ctx, "info@example.com", "a@example.com"))
	if as, err := s.Aliases(ctx, "example.com"); err != nil || len(as) != 1 {
		t.Fatalf("Aliases = %+v, %v", as, err)
	}
	must(s.RemoveAlias(ctx, "info@example.com", "a@example.com"))
	if as, err := s.Aliases(ctx, "example.com"); err != nil || len(as) != 0 {
		t.Fatalf("Aliases after remove = %+v, %v", as, err)
	}

	must(s.Grant(ctx, "192.0.2.7", u.ID, time.Hour))
	if gs, err := s.Grants(ctx); err != nil || len(gs) != 1 {
		t.Fatalf("Grants = %+v, %v", gs, err)
	}
	if n, err := s.RevokeGrants(ctx, "192.0.2.7"); err != nil || n != 1 {
		t.Fatalf("RevokeGrants = %d, %v", n, err)
	}

	if ok, err := s.UpgradeUserHash(ctx, u.Address, "hash", "newhash"); err != nil || !ok {
		t.Fatalf("UpgradeUserHash = %v, %v", ok, err)
	}
	if ok, err := s.UpgradeUserHash(ctx, u.Address, "hash", "other"); err != nil || ok {
		t.Fatalf("UpgradeUserHash from a stale hash = %v, %v", ok, err)
	}

	mb := inbox(t, s, u.ID)
	var uids []uint32
	for _, body := range []string{"one\r\n", "two\r\n", "three\r\n"} {
		uid, err := s.Append(ctx, mb.ID, nil, time.Now(), []byte(body))
		must(err)
		uids = append(uids, uid)
	}
	if m, body, err := s.MessageWithBody(ctx, mb.ID, uids[1]); err != nil || m.UID != uids[1] || string(body) != "two\r\n" {
		t.Fatalf("MessageWithBody = %+v, %q, %v", m, body, err)
	}
	if from, to, err := s.ClaimRecent(ctx, mb.ID, true); err != nil || to-from != 3 {
		t.Fatalf("ClaimRecent = (%d, %d], %v", from, to, err)
	}
	if n, err := s.RecentUnclaimed(ctx, mb.ID); err != nil || n != 0 {
		t.Fatalf("RecentUnclaimed after the claim = %d, %v", n, err)
	}
	st, err := s.Status(ctx, mb.ID)
	must(err)
	flagged, modified, err := s.StoreFlagsUnchangedSinceReport(ctx, mb.ID, uids[:1], FlagsAdd, []string{`\Deleted`}, 1<<40)
	if err != nil || len(flagged) != 1 || len(modified) != 0 {
		t.Fatalf("StoreFlagsUnchangedSinceReport = %+v, %v, %v", flagged, modified, err)
	}
	if st2, _ := s.Status(ctx, mb.ID); st2.Deleted != 1 || st2.Unseen != st.Unseen {
		t.Fatalf("Status after \\Deleted = %+v (before %+v)", st2, st)
	}
	if gone, err := s.ExpungeDeleted(ctx, mb.ID, uids); err != nil || !slices.Equal(gone, uids[:1]) {
		t.Fatalf("ExpungeDeleted = %v, %v", gone, err)
	}
	sizeOf := func(b []byte) int64 { return int64(len(b)) }
	msgs, err := s.POP3Messages(ctx, mb.ID, sizeOf)
	if err != nil || len(msgs) != 2 || msgs[0].Size != 5 || msgs[1].Size != 7 {
		t.Fatalf("POP3Messages = %+v, %v", msgs, err)
	}
	again, err := s.POP3Messages(ctx, mb.ID, nil) // the sizes are cached
	if err != nil || !slices.Equal(again, msgs) {
		t.Fatalf("POP3Messages again = %+v, %v", again, err)
	}
	var got string
	must(s.POP3Body(ctx, mb.ID, msgs[1], func(b []byte) { got = string(b) }))
	if got != "three\r\n" {
		t.Fatalf("POP3Body = %q", got)
	}

	must(s.Subscribe(ctx, u.ID, "Later", true))
	if names, err := s.OrphanSubscriptions(ctx, u.ID); err != nil || !slices.Equal(names, []string{"Later"}) {
		t.Fatalf("OrphanSubscriptions = %v, %v", names, err)
	}
	must(s.AdoptSubscription(ctx, u.ID, "Later"))

	must(s.Accept(ctx, Envelope{From: "a@example.com", Remote: []string{"x@remote.test"}}, []byte("q\r\n")))
	due, err := s.DueRecipients(ctx, time.Now().Add(time.Hour), 10)
	if err != nil || len(due) != 1 {
		t.Fatalf("DueRecipients = %+v, %v", due, err)
	}
	if ok, err := s.ClaimDelayWarning(ctx, due[0].QueueID); err != nil || !ok {
		t.Fatalf("ClaimDelayWarning = %v, %v", ok, err)
	}
	if ok, err := s.ClaimDelayWarning(ctx, due[0].QueueID); err != nil || ok {
		t.Fatalf("second ClaimDelayWarning = %v, %v", ok, err)
	}
	must(s.UnclaimDelayWarning(ctx, due[0].QueueID))
	if ok, err := s.ClaimDelayWarning(ctx, due[0].QueueID); err != nil || !ok {
		t.Fatalf("ClaimDelayWarning after unclaim = %v, %v", ok, err)
	}

	must(s.PruneChanges(ctx, -time.Hour)) // everything is older than an hour from now
	if chs, err := s.ChangesSince(ctx, 0, 10); err != nil || len(chs) != 0 {
		t.Fatalf("PruneChanges left %+v, %v", chs, err)
	}
}
