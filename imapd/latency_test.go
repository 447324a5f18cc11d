package main

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"mailsuite/store"
)

// BenchmarkCommitToExists measures the delay from another store handle's
// commit to the EXISTS line reaching an IDLE client; it reports the median
// and p99 over b.N deliveries (run with -benchtime=200x). With
// MAILSUITE_TEST_STORE=postgres the other handle is another host's, and
// the watcher wakes on its notification rather than at a poll.
func BenchmarkCommitToExists(b *testing.B) {
	e := newEnv(b, withPlaintext)
	exists := make(chan time.Time, 16)
	c, err := imapclient.DialInsecure(e.addr, &imapclient.Options{UnilateralDataHandler: &imapclient.UnilateralDataHandler{
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				exists <- time.Now()
			}
		},
	}})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(testUser, testPass).Wait(); err != nil {
		b.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		b.Fatal(err)
	}
	idle, err := c.Idle()
	if err != nil {
		b.Fatal(err)
	}
	src := e.dbPath
	if e.st.Driver() == store.DriverPostgres {
		src = e.st.DSN()
	}
	other, err := store.OpenDriver(e.st.Driver(), src)
	if err != nil {
		b.Fatal(err)
	}
	defer other.Close()
	var delays []time.Duration
	msg := testMessage("latency")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Deliveries at random phases of the watcher's poll.
		time.Sleep(time.Duration(rand.Int64N(int64(store.ChangePoll))))
		if err := other.Accept(context.Background(), store.Envelope{Local: []int64{e.userID}}, msg); err != nil {
			b.Fatal(err)
		}
		committed := time.Now()
		select {
		case at := <-exists:
			delays = append(delays, at.Sub(committed))
		case <-time.After(5 * time.Second):
			b.Fatal("no EXISTS")
		}
	}
	b.StopTimer()
	idle.Close()
	slices.Sort(delays)
	b.ReportMetric(float64(delays[len(delays)/2].Microseconds())/1000, "median-ms")
	b.ReportMetric(float64(delays[len(delays)*99/100].Microseconds())/1000, "p99-ms")
}
