package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mailsuite/shared/auth"
	"mailsuite/shared/config"
	"mailsuite/shared/daemon"
	"mailsuite/store"
)

// caps are the capabilities we declare; each is backed by the session's
// interfaces (go-imap panics otherwise, and the checks in session.go keep
// that true at compile time).
var caps = imap.CapSet{
	imap.CapIMAP4rev1:    {},
	imap.CapIMAP4rev2:    {},
	imap.CapNamespace:    {},
	imap.CapUIDPlus:      {},
	imap.CapMove:         {},
	imap.CapESearch:      {},
	imap.CapSearchRes:    {},
	imap.CapListExtended: {},
	imap.CapListStatus:   {},
	imap.CapStatusSize:   {},
	imap.CapChildren:     {},
	imap.CapSpecialUse:   {},
	imap.CapLiteralPlus:  {},
	imap.CapID:           {},
	imap.CapCondStore:    {}, // condstore.go
	imap.CapQResync:      {},
	imap.CapQuota:        {},
}

// server is what all sessions of the process share.
type server struct {
	ctx    context.Context // ends at shutdown
	st     *store.Store
	hub    *hub
	auth   *auth.Authenticator
	log    *slog.Logger
	window time.Duration // relay grant lifetime
	// appendLimit is the largest message APPEND takes (APPENDLIMIT):
	// smtpd.max_message_bytes, capped at 2 GiB.
	appendLimit uint32
	// failureDelay is the pause before answering a failed or throttled
	// login; tests set it to zero.
	failureDelay time.Duration
	// limit is the connection budget of imapd.max_connections and
	// imapd.max_connections_per_ip, shared by all listeners.
	limit *daemon.ConnLimiter
	// autologout ends a session that does nothing but NOOP, CHECK or
	// CAPABILITY (see imapserver.Options.Autologout); zero is 30 minutes.
	// Only tests set it.
	autologout time.Duration
	// idleTimeout bounds one IDLE command; zero is 35 minutes. Only tests
	// set it.
	idleTimeout time.Duration
	// conns are the open connections, told BYE at shutdown.
	conns conns
}

func newServer(ctx context.Context, cfg *config.Config, st *store.Store, log *slog.Logger) (*server, error) {
	h, err := newHub(ctx, st, log)
	if err != nil {
		return nil, err
	}
	limit := cfg.SMTPD.MaxMessageBytes
	if limit <= 0 || limit > 1<<31 {
		limit = 1 << 31
	}
	return &server{
		ctx:          ctx,
		st:           st,
		hub:          h,
		auth:         &auth.Authenticator{Store: st, Log: log, NoGrant: cfg.Relay.NoGrant()},
		log:          log,
		window:       cfg.Relay.Window.Duration,
		appendLimit:  uint32(limit),
		failureDelay: auth.FailureDelay,
		limit:        daemon.NewConnLimiter(cfg.IMAPD.Limits()),
	}, nil
}

// imapServer builds the go-imap server, which serves every listener.
// tlsConfig enables STARTTLS; allowPlaintext (auth.allow_plaintext)
// permits LOGIN and AUTHENTICATE before TLS, else the server announces
// LOGINDISABLED and refuses them with PRIVACYREQUIRED.
func (s *server) imapServer(tlsConfig *tls.Config, allowPlaintext bool) *imapserver.Server {
	return imapserver.New(&imapserver.Options{
		NewSession: func(c *imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			s.conns.add(c)
			return &session{srv: s, conn: c}, nil, nil
		},
		Caps:         caps,
		Logger:       printfLogger{s.log},
		TLSConfig:    tlsConfig,
		InsecureAuth: allowPlaintext,
		Autologout:   s.autologout,
		IdleTimeout:  s.idleTimeout,
	})
}

// printfLogger adapts slog to imapserver's logger. go-imap logs client
// errors (timeouts, resets) here, so they go to debug; a recovered panic
// is a bug and goes to error.
type printfLogger struct{ log *slog.Logger }

func (l printfLogger) Printf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if strings.HasPrefix(msg, "panic") {
		// a bug, not a client error: it ended that client's connection
		l.log.Error(msg)
		return
	}
	l.log.Debug(msg)
}

// listen admits ln's connections within the server's budget, and adds
// TLS for an implicit-TLS port (tlsConfig non-nil). A plain port answers a
// refused client; an implicit-TLS port closes (see daemon.LimitListener).
func (s *server) listen(ln net.Listener, tlsConfig *tls.Config) net.Listener {
	if tlsConfig == nil {
		return daemon.LimitListener(ln, s.limit, "* BYE Too many connections, try again later\r\n")
	}
	return tls.NewListener(daemon.LimitListener(ln, s.limit, ""), tlsConfig)
}
