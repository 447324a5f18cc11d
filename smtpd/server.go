package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"mailsuite/metrics"
	"mailsuite/shared/auth"
	"mailsuite/shared/config"
	"mailsuite/shared/daemon"
	"mailsuite/shared/resolve"
	"mailsuite/store"
)

// Timeouts from RFC 5321 §4.5.3.2: a client has five minutes per command,
// and the data phase gets the same per read (see dataReader), so a large
// message on a slow link is not cut off while a stalled one is.
// The session's idle clock (see trackedConn) gives the same five minutes
// from the last mail progress, however many other commands come.
const (
	commandTimeout = 5 * time.Minute
	sessionIdle    = 5 * time.Minute
)

// server holds what every session of every listener shares.
type server struct {
	cfg  *config.Config
	st   *store.Store
	log  *slog.Logger
	auth *auth.Authenticator
	// metrics counts messages, refusals and relay decisions; nil: off.
	metrics *metrics.Metrics
	tls     *tls.Config
	conns   *connSet
	// mx and submission are the connection budgets of the MX port and of
	// the submission ports together.
	mx, submission *daemon.ConnLimiter
	// idle is the session idle clock; commandTimeout bounds each command.
	idle, commandTimeout time.Duration
	// spoolDir holds the part of each arriving message past what a
	// session keeps in memory (see spool).
	spoolDir string

	// kick wakes the outbound queue runner after a message with remote
	// recipients was accepted; nil when there is none (tests).
	kick func()
	// failureDelay slows down password guessing on one connection.
	failureDelay time.Duration

	// checker runs the inbound checks of mail on the MX port; nil: none
	// (a benchmark's baseline).
	checker *authChecker

	// busy tracks messages in the data phase, so shutdown lets them get
	// their answer before it closes idle connections.
	busy activity

	mu      sync.Mutex
	servers []*smtp.Server // guarded by mu
}

func newServer(cfg *config.Config, st *store.Store, log *slog.Logger, tlsConfig *tls.Config) *server {
	return &server{
		cfg:            cfg,
		st:             st,
		log:            log,
		auth:           &auth.Authenticator{Store: st, Log: log},
		tls:            tlsConfig,
		conns:          newConnSet(),
		mx:             daemon.NewConnLimiter(cfg.SMTPD.MXLimits()),
		submission:     daemon.NewConnLimiter(cfg.SMTPD.SubmissionLimits()),
		idle:           sessionIdle,
		commandTimeout: commandTimeout,
		spoolDir:       filepath.Join(cfg.DataDir, "tmp"),
		failureDelay:   auth.FailureDelay,
		checker:        newAuthChecker(resolve.New(cfg.DNS.Resolver)),
	}
}

// smtpServer returns a go-smtp server for one role. Implicit TLS is the
// listener's business (tls.NewListener), not the server's.
func (s *server) smtpServer(role Role, implicitTLS bool) *smtp.Server {
	srv := smtp.NewServer(&backend{srv: s, role: role})
	srv.Domain = s.cfg.Hostname
	srv.MaxMessageBytes = s.cfg.SMTPD.MaxMessageBytes
	srv.MaxRecipients = s.cfg.SMTPD.MaxRecipients
	srv.AllowInsecureAuth = s.cfg.Auth.AllowPlaintext
	srv.ReadTimeout = s.commandTimeout
	srv.WriteTimeout = s.commandTimeout
	srv.ErrorLog = slogPrinter{s.log}
	if !implicitTLS {
		srv.TLSConfig = s.tls
	}
	s.mu.Lock()
	s.servers = append(s.servers, srv)
	s.mu.Unlock()
	return srv
}

// serve serves one listener in the background until shutdown.
func (s *server) serve(ln net.Listener, role Role, implicitTLS bool) {
	srv := s.smtpServer(role, implicitTLS)
	ln = s.limit(ln, role, implicitTLS)
	ln = &trackListener{Listener: ln, set: s.conns, idle: s.idle}
	if implicitTLS {
		ln = tls.NewListener(ln, s.tls)
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, net.ErrClosed) {
			s.log.Error("serve", "addr", ln.Addr().String(), "err", err)
		}
	}()
}

// limit admits a listener's connections within its role's budget. Plain
// ports answer a refused client; an implicit-TLS port closes (see
// daemon.LimitListener).
func (s *server) limit(ln net.Listener, role Role, implicitTLS bool) net.Listener {
	lim := s.mx
	if role == RoleSubmission {
		lim = s.submission
	}
	refusal := ""
	if !implicitTLS {
		refusal = "421 4.7.0 " + s.cfg.Hostname + " Too many connections, try again later\r\n"
	}
	return daemon.LimitListener(ln, lim, refusal)
}

// shutdown stops accepting, lets messages in their data phase finish
// (each gets its answer) until ctx ends, then closes every connection and
// Idle clients are not waited for: they retry.
func (s *server) shutdown(ctx context.Context) error {
	s.mu.Lock()
	servers := s.servers
	s.mu.Unlock()
	var wg sync.WaitGroup
	errs := make([]error, len(servers))
	for i, srv := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Shutdown closes the listeners, then waits for the
			// connections, which closeAll below ends.
			if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, smtp.ErrServerClosed) {
				errs[i] = err
			}
		}()
	}
	select {
	case <-s.busy.drain():
	case <-ctx.Done():
	}
	s.conns.closeAll()
	wg.Wait()
	return errors.Join(errs...)
}

// slogPrinter routes go-smtp's internal error log (accept and connection
// errors) to the daemon's logger.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Printf(format string, v ...any) {
	p.log.Debug("smtp server", "detail", fmt.Sprintf(format, v...))
}

func (p slogPrinter) Println(v ...any) {
	p.log.Debug("smtp server", "detail", fmt.Sprint(v...))
}
