// Command imap_mime measures what FETCH BODYSTRUCTURE of a hostile message
// costs an IMAP server: a message of -levels message/rfc822 entities, each
// inside the previous (12 000 levels make 384 KB). It APPENDs the message,
// SELECTs the mailbox, then times the FETCH and reports the change in the
// server's resident memory (VmRSS after, VmHWM for the peak) from
// /proc/<pid>/status. The message is deleted afterwards.
//
// Loopback only.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

var (
	addr   = flag.String("addr", "127.0.0.1:22143", "server address (loopback)")
	user   = flag.String("user", "user1@bench.test", "login")
	pass   = flag.String("pass", "pass1", "password")
	pid    = flag.Int("pid", 0, "server process to measure")
	levels = flag.Int("levels", 12000, "message/rfc822 nesting depth")
	box    = flag.String("mailbox", "INBOX", "mailbox to append to")
)

func main() {
	flag.Parse()
	host, _, err := net.SplitHostPort(*addr)
	if err != nil || !net.ParseIP(host).IsLoopback() {
		log.Fatalf("refusing non-loopback address %q", *addr)
	}
	if *pid == 0 {
		log.Fatal("-pid is required")
	}
	c, err := net.Dial("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	s := &session{c: c, r: bufio.NewReaderSize(c, 1<<20), fatal: true}
	s.line() // greeting
	s.cmd(fmt.Sprintf("LOGIN %q %q", *user, *pass))
	msg := bomb(*levels)
	s.cmd(fmt.Sprintf("APPEND %s {%d+}\r\n%s", *box, len(msg), msg))
	s.cmd("SELECT " + *box)
	_, last := s.cmd("SEARCH HEADER Subject bomb-" + strconv.Itoa(*levels))
	uid := ""
	if f := strings.Fields(last); len(f) > 2 {
		uid = f[len(f)-1]
	}
	if uid == "" {
		log.Fatal("appended message not found")
	}

	rss0, hwm0 := procMem(*pid)
	start := time.Now()
	s.fatal = false
	resp, _ := s.cmd("FETCH " + uid + " (BODYSTRUCTURE)")
	elapsed := time.Since(start)
	rss1, hwm1 := procMem(*pid)
	fmt.Printf("message: %d levels, %d bytes; answer %d bytes\n", *levels, len(msg), len(resp))
	if s.err != nil {
		fmt.Printf("FETCH BODYSTRUCTURE failed: %v\n", s.err)
	}
	fmt.Printf("FETCH BODYSTRUCTURE: %.3f s\n", elapsed.Seconds())
	fmt.Printf("server RSS: %d KB -> %d KB (+%d KB); peak RSS (VmHWM): %d KB -> %d KB (+%d KB)\n",
		rss0, rss1, rss1-rss0, hwm0, hwm1, hwm1-hwm0)
	if s.err == nil {
		s.fatal = true
		s.cmd("STORE " + uid + " +FLAGS.SILENT (\\Deleted)")
		s.cmd("EXPUNGE")
		s.cmd("LOGOUT")
	}
}

// bomb is the hostile message; its subject names the depth so that the
// tool finds it again.
func bomb(n int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: bench@bench.test\r\nSubject: bomb-%d\r\n", n)
	for i := 0; i < n; i++ {
		b.WriteString("Content-Type: message/rfc822\r\n\r\n")
	}
	b.WriteString("Subject: leaf\r\n\r\nhello\r\n")
	return b.Bytes()
}

type session struct {
	c     net.Conn
	r     *bufio.Reader
	tag   int
	fatal bool  // a failure ends the program
	err   error // the failure, when not fatal
}

func (s *session) line() string {
	s.c.SetReadDeadline(time.Now().Add(5 * time.Minute))
	l, err := s.r.ReadString('\n')
	if err != nil {
		s.fail(fmt.Errorf("read: %w", err))
	}
	return l
}

func (s *session) fail(err error) {
	if s.fatal {
		log.Fatal(err)
	}
	if s.err == nil {
		s.err = err
	}
}

// cmd sends a command and returns all it read and the tagged reply, which
// must be OK.
func (s *session) cmd(c string) (string, string) {
	s.tag++
	tag := fmt.Sprintf("b%d", s.tag)
	if _, err := fmt.Fprintf(s.c, "%s %s\r\n", tag, c); err != nil {
		log.Fatal(err)
	}
	var all strings.Builder
	for s.err == nil {
		l := s.line()
		if strings.HasPrefix(l, tag+" ") {
			if !strings.HasPrefix(l, tag+" OK") {
				s.fail(fmt.Errorf("%.60s: %s", c, l))
			}
			return all.String(), strings.TrimSpace(all.String())
		}
		all.WriteString(l)
	}
	return all.String(), ""
}

// procMem returns VmRSS and VmHWM of pid, in KB.
func procMem(pid int) (rss, hwm int) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		log.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.Atoi(f[1])
		switch f[0] {
		case "VmRSS:":
			rss = v
		case "VmHWM:":
			hwm = v
		}
	}
	return rss, hwm
}
