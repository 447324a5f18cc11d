package main

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-sasl"

	"mailsuite/shared/auth"
	"mailsuite/shared/daemon"
	"mailsuite/store"
)

// session is one IMAP connection's state. It is kept small on purpose: an
// idle connection holds only this, its SessionTracker and go-imap's buffers.
type session struct {
	srv    *server
	conn   *imapserver.Conn
	userID int64 // 0 until logged in
	login  string
	cred   store.Credential // as at login; see CheckCommand
	stamp  store.CredentialStamp
	sel    *selected // nil unless a mailbox is selected

	// fresh says that the command being run synced the view after its
	// last write (syncView), so Poll after it has nothing to catch up on.
	fresh bool

	// selMu guards sel between the connection's goroutine, which alone
	// changes it, and the IDLE goroutine, which reads it (see Idle).
	selMu sync.Mutex
}

// selected is the state of the selected mailbox.
type selected struct {
	mbox      *mailboxState
	name      string // for logs
	tracker   *imapserver.SessionTracker
	readOnly  bool
	searchRes imap.UIDSet // SEARCHRES "$"
	recent    recentState // see recent.go
}

var (
	_ imapserver.Session               = (*session)(nil)
	_ imapserver.SessionIMAP4rev2      = (*session)(nil)
	_ imapserver.SessionNamespace      = (*session)(nil)
	_ imapserver.SessionMove           = (*session)(nil)
	_ imapserver.SessionSASL           = (*session)(nil)
	_ imapserver.SessionAppendLimit    = (*session)(nil)
	_ imapserver.SessionID             = (*session)(nil)
	_ imapserver.SessionQuota          = (*session)(nil)
	_ imapserver.SessionCommandCheck   = (*session)(nil)
	_ imapserver.SessionPrivacyRefusal = (*session)(nil)
)

// opTimeout bounds one store operation of a command.
const opTimeout = time.Minute

func (s *session) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(s.srv.ctx, opTimeout)
}

// Close releases the selected mailbox.
func (s *session) Close() error {
	if s.sel != nil {
		s.Unselect()
	}
	s.srv.conns.remove(s.conn)
	return nil
}

// Login answers LOGIN on the one login path (see auth.Login).
func (s *session) Login(username, password string) error {
	return loginReply(s.logIn(username, password))
}

func (s *session) loginPath() auth.Login {
	return auth.Login{Auth: s.srv.auth, Service: auth.ServiceIMAP, IP: daemon.PeerIP(s.conn.NetConn().RemoteAddr()),
		FailureDelay: s.srv.failureDelay, GrantWindow: s.srv.window}
}

// logIn takes the shared login path, which records the relay grant
// before it returns, so the grant exists when the client reads the
// tagged OK. Hashing and store calls run aside (see aside.go).
func (s *session) logIn(username, password string) error {
	ctx, cancel := s.ctx()
	defer cancel()
	var ok auth.Success
	var err error
	aside(func() { ok, err = s.loginPath().Password(ctx, username, password) })
	if err != nil {
		return err
	}
	s.userID = ok.Cred.UserID
	s.login = ok.Cred.Name
	s.cred, s.stamp = ok.Cred, ok.Stamp
	return nil
}

// loginReply maps the outcome of LOGIN or AUTHENTICATE to imapd's reply.
func loginReply(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, auth.ErrAuthFailed):
		return imapserver.ErrAuthFailed
	case errors.Is(err, auth.ErrThrottled):
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeUnavailable,
			Text: "Too many failed logins, try again later"}
	case errors.Is(err, auth.ErrAuthzDenied):
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAuthorizationFailed,
			Text: "Authorization identity must be the login"}
	case errors.Is(err, auth.ErrMalformed):
		return &imap.Error{Type: imap.StatusResponseTypeBad, Text: "Malformed SASL response"}
	}
	return errUnavailable // logged by the login path
}

// PrivacyRefused logs a LOGIN or AUTHENTICATE refused before TLS, as the
// other daemons log a refused login; no password was checked, so it is
// not an "auth failed" line.
func (s *session) PrivacyRefused(username string) {
	ip := daemon.PeerIP(s.conn.NetConn().RemoteAddr())
	auth.LogRefused(s.srv.log, string(auth.ServiceIMAP), ip, username, "login before TLS")
}

var errUnavailable = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeUnavailable,
	Text: "Temporary failure, try again later"}

// AuthenticateMechanisms lists the SASL mechanisms: PLAIN only, which
// needs TLS unless allow_plaintext (imapserver enforces that).
func (s *session) AuthenticateMechanisms() []string { return []string{auth.MechPlain} }

// Authenticate runs SASL PLAIN, the shared mechanism (see auth.Login.SASL),
// which refuses an authorization identity other than the login itself.
func (s *session) Authenticate(mech string) (sasl.Server, error) {
	if !strings.EqualFold(mech, auth.MechPlain) {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Text: "Unsupported SASL mechanism"}
	}
	return s.loginPath().SASL(mech, s.logIn, loginReply)
}

// AppendLimit is the largest message APPEND takes: the same limit smtpd
// applies, so a literal above it is refused before it is read.
func (s *session) AppendLimit() uint32 { return s.srv.appendLimit }

// Namespace reports one personal namespace with "/" as separator.
func (s *session) Namespace() (*imap.NamespaceData, error) {
	return &imap.NamespaceData{Personal: []imap.NamespaceDescriptor{{Delim: delim}}}, nil
}

// Poll catches up with the change log (unless the command just did),
// claims new messages as recent, then writes this session's pending
// updates.
func (s *session) Poll(w *imapserver.UpdateWriter, allowExpunge bool) error {
	fresh := s.fresh
	s.fresh = false
	if s.sel == nil {
		return nil
	}
	return s.poll(s.sel, w, allowExpunge, !fresh)
}

func (s *session) poll(sel *selected, w *imapserver.UpdateWriter, allowExpunge, sync bool) error {
	ctx, cancel := s.ctx()
	defer cancel()
	var err error
	if sync {
		aside(func() { err = s.srv.hub.sync(ctx) })
	}
	if err != nil {
		s.srv.log.Error("poll changes", "err", err)
	}
	aside(func() { err = s.claimNew(ctx, sel) })
	if err != nil {
		s.srv.log.Error("claim recent", "err", err)
	}
	if err := sel.tracker.Poll(w, allowExpunge); err != nil {
		return err
	}
	return sel.reportRecent(w)
}

// Idle writes updates as the watcher delivers them until stop closes,
// each batch followed by RECENT when the count changed. Anything queued
// before IDLE began is written first.
//
// go-imap runs Idle on a goroutine of its own and, when the client drops
// the connection, calls Close without waiting for it: so Idle reads the
// selection once, under selMu.
func (s *session) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	s.selMu.Lock()
	sel := s.sel
	s.selMu.Unlock()
	if sel == nil {
		<-stop
		return nil
	}
	// Marked first: a message that arrives from here on is claimed as
	// recent for this session, which is told of it first (recent.go).
	sel.setIdling(true)
	defer sel.setIdling(false)
	if err := s.poll(sel, w, true, true); err != nil {
		return err
	}
	return sel.tracker.IdleThen(w, stop, sel.reportRecent)
}

// Unselect leaves the selected mailbox.
func (s *session) Unselect() error {
	s.selMu.Lock()
	sel := s.sel
	s.sel = nil
	s.selMu.Unlock()
	if sel == nil {
		return nil
	}
	sel.mbox.mu.Lock()
	delete(sel.mbox.sessions, sel.tracker)
	sel.mbox.mu.Unlock()
	sel.tracker.Close()
	s.srv.hub.release(sel.mbox)
	return nil
}

// ID answers RFC 2971 ID with the software's name only (no version, which
// would help an attacker more than a client), as Dovecot does. The client's
// name and version go to the debug log.
func (s *session) ID(client map[string]string) *imap.IDData {
	s.srv.log.Debug("client id", "user", s.login, "name", client["name"], "version", client["version"])
	return &imap.IDData{Name: "mailsuite"}
}
