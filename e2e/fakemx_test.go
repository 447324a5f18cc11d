package e2e

import (
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// fakeMX is the remote mail server smtpd relays to, reached through
// smtpd.queue.routes: a go-smtp server on loopback that records every
// message it accepts, or refuses them all with a temporary error.
type fakeMX struct {
	ln   net.Listener
	srv  *smtp.Server
	mu   sync.Mutex
	msgs []mxMessage
	down bool // answer 421-style temporary failures
}

// mxMessage is one message the fake MX accepted.
type mxMessage struct {
	From string
	To   []string
	Data string
}

func newFakeMX(t testing.TB) *fakeMX {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mx := &fakeMX{ln: ln}
	mx.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &mxSession{mx: mx}, nil
	}))
	mx.srv.Domain = "mx.remote.test"
	mx.srv.ReadTimeout = 30 * time.Second
	mx.srv.WriteTimeout = 30 * time.Second
	go mx.srv.Serve(ln)
	t.Cleanup(func() { mx.srv.Close() })
	return mx
}

func (mx *fakeMX) addr() string { return mx.ln.Addr().String() }

func (mx *fakeMX) setDown(down bool) {
	mx.mu.Lock()
	defer mx.mu.Unlock()
	mx.down = down
}

func (mx *fakeMX) isDown() bool {
	mx.mu.Lock()
	defer mx.mu.Unlock()
	return mx.down
}

// received returns the messages accepted so far.
func (mx *fakeMX) received() []mxMessage {
	mx.mu.Lock()
	defer mx.mu.Unlock()
	return append([]mxMessage(nil), mx.msgs...)
}

// waitFor waits up to d for a message whose data contains marker.
func (mx *fakeMX) waitFor(d time.Duration, marker string) (mxMessage, bool) {
	var found mxMessage
	ok := eventually(d, func() bool {
		for _, m := range mx.received() {
			if strings.Contains(m.Data, marker) {
				found = m
				return true
			}
		}
		return false
	})
	return found, ok
}

type mxSession struct {
	mx  *fakeMX
	msg mxMessage
}

var errTempFail = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}

func (s *mxSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.mx.isDown() {
		return errTempFail
	}
	s.msg = mxMessage{From: from}
	return nil
}

func (s *mxSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.msg.To = append(s.msg.To, to)
	return nil
}

func (s *mxSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.msg.Data = string(b)
	s.mx.mu.Lock()
	s.mx.msgs = append(s.mx.msgs, s.msg)
	s.mx.mu.Unlock()
	return nil
}

func (s *mxSession) Reset()        { s.msg = mxMessage{} }
func (s *mxSession) Logout() error { return nil }
