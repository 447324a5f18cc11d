package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sync"
	"testing"
	"testing/fstest"
	"time"
)

// summed is a user's usage computed the slow way, to check the counter.
func summed(t testing.TB, s *Store, userID int64) (bytes, messages int64) {
	t.Helper()
	err := s.r.QueryRow(`SELECT coalesce(sum(m.size), 0), count(m.id) FROM messages m
		JOIN mailboxes b ON b.id = m.mailbox_id WHERE b.user_id = ?`, userID).Scan(&bytes, &messages)
	if err != nil {
		t.Fatal(err)
	}
	return bytes, messages
}

// checkUsage fails unless the counter equals the sum and want.
func checkUsage(t testing.TB, s *Store, userID, wantBytes, wantMessages int64) {
	t.Helper()
	q, err := s.UserQuota(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	b, m := summed(t, s, userID)
	if q.Bytes != b || q.Messages != m {
		t.Errorf("counter %d bytes %d messages, sum %d bytes %d messages", q.Bytes, q.Messages, b, m)
	}
	if q.Bytes != wantBytes || q.Messages != wantMessages {
		t.Errorf("usage %d bytes %d messages, want %d and %d", q.Bytes, q.Messages, wantBytes, wantMessages)
	}
}

func TestUsageFollowsEveryWrite(t *testing.T) {
	s := openTest(t)
	u := seed(t, s)
	ctx := context.Background()
	in := inbox(t, s, u.ID)
	checkUsage(t, s, u.ID, 0, 0)

	if err := s.Accept(ctx, Envelope{From: "x@far.test", Local: []int64{u.ID}}, []byte("0123456789")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, in.ID, nil, time.Now(), []byte("abcde")); err != nil {
		t.Fatal(err)
	}
	checkUsage(t, s, u.ID, 15, 2)

	box, err := s.CreateMailbox(ctx, u.ID, "Box", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CopyMessages(ctx, in.ID, []uint32{1, 2}, box.ID); err != nil {
		t.Fatal(err)
	}
	checkUsage(t, s, u.ID, 30, 4)
	if _, _, err := s.MoveMessages(ctx, box.ID, []uint32{1}, in.ID); err != nil {
		t.Fatal(err)
	}
	checkUsage(t, s, u.ID, 30, 4)
	if err := s.Expunge(ctx, in.ID, []uint32{1}); err != nil {
		t.Fatal(err)
	}
	checkUsage(t, s, u.ID, 20, 3)
	if err := s.DeleteMailbox(ctx, box.ID); err != nil {
		t.Fatal(err)
	}
	checkUsage(t, s, u.ID, 15, 2)
	if err := s.RenameMailbox(ctx, u.ID, "INBOX", "Old"); err != nil {
		t.Fatal(err)
	}
	checkUsage(t, s, u.ID, 15, 2)

	// A mailbox deleted without first deleting its messages (the
	// cascade) gives their usage back too.
	if _, err := s.w.Exec(`DELETE FROM mailboxes WHERE user_id = ? AND name = 'Old'`, u.ID); err != nil {
		t.Fatal(err)
	}
	checkUsage(t, s, u.ID, 0, 0)

	if err := s.RemoveUser(ctx, u.Address); err != nil {
		t.Fatal(err)
	}
	var n int
	s.r.QueryRow(`SELECT count(*) FROM user_usage`).Scan(&n)
	if n != 0 {
		t.Errorf("%d usage rows left after the user was removed", n)
	}
}

// TestUsageConcurrent delivers and expunges from many goroutines at once;
// the counter must equal the sum afterwards.
func TestUsageConcurrent(t *testing.T) {
	s := openTest(t)
	u := seed(t, s)
	ctx := context.Background()
	in := inbox(t, s, u.ID)
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, 2*workers*each)
	for w := 0; w < workers; w++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				body := []byte(fmt.Sprintf("message %d of worker %d\r\n", i, w))
				errs <- s.Accept(ctx, Envelope{From: "x@far.test", Local: []int64{u.ID}}, body)
			}
		}()
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				uids, _, err := s.MailboxUIDs(ctx, in.ID)
				if err == nil && len(uids) > 0 {
					err = s.Expunge(ctx, in.ID, uids[:1])
				}
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	b, m := summed(t, s, u.ID)
	if m == 0 || m == workers*each {
		t.Logf("expunges interleaved little: %d messages left", m)
	}
	checkUsage(t, s, u.ID, b, m)
}

func TestAppendCopyOverQuota(t *testing.T) {
	s := openTest(t, WithLimits(Limits{Storage: 100}))
	u := seed(t, s)
	ctx := context.Background()
	in := inbox(t, s, u.ID)
	if _, err := s.Append(ctx, in.ID, nil, time.Now(), make([]byte, 60)); err != nil {
		t.Fatal(err)
	}
	_, err := s.Append(ctx, in.ID, nil, time.Now(), make([]byte, 41))
	if !errors.Is(err, ErrOverQuota) {
		t.Fatalf("append past the quota: err = %v, want ErrOverQuota", err)
	}
	trash, err := s.MailboxByName(ctx, u.ID, "Trash")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CopyMessages(ctx, in.ID, []uint32{1}, trash.ID); !errors.Is(err, ErrOverQuota) {
		t.Fatalf("copy past the quota: err = %v, want ErrOverQuota", err)
	}
	checkUsage(t, s, u.ID, 60, 1)
	if _, err := s.Append(ctx, in.ID, nil, time.Now(), make([]byte, 40)); err != nil {
		t.Fatalf("append up to the quota exactly: %v", err)
	}

	// Lowered below usage: moves and expunges still work.
	if err := s.SetUserQuota(ctx, u.Address, 10); err != nil {
		t.Fatal(err)
	}
	q, _ := s.UserQuota(ctx, u.ID)
	if !q.Own || q.StorageLimit != 10 || !q.Full() {
		t.Errorf("quota after SetUserQuota(10) = %+v", q)
	}
	if _, _, err := s.MoveMessages(ctx, in.ID, []uint32{1}, trash.ID); err != nil {
		t.Fatalf("move while over quota: %v", err)
	}
	if err := s.Expunge(ctx, trash.ID, []uint32{1}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetUserQuota(ctx, u.Address, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, in.ID, nil, time.Now(), make([]byte, 500)); err != nil {
		t.Fatalf("append with the quota set to unlimited: %v", err)
	}
	if err := s.SetUserQuota(ctx, u.Address, -1); err != nil {
		t.Fatal(err)
	}
	if q, _ := s.UserQuota(ctx, u.ID); q.Own || q.StorageLimit != 100 {
		t.Errorf("quota back to the default = %+v", q)
	}
	if err := s.SetUserQuota(ctx, "nobody@example.com", 1); !errors.Is(err, ErrNotFound) {
		t.Errorf("quota of an unknown user: err = %v", err)
	}
}

func TestMessageQuota(t *testing.T) {
	s := openTest(t, WithLimits(Limits{Messages: 2}))
	u := seed(t, s)
	ctx := context.Background()
	in := inbox(t, s, u.ID)
	for i := 0; i < 2; i++ {
		if _, err := s.Append(ctx, in.ID, nil, time.Now(), []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Append(ctx, in.ID, nil, time.Now(), []byte("x")); !errors.Is(err, ErrOverQuota) {
		t.Fatalf("third message: err = %v, want ErrOverQuota", err)
	}
}

func TestMailboxLimit(t *testing.T) {
	s := openTest(t, WithLimits(Limits{Mailboxes: 7}))
	u := seed(t, s) // 5 default mailboxes
	ctx := context.Background()
	for _, name := range []string{"a", "b"} {
		if _, err := s.CreateMailbox(ctx, u.ID, name, ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.CreateMailbox(ctx, u.ID, "a", ""); !errors.Is(err, ErrExists) {
		t.Errorf("existing mailbox at the limit: err = %v, want ErrExists", err)
	}
	if _, err := s.CreateMailbox(ctx, u.ID, "c", ""); !errors.Is(err, ErrLimit) {
		t.Errorf("8th mailbox: err = %v, want ErrLimit", err)
	}
	if err := s.RenameMailbox(ctx, u.ID, "INBOX", "c"); !errors.Is(err, ErrLimit) {
		t.Errorf("RENAME INBOX at the limit: err = %v, want ErrLimit", err)
	}
	if err := s.RenameMailbox(ctx, u.ID, "a", "c"); err != nil {
		t.Errorf("plain rename at the limit: %v", err)
	}
}

func TestKeywordLimit(t *testing.T) {
	s := openTest(t, WithLimits(Limits{Keywords: 3}))
	u := seed(t, s)
	ctx := context.Background()
	in := inbox(t, s, u.ID)
	if _, err := s.Append(ctx, in.ID, []string{"k1", `\Seen`}, time.Now(), []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, in.ID, []string{"k1", "k2", "k3", "k4"}, time.Now(), []byte("x")); !errors.Is(err, ErrLimit) {
		t.Errorf("append with 4 keywords: err = %v, want ErrLimit", err)
	}
	if err := s.StoreFlags(ctx, in.ID, []uint32{1}, FlagsAdd, []string{"K1", "k2", "k3"}); err != nil {
		t.Fatal(err)
	}
	if err := s.StoreFlags(ctx, in.ID, []uint32{1}, FlagsAdd, []string{"k4"}); !errors.Is(err, ErrLimit) {
		t.Errorf("4th keyword: err = %v, want ErrLimit", err)
	}
	if _, err := s.StoreFlagsUnchangedSince(ctx, in.ID, []uint32{1}, FlagsAdd, []string{"k4"}, 1<<62); !errors.Is(err, ErrLimit) {
		t.Errorf("4th keyword by STORE (UNCHANGEDSINCE): err = %v, want ErrLimit", err)
	}
	if err := s.StoreFlags(ctx, in.ID, []uint32{1}, FlagsAdd, []string{`\Flagged`, "k2"}); err != nil {
		t.Errorf("system flag and a keyword in use at the limit: %v", err)
	}
	if err := s.StoreFlags(ctx, in.ID, []uint32{1}, FlagsDel, []string{"k1", "k2", "k3", "k4", "k5"}); err != nil {
		t.Errorf("removing keywords: %v", err)
	}
	if err := s.StoreFlags(ctx, in.ID, []uint32{1}, FlagsSet, []string{"k4", "k5", "k6"}); err != nil {
		t.Errorf("new keywords once the old are gone: %v", err)
	}
}

// TestMigrateUsage upgrades a store holding mail from version 2: the
// counter starts from what the messages take.
func TestMigrateUsage(t *testing.T) {
	names, err := migrationNames(embeddedMigrations, "migrations/sqlite")
	if err != nil {
		t.Fatal(err)
	}
	old := fstest.MapFS{}
	for _, name := range names[:2] {
		body, err := fs.ReadFile(embeddedMigrations, name)
		if err != nil {
			t.Fatal(err)
		}
		old["migrations/"+filepath.Base(name)] = &fstest.MapFile{Data: body}
	}
	path := filepath.Join(t.TempDir(), "mail.db")
	s, err := Open(path, withMigrations(old))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s.AddDomain(ctx, "example.com")
	id, err := s.AddUser(ctx, "a@example.com", "hash", true)
	if err != nil {
		t.Fatal(err)
	}
	// A sender: a bounce would be counted in a table of a later version.
	if err := s.Accept(ctx, Envelope{From: "x@example.org", Local: []int64{id}}, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkUsage(t, s, id, 5, 1)
}

// BenchmarkUsage compares reading a user's usage from the counter with
// summing their messages, for a user with 20 000 messages: what smtpd
// pays per local recipient at RCPT and at the end of data.
func BenchmarkUsage(b *testing.B) {
	s := openTest(b)
	u := seed(b, s)
	in := inbox(b, s, u.ID)
	err := s.write(context.Background(), func(tx *sql.Tx) error {
		for i := 0; i < 20000; i++ {
			if _, err := insertMessageTx(tx, in.ID, "", 0, body4K[:1000]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("counter", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := s.UserQuota(context.Background(), u.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sum", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			summed(b, s, u.ID)
		}
	})
}

// BenchmarkInsertUsage measures what the usage triggers add to storing
// a message: inserts of 4 KB messages in one transaction (no fsync, which
// would hide the difference), with and without the triggers.
func BenchmarkInsertUsage(b *testing.B) {
	sqliteOnly(b, "drops SQLite's usage trigger")
	for _, triggers := range []bool{true, false} {
		b.Run(fmt.Sprintf("triggers=%v", triggers), func(b *testing.B) {
			s := openTest(b)
			u := seed(b, s)
			in := inbox(b, s, u.ID)
			if !triggers {
				if _, err := s.w.Exec(`DROP TRIGGER messages_usage_new`); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			err := s.write(context.Background(), func(tx *sql.Tx) error {
				for i := 0; i < b.N; i++ {
					if _, err := insertMessageTx(tx, in.ID, "", 0, body4K); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkKeywordCheck compares the max_keywords check (recorded
// keywords) with reading every message's flags, in a mailbox of 20 000
// messages, as a STORE of a keyword in use pays it.
func BenchmarkKeywordCheck(b *testing.B) {
	s := openTest(b, WithLimits(Limits{Keywords: 100}))
	u := seed(b, s)
	in := inbox(b, s, u.ID)
	err := s.write(context.Background(), func(tx *sql.Tx) error {
		for i := 0; i < 20000; i++ {
			if _, err := insertMessageTx(tx, in.ID, fmt.Sprintf(`\Seen $label%d`, i%50), 0, body4K); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.StoreFlags(context.Background(), in.ID, []uint32{1}, FlagsAdd, []string{"$Junk"}); err != nil {
		b.Fatal(err)
	}
	inTx := func(b *testing.B, fn func(tx *sql.Tx) error) {
		for i := 0; i < b.N; i++ {
			tx, err := s.w.Begin()
			if err != nil {
				b.Fatal(err)
			}
			err = fn(tx)
			tx.Rollback()
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("recorded", func(b *testing.B) {
		inTx(b, func(tx *sql.Tx) error { return s.checkKeywordsTx(tx, in.ID, []string{"$Junk"}) })
	})
	b.Run("scan", func(b *testing.B) {
		inTx(b, func(tx *sql.Tx) error { _, err := keywordsInUseTx(tx, in.ID); return err })
	})
}
