package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"mailsuite/shared/auth"
	"mailsuite/shared/config"
	"mailsuite/smtpd/policy"
	"mailsuite/store"
)

// relayQuery is the question of "relay check": a client at IP, on a
// listener role, optionally after SMTP AUTH as a login, sends MAIL FROM
// sender and RCPT TO recipient.
type relayQuery struct {
	ip, sender, rcpt string
	auth             string // "" without --auth
	role             policy.Role
	strict           bool
	hostname         string
	// limits are the configured sending limits (relay.max_*), suspend
	// relay.suspend_on_limit, maxBounces relay.max_bounces_per_hour.
	limits     store.SendLimits
	suspend    bool
	maxBounces int64
}

// relayReport is the answer: what smtpd would reply at each command, the
// rule that decided, and the facts the rules read. Its json tags are the
// stable keys of --json; later facts go in as fields.
type relayReport struct {
	IP          string `json:"ip"`
	Port        string `json:"port"`
	SenderCheck string `json:"sender_check"`
	Sender      string `json:"sender"`
	Recipient   string `json:"recipient"`
	Accepted    bool   `json:"accepted"`
	// Auth, Mail and Rcpt are the replies in order; a step after a
	// refusal is absent (nil), as the client would not get that far.
	Auth       *relayStep  `json:"auth,omitempty"`
	Mail       *relayStep  `json:"mail,omitempty"`
	Rcpt       *relayStep  `json:"rcpt,omitempty"`
	Credential *credFact   `json:"credential"`
	Grants     []grantFact `json:"grants"`
	Delivery   *rcptFact   `json:"delivery,omitempty"`
	// Sending is the limits, usage and suspension of the account a remote
	// recipient counts against, as "user limits" prints them; nil when
	// none does.
	Sending *limitsRow `json:"sending,omitempty"`
}

// relayStep is one command and smtpd's reply to it.
type relayStep struct {
	Command  string      `json:"command"`
	Code     int         `json:"code"`
	Enhanced string      `json:"enhanced"`
	Text     string      `json:"text"`
	Rule     policy.Rule `json:"rule"`
}

// credFact is the credential --auth names, as the store holds it. The
// password is not checked: the question is what the login may do.
type credFact struct {
	Login   string   `json:"login"`
	Found   bool     `json:"found"`
	Kind    string   `json:"kind,omitempty"` // "user" or "domain"
	SMTP    bool     `json:"smtp"`
	Senders []string `json:"senders,omitempty"` // aliases a user credential may use
}

// grantFact is one live grant of the IP. Only grants of users with SMTP
// authority count.
type grantFact struct {
	User    string `json:"user"`
	Expires string `json:"expires"` // RFC 3339, UTC
	SMTP    bool   `json:"smtp"`
}

// rcptFact says where a recipient goes.
type rcptFact struct {
	LocalDomain bool     `json:"local_domain"`
	Known       bool     `json:"known"`            // a local user or alias receives it
	Users       []string `json:"users,omitempty"`  // local users receiving it
	Remote      []string `json:"remote,omitempty"` // remote alias targets
}

// errRefused makes "relay check" exit 1 after printing its report.
var errRefused = errors.New("refused")

// relayCheck answers "why can't my customer send?": it applies smtpd's own
// rules (package policy) to the live store and prints what smtpd would
// reply to the client at AUTH, MAIL FROM and RCPT TO, and why.
func relayCheck(ctx context.Context, e *env, args []string) error {
	q, err := relayQueryOf(e, args)
	if err != nil {
		return err
	}
	rep, err := checkRelay(ctx, e.st, q)
	if err != nil {
		return err
	}
	if err := writeRelayReport(e, rep); err != nil {
		return err
	}
	if !rep.Accepted {
		last := rep.last()
		return fmt.Errorf("%w at %s (%s)", errRefused, strings.Fields(last.Command)[0], last.Rule)
	}
	return nil
}

func relayQueryOf(e *env, args []string) (relayQuery, error) {
	ip, err := store.CanonIP(args[0])
	if err != nil {
		return relayQuery{}, usagef("relay check: %v", err)
	}
	q := relayQuery{ip: ip, sender: trimPath(args[1]), rcpt: trimPath(args[2]), auth: e.inv.auth,
		strict: e.cfg.Relay.SenderCheck != config.SenderCheckOff, hostname: e.cfg.Hostname,
		limits: e.cfg.Relay.SendLimits(), suspend: e.cfg.Relay.SuspendOnLimit, maxBounces: e.cfg.Relay.MaxBouncesPerHour}
	switch e.inv.port {
	case "", "mx":
		q.role = policy.RoleMX
	case "submission":
		q.role = policy.RoleSubmission
	default:
		return relayQuery{}, usagef("relay check: --port is mx or submission, not %q", e.inv.port)
	}
	return q, nil
}

// trimPath drops the angle brackets an operator may copy from a log:
// "<a@b>" is a@b, "<>" the null sender.
func trimPath(s string) string {
	if strings.HasPrefix(s, "<") && strings.HasSuffix(s, ">") {
		return s[1 : len(s)-1]
	}
	return s
}

// checkRelay walks a session as smtpd does: AUTH, then MAIL FROM, then
// RCPT TO, each decided by the same policy functions on the same store
// reads, stopping at the first refusal.
func checkRelay(ctx context.Context, st *store.Store, q relayQuery) (relayReport, error) {
	rep := relayReport{IP: q.ip, Port: q.role.String(), SenderCheck: config.SenderCheckOff,
		Sender: q.sender, Recipient: q.rcpt, Grants: []grantFact{}}
	if q.strict {
		rep.SenderCheck = config.SenderCheckStrict
	}
	grants, err := st.LiveGrants(ctx, q.ip)
	if err != nil {
		return rep, err
	}
	for _, g := range grants {
		rep.Grants = append(rep.Grants, grantFact{g.User.Address, g.Expires.UTC().Format(time.RFC3339), g.User.SMTP})
	}
	var cred *store.Credential
	var credSenders []string
	if q.auth != "" {
		cred, credSenders, err = checkAuth(ctx, st, q.auth, &rep)
		if err != nil || rep.Auth.Code != 235 {
			return rep, err
		}
	}
	m, account, ok, err := checkMail(ctx, st, q, cred, credSenders, &rep)
	if err != nil || !ok {
		return rep, err
	}
	return rep, checkRcpt(ctx, st, q, m, account, &rep)
}

// checkAuth looks the login up as AUTH would after a right password and
// applies policy.DecideAuth.
func checkAuth(ctx context.Context, st *store.Store, login string, rep *relayReport) (*store.Credential, []string, error) {
	rep.Credential = &credFact{Login: login}
	cred, err := st.Credential(ctx, login)
	if errors.Is(err, store.ErrNotFound) {
		rep.Auth = stepOf("AUTH", smtp.ErrAuthFailed, policy.RuleAuth)
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	senders, err := policy.CredSenders(ctx, st, cred)
	if err != nil {
		return nil, nil, err
	}
	rep.Credential = &credFact{Login: cred.Name, Found: true, Kind: credKind(cred.Kind), SMTP: cred.SMTP, Senders: senders}
	if serr := policy.DecideAuth(cred); serr != nil {
		rep.Auth = stepOf("AUTH", serr, policy.Rule2)
		return nil, nil, nil
	}
	rep.Auth = accepted("AUTH", 235, "Authentication succeeded", policy.Rule2)
	return &cred, senders, nil
}

func credKind(k store.CredKind) string {
	if k == store.CredDomain {
		return "domain"
	}
	return "user"
}

// checkMail decides MAIL FROM as smtpd's session does, and names the
// account relayed mail counts against (policy.SendAccount). smtpd defers the
// decision on the MX port without AUTH to the first remote recipient;
// there DecideMail refuses nothing, so deciding now gives the same replies.
func checkMail(ctx context.Context, st *store.Store, q relayQuery, cred *store.Credential, credSenders []string, rep *relayReport) (policy.Mail, string, bool, error) {
	cmd := "MAIL FROM:<" + q.sender + ">"
	path, serr := smtp.ParsePath("<"+q.sender+">", false)
	if serr != nil {
		rep.Mail = stepOf(cmd, serr, policy.Rule5)
		return policy.Mail{}, "", false, nil
	}
	var from string
	if path != "" {
		a, err := policy.ParseAddress(path)
		if err != nil {
			rep.Mail = stepOf(cmd, policy.AddressError(path, true, err), policy.Rule5)
			return policy.Mail{}, "", false, nil
		}
		from = a.Canon
	}
	known := st.Now().Add(-auth.KnownDeviceFor)
	id, err := policy.GatherIdentity(ctx, st, q.ip, cred, credSenders, from, q.strict, known)
	if err != nil {
		return policy.Mail{}, "", false, err
	}
	m, serr := policy.DecideMail(q.role, q.strict, id, from)
	if serr != nil {
		rep.Mail = stepOf(cmd, serr, m.Rule)
		return m, "", false, nil
	}
	rep.Mail = accepted(cmd, 250, fmt.Sprintf("Roger, accepting mail from <%s>", path), m.Rule)
	return m, policy.SendAccount(id, from), true, nil
}

// checkRcpt decides RCPT TO as smtpd's session does: the relay rules,
// then the quota of the local users it reaches, then for a remote
// recipient the sending limits of account (see policy.SendAccount).
func checkRcpt(ctx context.Context, st *store.Store, q relayQuery, m policy.Mail, account string, rep *relayReport) error {
	cmd := "RCPT TO:<" + q.rcpt + ">"
	path, serr := smtp.ParsePath("<"+q.rcpt+">", true)
	if serr != nil {
		rep.Rcpt = stepOf(cmd, serr, policy.Rule5)
		return nil
	}
	route, err := policy.RcptRoute(path)
	if err != nil {
		rep.Rcpt = stepOf(cmd, policy.AddressError(path, false, err), policy.Rule5)
		return nil
	}
	r, res, err := policy.LookupRcpt(ctx, st, route, q.hostname)
	if errors.Is(err, store.ErrInvalidAddress) {
		rep.Rcpt = stepOf(cmd, policy.AddressError(path, false, err), policy.Rule5)
		return nil
	}
	if err != nil {
		return err
	}
	rep.Delivery = &rcptFact{LocalDomain: r.LocalDomain, Known: r.LocalDomain && r.Known, Remote: res.Remote}
	ids := make([]int64, len(res.Users))
	for i, u := range res.Users {
		ids[i] = u.ID
		rep.Delivery.Users = append(rep.Delivery.Users, u.Address)
	}
	rule, serr := policy.DecideRcpt(q.role, m, r)
	if serr != nil {
		rep.Rcpt = stepOf(cmd, serr, rule)
		return nil
	}
	qs, err := policy.Quotas(ctx, st, ids)
	if err != nil {
		return err
	}
	if serr := policy.DecideRcptQuota(r.Addr, qs, 0); serr != nil {
		rep.Rcpt = stepOf(cmd, serr, policy.RuleQuota)
		return nil
	}
	if !r.LocalDomain && account != "" {
		serr, err := checkLimits(ctx, st, q, account, r.Addr, rep)
		if err != nil || serr != nil {
			rep.Rcpt = stepOf(cmd, serr, policy.RuleLimit)
			return err
		}
	}
	rep.Rcpt = accepted(cmd, 250, fmt.Sprintf("I'll make sure <%s> gets this", path), rule)
	rep.Accepted = true
	return nil
}

// checkLimits applies the account's sending limits to a remote recipient
// (canonical) as the first of a transaction, as smtpd's session does
// (smtpd/sending.go), and records the account's state in rep. It does
// not suspend: the reply says what smtpd would, suspension included.
func checkLimits(ctx context.Context, st *store.Store, q relayQuery, account, rcpt string, rep *relayReport) (*smtp.SMTPError, error) {
	state, seen, err := st.SendingStateTo(ctx, account, rcpt)
	if err != nil {
		return nil, err
	}
	row := newLimitsRow(state, q.limits, q.maxBounces)
	rep.Sending = &row
	if hit := policy.DecideSendLimit(row.Limits, state.Usage, 0, 0, !seen); hit != nil {
		return policy.SendLimitReached(account, *hit, q.suspend), nil
	}
	return nil, nil
}

func stepOf(cmd string, serr *smtp.SMTPError, rule policy.Rule) *relayStep {
	return &relayStep{Command: cmd, Code: serr.Code, Enhanced: enhanced(serr.EnhancedCode), Text: serr.Message, Rule: rule}
}

func accepted(cmd string, code int, text string, rule policy.Rule) *relayStep {
	return &relayStep{Command: cmd, Code: code, Enhanced: "2.0.0", Text: text, Rule: rule}
}

func enhanced(c smtp.EnhancedCode) string {
	return fmt.Sprintf("%d.%d.%d", c[0], c[1], c[2])
}

// last is the step that ended the check.
func (r *relayReport) last() *relayStep {
	for _, s := range []*relayStep{r.Rcpt, r.Mail, r.Auth} {
		if s != nil {
			return s
		}
	}
	return &relayStep{}
}

// writeRelayReport prints the report: with --json one object, else one
// record per line, "KEY<TAB>VALUE...": the replies first, then the facts.
func writeRelayReport(e *env, rep relayReport) error {
	if e.inv.json {
		return writeJSON(e, rep)
	}
	var lines [][]string
	for _, s := range []*relayStep{rep.Auth, rep.Mail, rep.Rcpt} {
		if s != nil {
			lines = append(lines, []string{s.Command, fmt.Sprintf("%d %s %s", s.Code, s.Enhanced, s.Text), s.Rule.String()})
		}
	}
	verdict := "refused"
	if rep.Accepted {
		verdict = "accepted"
	}
	lines = append(lines, []string{"result", verdict}, []string{"port", rep.Port}, []string{"sender_check", rep.SenderCheck})
	if c := rep.Credential; c != nil && c.Found {
		lines = append(lines, []string{"credential", c.Login, c.Kind, "smtp=" + onOff(c.SMTP), "senders=" + orDash(strings.Join(c.Senders, ","))})
	} else if c != nil {
		lines = append(lines, []string{"credential", c.Login, "unknown"})
	}
	for _, g := range rep.Grants {
		lines = append(lines, []string{"grant", g.User, "until " + g.Expires, "smtp=" + onOff(g.SMTP)})
	}
	if len(rep.Grants) == 0 {
		lines = append(lines, []string{"grant", "-"})
	}
	if d := rep.Delivery; d != nil {
		lines = append(lines, []string{"delivery", "local_domain=" + yesNo(d.LocalDomain), "known=" + yesNo(d.Known),
			"users=" + orDash(strings.Join(d.Users, ",")), "remote=" + orDash(strings.Join(d.Remote, ","))})
	}
	if rep.Sending != nil {
		lines = append(lines, append([]string{"sending"}, rep.Sending.fields()...))
	}
	for _, l := range lines {
		if err := record(e.stdout, l...); err != nil {
			return err
		}
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
