package main

import (
	"fmt"
	"net"
	"net/textproto"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mailsuite/shared/config"
)

// BenchmarkRelayLimits measures the accept rate of authenticated relaying
// with the sending limits off (relay.max_* = 0) and on (limits too high to
// refuse, so every recipient is checked and every message counted), in
// the same run: two servers with their own stores, 8 logged-in sessions
// each, take turns in short rounds (each first in every other round), so
// both see the same machine load.
// b.N messages per mode in all, of 4 KB each to one of 500 remote
// addresses (first-time recipients at first, known ones after). It
// reports both rates, their ratio (on/off), and the median of the
// rounds' ratios, which a burst of load on a shared machine moves less.
//
//	go test -run '^$' -bench RelayLimits -benchtime 4000x ./smtpd/
func BenchmarkRelayLimits(b *testing.B) {
	modes := []string{"off", "on"}
	sessions := map[string][]*textproto.Conn{}
	for _, mode := range modes {
		max := int64(0)
		if mode == "on" {
			max = 1 << 40
		}
		e := newEnv(b, func(c *config.Config) {
			c.SMTPD.MaxMessageBytes = 1 << 20
			c.Auth.AllowPlaintext = true
			c.Relay.MaxMessagesPerHour, c.Relay.MaxRecipientsPerDay, c.Relay.MaxNewRecipientsPerDay = max, max, max
		})
		for range 8 {
			tp, err := relayLogin(b, e.sub)
			if err != nil {
				b.Fatal(err)
			}
			sessions[mode] = append(sessions[mode], tp)
		}
	}
	body := benchBody(4096)
	const round = 64
	elapsed := map[string]time.Duration{}
	var ratios []float64 // per round, on/off in messages per second
	b.ResetTimer()
	for done := 0; done < b.N; done += round {
		n := min(round, b.N-done)
		if done/round%2 == 1 { // each mode goes first in every other round
			modes[0], modes[1] = modes[1], modes[0]
		}
		took := map[string]time.Duration{}
		for _, mode := range modes {
			start := time.Now()
			if err := relayRound(sessions[mode], body, n, done); err != nil {
				b.Fatal(mode, ": ", err)
			}
			took[mode] = time.Since(start)
			elapsed[mode] += took[mode]
		}
		ratios = append(ratios, took["off"].Seconds()/took["on"].Seconds())
	}
	b.StopTimer()
	off := float64(b.N) / elapsed["off"].Seconds()
	on := float64(b.N) / elapsed["on"].Seconds()
	b.ReportMetric(off, "off-msgs/s")
	b.ReportMetric(on, "on-msgs/s")
	b.ReportMetric(on/off, "on/off")
	slices.Sort(ratios)
	b.ReportMetric(ratios[len(ratios)/2], "on/off-median")
}

// relayLogin opens a session logged in as alice.
func relayLogin(b *testing.B, addr string) (*textproto.Conn, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	b.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(10 * time.Minute))
	tp := textproto.NewConn(conn)
	return tp, benchSteps(tp, []benchStep{{"", 220}, {"EHLO bench.test", 250},
		{"AUTH PLAIN " + encodeB64("\x00"+alice+"\x00"+userPass), 235}})
}

// relayRound sends n messages over the sessions; first numbers the
// recipients.
func relayRound(sessions []*textproto.Conn, body string, n, first int) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, len(sessions))
	for _, tp := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				rcpt := fmt.Sprintf("r%d@far.test", (first+int(i))%500)
				if err := benchSteps(tp, []benchStep{{"MAIL FROM:<" + alice + ">", 250},
					{"RCPT TO:<" + rcpt + ">", 250}, {"DATA", 354}, {body + ".", 250}}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

type benchStep struct {
	cmd  string
	want int
}

// benchSteps sends each command and expects its reply code.
func benchSteps(tp *textproto.Conn, steps []benchStep) error {
	for _, s := range steps {
		if s.cmd != "" {
			if err := tp.PrintfLine("%s", s.cmd); err != nil {
				return err
			}
		}
		if _, _, err := tp.ReadResponse(s.want); err != nil {
			return fmt.Errorf("after %.20q: %w", s.cmd, err)
		}
	}
	return nil
}
