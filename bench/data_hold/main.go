// Command data_hold measures what smtpd holds while many clients are in
// the middle of large messages: -conns connections each send -size bytes
// of DATA to the MX port and never the final dot, while one legitimate
// client keeps submitting small messages on the submission port (AUTH
// PLAIN, which needs auth.allow_plaintext on loopback). It samples the
// server's RSS (/proc/PID/status) throughout and prints the peak, the
// legitimate client's messages and their slowest round trip. With
// -finish it then ends every message and prints the replies and the peak
// RSS while smtpd commits them.
//
// Loopback only; bounded by -conns, -size and -timeout. See
// bench/data_hold.sh, which starts bin/smtpd with a config of its own.
package main

import (
	"bufio"
	"crypto/tls"
	"flag"
	"fmt"
	"log"
	"net"
	"net/smtp"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

var (
	mx      = flag.String("mx", "127.0.0.1:23525", "smtpd MX address (loopback)")
	sub     = flag.String("submission", "127.0.0.1:23587", "smtpd submission address (loopback)")
	pid     = flag.Int("pid", 0, "smtpd's process ID, for its RSS")
	conns   = flag.Int("conns", 100, "connections holding a message open")
	size    = flag.Int("size", 25_000_000, "bytes of DATA each sends, without the final dot")
	rcpt    = flag.String("rcpt", "user1@bench.test", "local recipient")
	user    = flag.String("user", "user2@bench.test", "legitimate client's login")
	pass    = flag.String("pass", "pass2", "its password")
	finish  = flag.Bool("finish", true, "then end every message (the final dot) and wait for its reply")
	timeout = flag.Duration("timeout", 10*time.Minute, "upper bound on the whole run")
)

func main() {
	flag.Parse()
	for _, a := range []string{*mx, *sub} {
		if host, _, err := net.SplitHostPort(a); err != nil || !net.ParseIP(host).IsLoopback() {
			log.Fatalf("data_hold: %s is not a loopback address", a)
		}
	}
	deadline := time.Now().Add(*timeout)
	baseRSS := rss(*pid)

	var peak atomic.Int64
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if r := rss(*pid); r > peak.Load() {
				peak.Store(r)
			}
			select {
			case <-stopSampling:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()

	stopLegit := make(chan struct{})
	var legit legitStats
	legitDone := make(chan struct{})
	go func() {
		defer close(legitDone)
		legit.run(stopLegit, deadline)
	}()

	start := time.Now()
	var wg sync.WaitGroup
	var sent, failed atomic.Int64
	holders := make([]net.Conn, *conns)
	line := []byte(strings.Repeat("x", 998) + "\r\n")
	for i := range holders {
		c, err := openData(*mx, deadline)
		if err != nil {
			failed.Add(1)
			log.Printf("holder %d: %v", i, err)
			continue
		}
		holders[i] = c
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < *size; n += len(line) {
				if _, err := c.Write(line[:min(len(line), *size-n)]); err != nil {
					failed.Add(1)
					return
				}
			}
			sent.Add(1)
		}()
	}
	wg.Wait()
	sendSecs := time.Since(start).Seconds()
	// Let the server read what is still in the socket buffers.
	time.Sleep(2 * time.Second)
	holdRSS := rss(*pid)
	close(stopLegit)
	<-legitDone
	holdPeak := peak.Load()
	fmt.Printf("data_hold conns=%d size=%d sent=%d failed=%d secs=%.1f base_rss_MB=%.1f hold_rss_MB=%.1f peak_rss_MB=%.1f\n",
		*conns, *size, sent.Load(), failed.Load(), sendSecs, mb(baseRSS), mb(holdRSS), mb(holdPeak))
	fmt.Printf("data_hold legit_ok=%d legit_failed=%d legit_max_ms=%d\n",
		legit.ok.Load(), legit.failed.Load(), legit.maxRTT.Load()/int64(time.Millisecond))

	if *finish {
		start := time.Now()
		replies := map[string]int{}
		var mu sync.Mutex
		for _, c := range holders {
			if c == nil {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				code := endData(c)
				mu.Lock()
				replies[code]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		fmt.Printf("data_hold finish replies=%v secs=%.1f peak_rss_MB=%.1f\n", replies, time.Since(start).Seconds(), mb(peak.Load()))
	}
	for _, c := range holders {
		if c != nil {
			c.Close()
		}
	}
	time.Sleep(time.Second)
	close(stopSampling)
	<-sampled
	fmt.Printf("data_hold after_rss_MB=%.1f\n", mb(rss(*pid)))
}

// endData sends the final dot and returns the reply's code.
func endData(c net.Conn) string {
	if _, err := c.Write([]byte("\r\n.\r\n")); err != nil {
		return "write error"
	}
	l, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "read error"
	}
	code, _, _ := strings.Cut(l, " ")
	return code
}

// openData opens a transaction to the MX port up to the DATA reply.
func openData(addr string, deadline time.Time) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(deadline)
	r := bufio.NewReader(c)
	steps := []struct {
		send string
		want string
	}{
		{"", "220"},
		{"EHLO holder.test\r\n", "250 "},
		{"MAIL FROM:<holder@far.test>\r\n", "250"},
		{"RCPT TO:<" + *rcpt + ">\r\n", "250"},
		{"DATA\r\n", "354"},
	}
	for _, s := range steps {
		if s.send != "" {
			if _, err := c.Write([]byte(s.send)); err != nil {
				c.Close()
				return nil, err
			}
		}
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				c.Close()
				return nil, err
			}
			if strings.HasPrefix(l, s.want) {
				break
			}
			if !strings.HasPrefix(l, "250-") {
				c.Close()
				return nil, fmt.Errorf("%q: got %q", s.send, l)
			}
		}
	}
	return c, nil
}

// legitStats counts the legitimate client's submissions.
type legitStats struct {
	ok, failed, maxRTT atomic.Int64
}

// run submits one small message after another until stop, each on a
// new connection.
func (l *legitStats) run(stop <-chan struct{}, deadline time.Time) {
	msg := []byte("From: " + *user + "\r\nTo: " + *rcpt + "\r\nSubject: legit\r\n\r\nHello.\r\n")
	auth := smtp.PlainAuth("", *user, *pass, "127.0.0.1")
	for time.Now().Before(deadline) {
		select {
		case <-stop:
			return
		default:
		}
		t := time.Now()
		if err := submit(auth, msg); err != nil {
			l.failed.Add(1)
			log.Printf("legitimate submission: %v", err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		l.ok.Add(1)
		if d := int64(time.Since(t)); d > l.maxRTT.Load() {
			l.maxRTT.Store(d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// submit sends msg as a mail client would: STARTTLS (the bench's
// certificate is self-signed), AUTH PLAIN, one message, QUIT.
func submit(auth smtp.Auth, msg []byte) error {
	c, err := smtp.Dial(*sub)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.StartTLS(&tls.Config{InsecureSkipVerify: true}); err != nil {
		return err
	}
	if err := c.Auth(auth); err != nil {
		return err
	}
	if err := c.Mail(*user); err != nil {
		return err
	}
	if err := c.Rcpt(*rcpt); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// rss is the process's resident set in bytes, 0 if unknown.
func rss(pid int) int64 {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }
