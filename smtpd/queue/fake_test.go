package queue

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"

	"mailsuite/deploy/dev"
	"mailsuite/shared/tlsconf"
)

// fakeMsg is one message a fake server accepted.
type fakeMsg struct {
	from string
	to   []string
	data string
	tls  bool
}

// fakeServer is a remote MTA on loopback built on go-smtp's server. By
// default it accepts everything; its fields make it refuse.
type fakeServer struct {
	addr string

	mu       sync.Mutex
	msgs     []fakeMsg
	conns    int
	tempfail int             // tempfail the next N transactions at RCPT
	reject   map[string]bool // recipients refused with 550 5.1.1
	dataFail *smtp.SMTPError // reply to the end of data, if set
}

func newFakeServer(t *testing.T, tlsConfig *tls.Config) *fakeServer {
	t.Helper()
	f := &fakeServer{reject: map[string]bool{}}
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		f.mu.Lock()
		f.conns++
		f.mu.Unlock()
		return &fakeSession{f: f, c: c}, nil
	}))
	s.Domain = "fake.test"
	s.TLSConfig = tlsConfig
	s.AllowInsecureAuth = true
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.addr = l.Addr().String()
	go s.Serve(l)
	t.Cleanup(func() { s.Close() })
	return f
}

func (f *fakeServer) messages() []fakeMsg {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeMsg(nil), f.msgs...)
}

func (f *fakeServer) connections() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.conns
}

type fakeSession struct {
	f    *fakeServer
	c    *smtp.Conn
	from string
	to   []string
}

func (s *fakeSession) Reset()        { s.from, s.to = "", nil }
func (s *fakeSession) Logout() error { return nil }

func (s *fakeSession) Mail(from string, opts *smtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *fakeSession) Rcpt(to string, opts *smtp.RcptOptions) error {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	if s.f.reject[to] {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user here"}
	}
	if s.f.tempfail > 0 {
		s.f.tempfail--
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *fakeSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	if s.f.dataFail != nil {
		return s.f.dataFail
	}
	_, isTLS := s.c.TLSConnectionState()
	s.f.msgs = append(s.f.msgs, fakeMsg{from: s.from, to: s.to, data: string(b), tls: isTLS})
	return nil
}

// testTLS returns a server TLS configuration with a fresh self-signed
// certificate.
func testTLS(t *testing.T) *tls.Config {
	t.Helper()
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := dev.GenerateSelfSigned(cert, key, "fake.test"); err != nil {
		t.Fatal(err)
	}
	c, err := tlsconf.Load(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// scriptServer is a misbehaving remote: each connection runs handle on
// the raw socket.
func scriptServer(t *testing.T, handle func(c net.Conn, br *bufio.Reader)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var open []net.Conn
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range open {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			open = append(open, c)
			mu.Unlock()
			wg.Go(func() {
				defer c.Close()
				handle(c, bufio.NewReader(c))
			})
		}
	}()
	return l.Addr().String()
}

// converse answers each command line by the first matching prefix in
// replies (upper-cased command → reply lines); "" is the greeting. A
// reply of "<close>" hangs up, "<hang>" stops answering.
func converse(replies map[string]string) func(net.Conn, *bufio.Reader) {
	return func(c net.Conn, br *bufio.Reader) {
		say := func(key string) bool {
			r, ok := replies[key]
			if !ok {
				r = map[string]string{"": "220 script.test ESMTP", "DATA": "354 go ahead", "QUIT": "221 bye"}[key]
			}
			if r == "" {
				r = "250 ok"
			}
			switch r {
			case "<close>":
				return false
			case "<hang>":
				io.Copy(io.Discard, br)
				return false
			}
			_, err := io.WriteString(c, strings.ReplaceAll(r, "\n", "\r\n")+"\r\n")
			return err == nil
		}
		if !say("") {
			return
		}
		inData := false
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimRight(line, "\r\n")
			if inData {
				if replies["<data>"] == "<close>" {
					return
				}
				if line == "." {
					inData = false
					if !say(".") {
						return
					}
				}
				continue
			}
			cmd := strings.ToUpper(strings.Fields(line + " x")[0])
			if cmd == "DATA" {
				r, ok := replies["DATA"]
				inData = !ok || strings.HasPrefix(r, "354")
			}
			if !say(cmd) || cmd == "QUIT" {
				return
			}
		}
	}
}
