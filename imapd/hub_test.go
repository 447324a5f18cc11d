package main

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailsuite/internal/testutil"
	"mailsuite/store"
)

// TestMain doubles as the "other process" of the cross-process tests:
// with IMAPD_TEST_DELIVER set it delivers one message to a store file the
// way smtpd does and exits. Otherwise it runs the tests and removes the
// daemon binaries they built.
func TestMain(m *testing.M) {
	if db := os.Getenv("IMAPD_TEST_DELIVER"); db != "" {
		os.Exit(deliverFromOtherProcess(os.Getenv("IMAPD_TEST_DRIVER"), db, os.Getenv("IMAPD_TEST_USER")))
	}
	testutil.Main(m)
}

func deliverFromOtherProcess(driver, db, user string) int {
	st, err := store.OpenDriver(driver, db)
	if err != nil {
		return 1
	}
	defer st.Close()
	id, _ := strconv.ParseInt(user, 10, 64)
	if err := st.Accept(context.Background(), store.Envelope{From: "x@example.org", Local: []int64{id}}, testMessage("from afar")); err != nil {
		return 1
	}
	return 0
}

func TestIdleSeesDeliveryFromOtherProcess(t *testing.T) {
	e := newEnv(t)
	e.deliver("first")
	exists := make(chan uint32, 10)
	c := e.client(&imapclient.UnilateralDataHandler{
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				exists <- *d.NumMessages
			}
		},
	})
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	idle, err := c.Idle()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = e.deliverEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("delivering process: %v %s", err, out)
	}
	select {
	case n := <-exists:
		if n != 2 {
			t.Fatalf("EXISTS %d, want 2", n)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("no EXISTS within 3s of the other process's commit")
	}
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}
}

// An expunge by another store handle (pop3d at QUIT) reaches a selected
// session at its next NOOP, and the message is gone from its view.
func TestNoopSeesExpungeFromOtherHandle(t *testing.T) {
	e := newEnv(t)
	e.deliver("a")
	e.deliver("b")
	e.deliver("c")
	expunged := make(chan uint32, 10)
	c := e.client(&imapclient.UnilateralDataHandler{Expunge: func(seq uint32) { expunged <- seq }})
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	other, err := e.openOther()
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.Expunge(context.Background(), e.inbox.ID, []uint32{2}); err != nil {
		t.Fatal(err)
	}
	if err := c.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	select {
	case seq := <-expunged:
		if seq != 2 {
			t.Fatalf("EXPUNGE %d, want 2", seq)
		}
	default:
		t.Fatal("NOOP did not report the expunge")
	}
	msgs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[0].UID != 1 || msgs[1].UID != 3 {
		t.Fatalf("after expunge: %+v", msgs)
	}
}

// Flag changes by one session reach another session of the same mailbox,
// but not the session that made them as a duplicate.
func TestFlagsPushedToOtherSession(t *testing.T) {
	e := newEnv(t)
	e.deliver("a")
	fetches := make(chan []imap.Flag, 10)
	watcher := e.client(&imapclient.UnilateralDataHandler{Fetch: func(m *imapclient.FetchMessageData) {
		buf, _ := m.Collect()
		if buf != nil {
			fetches <- buf.Flags
		}
	}})
	if _, err := watcher.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	writer := e.client(nil)
	if _, err := writer.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	msgs, err := writer.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Collect()
	if err != nil || len(msgs) != 1 || len(msgs[0].Flags) != 1 {
		t.Fatalf("STORE: %v %+v", err, msgs)
	}
	if err := watcher.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	select {
	case f := <-fetches:
		// \Recent too: the watcher selected first, so the message is
		// recent there.
		if len(f) != 2 || f[0] != imap.FlagFlagged || f[1] != `\Recent` {
			t.Fatalf("pushed flags %v", f)
		}
	case <-time.After(2 * time.Second): // the client hands FETCH to another goroutine
		t.Fatal("other session not told of the flag change")
	}
}
