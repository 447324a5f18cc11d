package main

import (
	"context"
	"strconv"
	"strings"
	"time"

	"mailsuite/store"
)

// userReport is "user show": what an operator asks about one user. Its
// json tags are the stable keys of --json; later facts go in as fields.
type userReport struct {
	userRow                    // address, smtp, used, quota, quota_default, messages
	MessageLimit int64         `json:"message_limit"` // 0: unlimited
	MailboxLimit int           `json:"mailbox_limit"` // 0: unlimited
	Aliases      []string      `json:"aliases"`       // aliases that deliver to the user
	Mailboxes    []mailboxFact `json:"mailboxes"`
	Grants       []userGrant   `json:"grants"` // live relay grants
	Logins       []loginFact   `json:"logins"` // latest first
	// Sending is the sending limits in force, the usage and any
	// suspension, as "user limits" prints them.
	Sending limitsRow `json:"sending"`
}

type mailboxFact struct {
	Name     string `json:"name"`
	Messages int64  `json:"messages"`
	Size     int64  `json:"size"` // bytes
}

type userGrant struct {
	IP      string `json:"ip"`
	Expires string `json:"expires"` // RFC 3339, UTC
}

type loginFact struct {
	Proto string `json:"proto"` // pop3, imap, smtp
	IP    string `json:"ip"`
	Last  string `json:"last"` // RFC 3339, UTC, exact to a minute
}

// userShow prints everything about one user: usage against quota and
// limits, mailboxes, aliases, live grants, the latest logins, and the
// sending limits with any suspension (why and since when).
func userShow(ctx context.Context, e *env, args []string) error {
	u, err := findUser(ctx, e.st, args[0])
	if err != nil {
		return err
	}
	rep, err := newUserReport(ctx, e, u)
	if err != nil {
		return err
	}
	if e.inv.json {
		return writeJSON(e, rep)
	}
	for _, l := range rep.lines() {
		if err := record(e.stdout, l...); err != nil {
			return err
		}
	}
	return nil
}

func newUserReport(ctx context.Context, e *env, u store.User) (userReport, error) {
	row, err := newUserRow(ctx, e.st, u)
	if err != nil {
		return userReport{}, err
	}
	q, err := e.st.UserQuota(ctx, u.ID)
	if err != nil {
		return userReport{}, err
	}
	rep := userReport{userRow: row, MessageLimit: q.MessageLimit, MailboxLimit: e.cfg.Quota.Limits().Mailboxes,
		Aliases: []string{}, Mailboxes: []mailboxFact{}, Grants: []userGrant{}, Logins: []loginFact{}}
	aliases, err := e.st.AliasesOf(ctx, u.Address)
	if err != nil {
		return rep, err
	}
	rep.Aliases = append(rep.Aliases, aliases...)
	if err := rep.addMailboxes(ctx, e.st, u.ID); err != nil {
		return rep, err
	}
	grants, err := e.st.Grants(ctx)
	if err != nil {
		return rep, err
	}
	for _, g := range grants {
		if g.User.ID == u.ID {
			rep.Grants = append(rep.Grants, userGrant{g.IP, rfc3339(g.Expires)})
		}
	}
	logins, err := e.st.Logins(ctx, u.Address)
	if err != nil {
		return rep, err
	}
	for _, l := range logins {
		rep.Logins = append(rep.Logins, loginFact{l.Proto, l.IP, rfc3339(l.Last)})
	}
	sending, err := e.st.SendingState(ctx, u.Address)
	if err != nil {
		return rep, err
	}
	rep.Sending = newLimitsRow(sending, e.cfg.Relay.SendLimits(), e.cfg.Relay.MaxBouncesPerHour)
	return rep, nil
}

func (r *userReport) addMailboxes(ctx context.Context, st *store.Store, userID int64) error {
	boxes, err := st.Mailboxes(ctx, userID)
	if err != nil {
		return err
	}
	for _, b := range boxes {
		s, err := st.Status(ctx, b.ID)
		if err != nil {
			return err
		}
		r.Mailboxes = append(r.Mailboxes, mailboxFact{b.Name, int64(s.Messages), s.Size})
	}
	return nil
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// lines is the text form: one record per line, "KEY<TAB>VALUE...".
func (r userReport) lines() [][]string {
	lines := [][]string{
		{"address", r.Address},
		{"smtp", onOff(r.SMTP)},
		append([]string{"usage"}, r.usage()...),
		{"limits", "messages=" + limitText(r.MessageLimit),
			"mailboxes=" + strconv.Itoa(len(r.Mailboxes)) + "/" + limitText(int64(r.MailboxLimit))},
		{"aliases", orDash(strings.Join(r.Aliases, ","))},
		append([]string{"sending"}, r.Sending.fields()[1:]...), // the address is above
	}
	for _, b := range r.Mailboxes {
		lines = append(lines, []string{"mailbox", b.Name, "messages=" + strconv.FormatInt(b.Messages, 10), "size=" + formatSize(b.Size)})
	}
	for _, g := range r.Grants {
		lines = append(lines, []string{"grant", g.IP, "until " + g.Expires})
	}
	for _, l := range r.Logins {
		lines = append(lines, []string{"login", l.Proto, l.IP, l.Last})
	}
	return lines
}

func limitText(n int64) string {
	if n == 0 {
		return "unlimited"
	}
	return strconv.FormatInt(n, 10)
}
