package main

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"mailsuite/shared/auth"
	"mailsuite/shared/config"
	"mailsuite/shared/daemon"
	"mailsuite/store"
)

// Defaults for server limits.
const (
	// defaultAutologout is RFC 1939's autologout timer, at least 10
	// minutes; see session.progressed for what restarts it.
	defaultAutologout = 10 * time.Minute
	// defaultLockWait is how long a login waits for another session on
	// the same maildrop to end before answering [IN-USE].
	defaultLockWait = time.Second
	// defaultOpTimeout bounds one store call of a command, as imapd's
	// opTimeout does: a store held up by another process's lock gets the
	// client a temporary error, not a session that hangs.
	defaultOpTimeout = time.Minute
	// maxErrors closes a session after this many consecutive errors, so a
	// confused or hostile client cannot keep a slot forever.
	maxErrors = 10
)

// server accepts POP3 connections and runs sessions. Its fields are set
// before the first serve call and not changed afterwards.
type server struct {
	hostname       string
	store          *store.Store
	auth           *auth.Authenticator
	tls            *tls.Config // nil: no STLS, no implicit TLS
	allowPlaintext bool
	window         time.Duration // relay grant lifetime
	lockWait       time.Duration
	failureDelay   time.Duration
	autologout     time.Duration
	opTimeout      time.Duration // bounds each store call
	limiter        *daemon.ConnLimiter
	log            *slog.Logger

	closing atomic.Bool
	wg      sync.WaitGroup

	mu    sync.Mutex
	lns   map[net.Listener]bool // guarded by mu
	conns map[net.Conn]bool     // guarded by mu
}

// newServer returns a server configured by cfg; TLS is the caller's to
// set.
func newServer(cfg *config.Config, st *store.Store, log *slog.Logger) *server {
	return &server{
		hostname:       cfg.Hostname,
		store:          st,
		auth:           &auth.Authenticator{Store: st, Log: log, NoGrant: cfg.Relay.NoGrant()},
		allowPlaintext: cfg.Auth.AllowPlaintext,
		window:         cfg.Relay.Window.Duration,
		failureDelay:   auth.FailureDelay,
		lockWait:       defaultLockWait,
		autologout:     defaultAutologout,
		opTimeout:      defaultOpTimeout,
		limiter:        daemon.NewConnLimiter(cfg.POP3D.Limits()),
		log:            log,
		lns:            make(map[net.Listener]bool),
		conns:          make(map[net.Conn]bool),
	}
}

// serve accepts connections on ln until it is closed. implicitTLS makes
// it a POP3S listener (port 995). Connections over the budget are refused
// before they get here (see daemon.LimitListener).
func (s *server) serve(ln net.Listener, implicitTLS bool) {
	refusal := "-ERR [SYS/TEMP] too many connections, try again later\r\n"
	if implicitTLS {
		refusal = ""
	}
	ln = daemon.LimitListener(ln, s.limiter, refusal)
	s.mu.Lock()
	s.lns[ln] = true
	if s.closing.Load() {
		ln.Close()
	}
	s.mu.Unlock()
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.closing.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: wait, keep serving.
			s.log.Error("accept", "err", err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		if !s.track(c) {
			c.Close()
			return
		}
		go s.handle(c, implicitTLS)
	}
}

// track registers a connection for shutdown; false when shutting down.
func (s *server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return false
	}
	s.conns[c] = true
	s.wg.Add(1)
	return true
}

func (s *server) handle(c net.Conn, implicitTLS bool) {
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close() // gives back the connection's slot
		s.wg.Done()
	}()
	sess := newSession(s, c)
	if implicitTLS {
		if !sess.startTLS() {
			return
		}
	}
	sess.run()
}

// shutdown stops accepting, wakes sessions waiting for a command (they
// say goodbye and close without deleting anything), lets commands in
// progress finish, and waits for every session until ctx is done.
func (s *server) shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing.Store(true)
	for ln := range s.lns {
		ln.Close()
	}
	for c := range s.conns {
		c.SetReadDeadline(time.Now())
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		<-done
		return ctx.Err()
	}
}
