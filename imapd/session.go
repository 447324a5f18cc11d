package main

import (
	"context"
	"errors"
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

// Login checks the credentials with the shared throttled authenticator and
// records the relay grant (for a user with SMTP authority) before
// returning, so the grant exists when the client reads the tagged OK.
// Hashing and store calls run aside (see aside.go).
func (s *session) Login(username, password string) error {
	ctx, cancel := s.ctx()
	defer cancel()
	ip := daemon.PeerIP(s.conn.NetConn().RemoteAddr())
	var cred store.Credential
	var stamp store.CredentialStamp
	var err error
	aside(func() {
		stamp = s.srv.st.CredentialStamp() // before the check: see RecheckChanged
		cred, err = s.srv.auth.Check(ctx, auth.ServiceIMAP, ip, username, password)
	})
	switch {
	case errors.Is(err, auth.ErrAuthFailed):
		time.Sleep(s.srv.failureDelay)
		return imapserver.ErrAuthFailed
	case errors.Is(err, auth.ErrThrottled):
		time.Sleep(s.srv.failureDelay)
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeUnavailable,
			Text: "Too many failed logins, try again later"}
	case err != nil:
		s.srv.log.Error("login", "ip", ip, "err", err)
		return errUnavailable
	}
	if cred.SMTP { // a grant is the right to send: none without SMTP authority
		aside(func() { err = s.srv.st.Grant(ctx, ip, cred.UserID, s.srv.window) })
	}
	if err != nil {
		s.srv.log.Error("record grant", "ip", ip, "user", cred.Name, "err", err)
		return errUnavailable
	}
	s.userID = cred.UserID
	s.login = cred.Name
	s.cred, s.stamp = cred, stamp
	return nil
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
func (s *session) AuthenticateMechanisms() []string { return []string{sasl.Plain} }

// Authenticate runs SASL PLAIN. An authorization identity other than the
// login itself is refused: nobody may log in as someone else.
func (s *session) Authenticate(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Text: "Unsupported SASL mechanism"}
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if identity != "" && identity != username {
			return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAuthorizationFailed,
				Text: "Authorization identity must be the login"}
		}
		return s.Login(username, password)
	}), nil
}

// AppendLimit is the largest message APPEND takes: the same limit smtpd
// applies, so a literal above it is refused before it is read.
func (s *session) AppendLimit() uint32 { return s.srv.appendLimit }

// Namespace reports one personal namespace with "/" as separator.
func (s *session) Namespace() (*imap.NamespaceData, error) {
	return &imap.NamespaceData{Personal: []imap.NamespaceDescriptor{{Delim: delim}}}, nil
}

// Poll catches up with the change log, claims new messages as recent,
// then writes this session's pending updates.
func (s *session) Poll(w *imapserver.UpdateWriter, allowExpunge bool) error {
	if s.sel == nil {
		return nil
	}
	return s.poll(s.sel, w, allowExpunge)
}

func (s *session) poll(sel *selected, w *imapserver.UpdateWriter, allowExpunge bool) error {
	ctx, cancel := s.ctx()
	defer cancel()
	var err error
	aside(func() { err = s.srv.hub.sync(ctx) })
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
	if err := s.poll(sel, w, true); err != nil {
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
