package main

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"slices"
	"time"

	"github.com/emersion/go-smtp"

	"mailsuite/shared/auth"
	"mailsuite/shared/config"
	"mailsuite/shared/daemon"
	"mailsuite/smtpd/policy"
	"mailsuite/store"
)

// lookupTimeout bounds one store read during a command.
const lookupTimeout = 30 * time.Second

// backend makes sessions for one listener role.
type backend struct {
	srv  *server
	role policy.Role
}

// NewSession is called at the first EHLO/HELO, and again after STARTTLS:
// the new session starts from nothing (RFC 3207: forget what the client
// said before TLS, AUTH included); only the TCP peer carries over, because
// it comes from the connection.
func (b *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	s := &session{
		srv:  b.srv,
		role: b.role,
		conn: c.Conn(),
		ip:   daemon.PeerIP(c.Conn().RemoteAddr()),
		helo: c.Hostname(),
	}
	if st, ok := c.TLSConnectionState(); ok {
		s.tls = &st
	}
	return s, nil
}

// session is one client connection between EHLO and QUIT (or STARTTLS).
type session struct {
	srv  *server
	role policy.Role
	conn net.Conn
	ip   string
	helo string
	tls  *tls.ConnectionState // nil without TLS

	cred        *store.Credential // set by a successful AUTH
	credSenders []string
	revoked     *smtp.SMTPError // the answer to every MAIL once cred was revoked

	tx transaction
	// inData is set while a message's data phase counts as work in
	// progress for shutdown; it ends in Reset, which go-smtp calls after
	// writing the reply, so shutdown never cuts a reply off.
	inData bool
}

// transaction is the state of one MAIL ... DATA exchange.
type transaction struct {
	active bool
	from   string // canonical sender, "" for <>
	mail   policy.Mail
	id     policy.Identity
	// undecided: DecideMail has not run yet (MX port without AUTH, no
	// remote recipient so far); mail is then the verdict for inbound
	// mail, which is all local recipients need.
	undecided bool
	local     []int64 // user IDs, deduplicated
	remote    []string
	rcpts     []string // as accepted, for the log
	size      int64    // declared by MAIL FROM SIZE=, 0 if not
	sending   *sending // set at the first remote recipient (see sending.go)
	checks    string   // the inbound checks' results, for the log
}

func (s *session) Reset() {
	s.tx = transaction{}
	s.endData()
}

func (s *session) Logout() error {
	s.endData()
	return nil
}

func (s *session) endData() {
	if s.inData {
		s.inData = false
		s.srv.busy.end()
	}
}

func (s *session) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), lookupTimeout)
}

// Mail checks the sender against the client's identity (docs/ARCHITECTURE.md rule 4)
// and decides once, for the whole transaction, whether it may relay.
// On the MX port without AUTH that decision can refuse nothing at MAIL
// and matters only for a remote recipient, so it waits for the first one
// (see Rcpt): plain inbound mail never reads the grants.
func (s *session) Mail(from string, opts *smtp.MailOptions) (err error) {
	defer func() { s.countRefusal(err) }()
	s.Reset()
	if serr := s.recheckAuth(); serr != nil {
		return serr
	}
	var canon string
	if from != "" {
		a, err := policy.ParseAddress(from)
		if err != nil {
			return policy.AddressError(from, true, err)
		}
		canon = a.Canon
	}
	s.tx = transaction{active: true, from: canon, undecided: true}
	if opts != nil {
		s.tx.size = opts.Size
	}
	if s.role != policy.RoleMX || s.cred != nil {
		if serr := s.decideMail(); serr != nil {
			s.tx = transaction{}
			return serr
		}
	}
	s.progressed()
	return nil
}

// decideMail gathers the identity and applies DecideMail to the
// transaction's sender.
func (s *session) decideMail() *smtp.SMTPError {
	ctx, cancel := s.ctx()
	defer cancel()
	strict := s.srv.cfg.Relay.SenderCheck != config.SenderCheckOff
	known := s.srv.st.Now().Add(-auth.KnownDeviceFor)
	id, err := policy.GatherIdentity(ctx, s.srv.st, s.ip, s.cred, s.credSenders, s.tx.from, strict, known)
	if err != nil {
		return storeFailure(s.srv.log, "identity lookup", err, "ip", s.ip)
	}
	m, serr := policy.DecideMail(s.role, strict, id, s.tx.from)
	if serr != nil {
		s.srv.log.Info("sender refused", "ip", s.ip, "from", s.tx.from, "port", s.role.String(),
			"auth", credName(s.cred), "reply", serr.Message)
		return serr
	}
	s.tx.mail, s.tx.id, s.tx.undecided = m, id, false
	return nil
}

// Rcpt applies the relay rules (docs/ARCHITECTURE.md rules 1 to 3, 5) to one
// recipient.
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) (err error) {
	defer func() { s.countRefusal(err) }()
	if !s.tx.active {
		return errMailFirst
	}
	route, err := policy.RcptRoute(to)
	if err != nil {
		s.srv.log.Info("recipient refused", "ip", s.ip, "rcpt", policy.Printable(to, 300), "reply", "bad address")
		return policy.AddressError(to, false, err)
	}
	ctx, cancel := s.ctx()
	defer cancel()
	r, res, err := policy.LookupRcpt(ctx, s.srv.st, route, s.srv.cfg.Hostname)
	if errors.Is(err, store.ErrInvalidAddress) {
		return policy.AddressError(to, false, err)
	}
	if err != nil {
		return storeFailure(s.srv.log, "recipient lookup", err, "rcpt", policy.Printable(to, 300))
	}
	if !r.LocalDomain && s.tx.undecided {
		if serr := s.decideMail(); serr != nil {
			return serr
		}
	}
	_, serr := policy.DecideRcpt(s.role, s.tx.mail, r)
	s.countRelay(r, serr)
	if serr != nil {
		s.srv.log.Info("recipient refused", "ip", s.ip, "from", s.tx.from, "rcpt", r.Addr,
			"port", s.role.String(), "auth", credName(s.cred), "reply", serr.Message)
		return serr
	}
	serr = s.rcptQuota(ctx, r.Addr, res.Users)
	if serr == nil && !r.LocalDomain {
		serr = s.rcptLimit(ctx, r.Addr)
	}
	if serr != nil {
		s.srv.log.Info("recipient refused", "ip", s.ip, "from", s.tx.from, "rcpt", r.Addr,
			"port", s.role.String(), "reply", serr.Message)
		return serr
	}
	for _, u := range res.Users {
		s.tx.addLocal(u.ID)
	}
	for _, rem := range res.Remote {
		s.tx.addRemote(rem)
	}
	s.tx.rcpts = append(s.tx.rcpts, r.Addr)
	s.progressed()
	return nil
}

func (t *transaction) addLocal(id int64) {
	for _, x := range t.local {
		if x == id {
			return
		}
	}
	t.local = append(t.local, id)
}

func (t *transaction) addRemote(addr string) {
	if slices.Contains(t.remote, addr) {
		return
	}
	t.remote = append(t.remote, addr)
}

func credName(c *store.Credential) string {
	if c == nil {
		return ""
	}
	return c.Name
}

var _ smtp.AuthSession = (*session)(nil)
