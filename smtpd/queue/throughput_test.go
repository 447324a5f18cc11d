package queue

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"mailsuite/store"
)

// countingDialer counts the connections the runner opens.
type countingDialer struct {
	n atomic.Int64
	d net.Dialer
}

func (c *countingDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c.n.Add(1)
	return c.d.DialContext(ctx, network, addr)
}

// TestThroughput measures outbound delivery of QUEUE_BENCH messages of
// 4 KB over 8 connections, to Postfix's smtp-sink when it is installed
// (on 127.0.0.1:12526, as shared/bench/smtp_accept.sh SINK=1 runs it),
// else to an in-process go-smtp server. It is a measurement, not a
// check, so it runs only when asked:
//
//	QUEUE_BENCH=10000 go test -run TestThroughput -v ./smtpd/queue/
func TestThroughput(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("QUEUE_BENCH"))
	if n <= 0 {
		t.Skip("set QUEUE_BENCH=N to measure")
	}
	e := newEnv(t)
	target, kind := "", "go-smtp"
	if path, err := exec.LookPath("smtp-sink"); err == nil {
		args := []string{"-c", "127.0.0.1:12526", "1024"}
		if os.Geteuid() == 0 {
			args = append([]string{"-u", "postfix"}, args...)
		}
		cmd := exec.Command(path, args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		waitFor(t, "smtp-sink", func() bool {
			c, err := net.Dial("tcp", "127.0.0.1:12526")
			if err == nil {
				c.Close()
			}
			return err == nil
		})
		target, kind = "127.0.0.1:12526", "smtp-sink"
	} else {
		target = newFakeServer(t, nil).addr
	}
	e.cfg.SMTPD.Queue.Routes["sink.test"] = target
	body := []byte("From: <alice@local.test>\r\nTo: <bob@sink.test>\r\nSubject: bench\r\n\r\n" +
		strings.Repeat(strings.Repeat("x", 76)+"\r\n", 4096/78))
	t0 := time.Now()
	for range n {
		if err := e.st.Accept(context.Background(), store.Envelope{From: "alice@local.test", Remote: []string{"bob@sink.test"}}, body); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("queued %d messages of %d bytes in %v", n, len(body), time.Since(t0).Round(time.Millisecond))
	d := &countingDialer{}
	r := e.runner(WithDialer(d), WithWorkers(8), WithTimeouts(DefaultTimeouts()))
	t0 = time.Now()
	start(t, r)
	r.Kick()
	waitForLong(t, func() bool {
		due, err := e.st.DueRecipients(context.Background(), time.Now().Add(24*time.Hour), 1)
		return err == nil && len(due) == 0
	})
	el := time.Since(t0)
	t.Logf("delivered %d messages to %s in %v: %.0f msg/s over %d connections",
		n, kind, el.Round(time.Millisecond), float64(n)/el.Seconds(), d.n.Load())
}

func waitForLong(t *testing.T, cond func() bool) {
	deadline := time.Now().Add(5 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
