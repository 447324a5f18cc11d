// Command sink is the catch-all SMTP server of `make run`: the development
// config routes every remote message to it (smtpd.queue.smarthost), so a
// newcomer sees the queue deliver instead of a bounce from real DNS. It
// accepts any sender and recipient on a loopback address and writes each
// message to a folder, one file per message, with one log line each.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/emersion/go-smtp"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:2526", "loopback address to listen on")
	dir := flag.String("dir", "var/sink", "folder the messages are written to")
	flag.Parse()
	if flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: sink [-addr 127.0.0.1:PORT] [-dir DIR]")
		os.Exit(2)
	}
	if err := run(*addr, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "sink:", err)
		os.Exit(1)
	}
}

func run(addr, dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	ln, err := listenLoopback(addr)
	if err != nil {
		return err
	}
	srv := newServer(dir, os.Stdout)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	fmt.Printf("sink: listening on %s, writing messages to %s/\n", ln.Addr(), dir)
	if err := srv.Serve(ln); err != nil && !errors.Is(err, smtp.ErrServerClosed) {
		return err
	}
	return nil
}

// listenLoopback refuses any address but a loopback one: the sink takes
// mail from anyone, which is safe only where no one else can reach it.
func listenLoopback(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("-addr %s: only a loopback IP address is allowed", addr)
	}
	return net.Listen("tcp", addr)
}

// newServer returns an SMTP server that writes every message into dir and
// logs one line per message to logw.
func newServer(dir string, logw io.Writer) *smtp.Server {
	b := &backend{dir: dir, log: logw}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &session{b: b}, nil
	}))
	srv.Domain = "sink.localhost"
	srv.MaxMessageBytes = 64 << 20
	srv.MaxRecipients = 1000
	srv.ReadTimeout = 5 * time.Minute
	srv.WriteTimeout = time.Minute
	srv.EnableSMTPUTF8 = true
	return srv
}

type backend struct {
	dir string
	log io.Writer
	n   atomic.Int64 // messages written, for unique file names
}

// session collects one transaction's envelope.
type session struct {
	b    *backend
	from string
	to   []string
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.from, s.to = from, nil
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	name, size, err := s.b.write(s.from, s.to, r)
	if err != nil {
		fmt.Fprintf(s.b.log, "sink: from=<%s> to=%s error=%q\n", s.from, strings.Join(s.to, ","), err)
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "sink cannot write the message"}
	}
	fmt.Fprintf(s.b.log, "sink: from=<%s> to=%s bytes=%d file=%s\n", s.from, strings.Join(s.to, ","), size, name)
	return nil
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

// write stores one message as DIR/<time>-<n>.eml, the envelope first as
// Return-Path and Delivered-To headers, through a temporary file renamed
// into place, so a reader of the folder never sees half a message.
func (b *backend) write(from string, to []string, r io.Reader) (string, int64, error) {
	n := b.n.Add(1)
	name := filepath.Join(b.dir, fmt.Sprintf("%s-%d-%04d.eml", time.Now().UTC().Format("20060102T150405Z"), os.Getpid(), n))
	f, err := os.CreateTemp(b.dir, ".tmp-*")
	if err != nil {
		return "", 0, err
	}
	defer os.Remove(f.Name()) // fails harmlessly once renamed
	head := "Return-Path: <" + from + ">\r\n"
	for _, t := range to {
		head += "Delivered-To: " + t + "\r\n"
	}
	size, err := io.Copy(f, io.MultiReader(strings.NewReader(head), r))
	if err == nil {
		err = f.Close()
	} else {
		f.Close()
	}
	if err == nil {
		err = os.Rename(f.Name(), name)
	}
	if err != nil {
		return "", 0, err
	}
	return name, size - int64(len(head)), nil
}
