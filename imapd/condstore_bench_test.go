package main

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"mailsuite/store"
)

// BenchmarkResync measures a CONDSTORE resync of a 100 000-message INBOX
// in which 10 messages changed flags: UID FETCH 1:* (FLAGS) (CHANGEDSINCE
// m), time and bytes on the wire per answer; and, for comparison, the full
// UID FETCH 1:* (FLAGS) a client without CONDSTORE needs. Run with:
//
//	go test -run XXX -bench Resync ./imapd/
func BenchmarkResync(b *testing.B) {
	const total, changed = 100_000, 10
	e := newEnv(b, withPlaintext)
	fillInbox(b, e, total)
	ctx := context.Background()
	m, err := e.st.HighestModSeq(ctx, e.inbox.ID)
	if err != nil {
		b.Fatal(err)
	}
	for i := range changed {
		uid := uint32(1 + i*(total/changed))
		if err := e.st.StoreFlags(ctx, e.inbox.ID, []uint32{uid}, store.FlagsAdd, []string{`\Flagged`}); err != nil {
			b.Fatal(err)
		}
	}
	tc := e.dial()
	tc.login()
	tc.c.SetReadDeadline(time.Now().Add(time.Minute))
	if _, r := tc.cmd("SELECT INBOX (CONDSTORE)"); !strings.HasPrefix(r, "OK") {
		b.Fatalf("SELECT: %s", r)
	}
	run := func(b *testing.B, cmd string, want int) {
		var wire int
		b.ResetTimer()
		for range b.N {
			untagged, r := tc.cmd("%s", cmd)
			if !strings.HasPrefix(r, "OK") || len(untagged) != want {
				b.Fatalf("%s: %d lines, %s", cmd, len(untagged), r)
			}
			wire = len(r) + 2 + len(fmt.Sprintf("t%d ", tc.n))
			for _, l := range untagged {
				wire += len(l) + 2
			}
		}
		b.ReportMetric(float64(wire), "wire-B/op")
	}
	b.Run("changedsince", func(b *testing.B) {
		run(b, fmt.Sprintf("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d)", m), changed)
	})
	b.Run("full", func(b *testing.B) {
		run(b, "UID FETCH 1:* (FLAGS)", total)
	})
	// The same resync as part of SELECT: QRESYNC answers the 10 changes
	// (plus SELECT's own lines) in the SELECT itself.
	q := e.condConn("QRESYNC")
	q.c.SetReadDeadline(time.Now().Add(time.Minute))
	untagged := q.mustOK("SELECT INBOX")
	uv := uidValidityRe.FindStringSubmatch(strings.Join(untagged, " "))[1]
	tc = q
	b.Run("qresync-select", func(b *testing.B) {
		run(b, fmt.Sprintf("SELECT INBOX (QRESYNC (%s %d))", uv, m), len(untagged)+changed+1)
	})
}

// fillInbox inserts n small messages into the test user's INBOX in one
// transaction, straight into the store file: the triggers give them their
// mod-sequences as for any other writer.
func fillInbox(b *testing.B, e *testEnv, n int) {
	b.Helper()
	db, err := sql.Open("sqlite3", "file:"+e.dbPath+"?_busy_timeout=60000")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	ins, err := tx.Prepare(`INSERT INTO messages (mailbox_id, uid, flags, internal_date, size, body) VALUES (?, ?, '\Seen', ?, ?, ?)`)
	if err != nil {
		b.Fatal(err)
	}
	defer ins.Close()
	now := time.Now().Unix()
	for uid := 1; uid <= n; uid++ {
		body := testMessage(fmt.Sprintf("bulk %d", uid))
		if _, err := ins.Exec(e.inbox.ID, uid, now, len(body), body); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := tx.Exec(`UPDATE mailboxes SET uidnext = ? WHERE id = ?`, n+1, e.inbox.ID); err != nil {
		b.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}
