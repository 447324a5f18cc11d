package main

import (
	"context"
	"crypto/tls"
	"net"
	"time"

	"github.com/emersion/go-smtp"

	"mailsuite/shared"
	"mailsuite/store"
)

// lookupTimeout bounds one store read during a command.
const lookupTimeout = 30 * time.Second

// errTemporary is the answer when the store fails: go-smtp would turn a
// plain error into a permanent 5xx, which would make the client bounce
// mail it should retry.
var errTemporary = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0},
	Message: "Temporary local problem, please try again later"}

// backend makes sessions for one listener role.
type backend struct {
	srv  *server
	role Role
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
		ip:   shared.PeerIP(c.Conn().RemoteAddr()),
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
	role Role
	conn net.Conn
	ip   string
	helo string
	tls  *tls.ConnectionState // nil without TLS

	cred        *store.Credential // set by a successful AUTH
	credSenders []string

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
	mail   Mail
	id     Identity
	local  []int64 // user IDs, deduplicated
	remote []string
	rcpts  []string // as accepted, for the log
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

// Mail checks the sender against the client's identity (DESIGN.md rule 4)
// and decides once, for the whole transaction, whether it may relay.
func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.Reset()
	var canon string
	if from != "" {
		a, err := ParseAddress(from)
		if err != nil {
			return addressError(from, true, err)
		}
		canon = a.Canon
	}
	ctx, cancel := s.ctx()
	defer cancel()
	id, err := s.identity(ctx)
	if err != nil {
		s.srv.log.Error("identity lookup", "ip", s.ip, "err", err)
		return errTemporary
	}
	strict := s.srv.cfg.Relay.SenderCheck != shared.SenderCheckOff
	m, serr := DecideMail(s.role, strict, id, canon)
	if serr != nil {
		s.srv.log.Info("sender refused", "ip", s.ip, "from", canon, "port", s.role.String(),
			"auth", credName(s.cred), "reply", serr.Message)
		return serr
	}
	s.tx = transaction{active: true, from: canon, mail: m, id: id}
	return nil
}

// identity gathers what the policy needs: the credential's sender
// addresses and the grants of the peer IP held by users with SMTP
// authority.
func (s *session) identity(ctx context.Context) (Identity, error) {
	id := Identity{Cred: s.cred, CredSenders: s.credSenders, IP: s.ip}
	grants, err := s.srv.st.LiveGrants(ctx, s.ip)
	if err != nil {
		return id, err
	}
	for _, g := range grants {
		if !g.User.SMTP {
			continue
		}
		aliases, err := s.srv.st.AliasesOf(ctx, g.User.Address)
		if err != nil {
			return id, err
		}
		id.Granted = append(id.Granted, g.User.Address)
		id.GrantSenders = append(id.GrantSenders, g.User.Address)
		id.GrantSenders = append(id.GrantSenders, aliases...)
	}
	return id, nil
}

// Rcpt applies the relay rules (DESIGN.md rules 1 to 3, 5) to one
// recipient.
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if !s.tx.active {
		return &smtp.SMTPError{Code: 503, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "MAIL first"}
	}
	a, err := ParseAddress(to)
	if err != nil {
		s.srv.log.Info("recipient refused", "ip", s.ip, "rcpt", printable(to, 300), "reply", "bad address")
		return addressError(to, false, err)
	}
	ctx, cancel := s.ctx()
	defer cancel()
	r := Recipient{Addr: a.Canon}
	var res store.Resolution
	r.LocalDomain, err = s.srv.st.IsLocalDomain(ctx, a.Domain)
	if err == nil && r.LocalDomain {
		res, err = s.srv.st.Resolve(ctx, a.Canon)
		r.Known = !res.Empty()
	}
	if err != nil {
		s.srv.log.Error("recipient lookup", "rcpt", a.Canon, "err", err)
		return errTemporary
	}
	if serr := DecideRcpt(s.role, s.tx.mail, r); serr != nil {
		s.srv.log.Info("recipient refused", "ip", s.ip, "from", s.tx.from, "rcpt", a.Canon,
			"port", s.role.String(), "auth", credName(s.cred), "reply", serr.Message)
		return serr
	}
	if r.LocalDomain {
		for _, u := range res.Users {
			s.tx.addLocal(u.ID)
		}
		for _, rem := range res.Remote {
			s.tx.addRemote(rem)
		}
	} else {
		s.tx.addRemote(a.Route)
	}
	s.tx.rcpts = append(s.tx.rcpts, a.Canon)
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
	if contains(t.remote, addr) {
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

// errShuttingDown tells a client to come back later.
var errShuttingDown = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2},
	Message: "Shutting down, try again later"}
