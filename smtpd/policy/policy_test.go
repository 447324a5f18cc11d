package policy

import (
	"fmt"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"

	"mailsuite/store"
)

// The policy's world: example.org is local, with users alice (the
// credential's or grant's own user, alias a.smith@) and bob; dave holds the
// grant that matches none of the senders tried.
const (
	polOwn    = "alice@example.org"
	polAlias  = "a.smith@example.org"
	polOther  = "bob@example.org"
	polDave   = "dave@example.org"
	polRemote = "carol@remote.test"
)

type polCase struct {
	cred   string // "none", "user", "user-nosmtp", "domain"
	grant  string // "none", "match", "nomatch", "nosmtp"
	role   Role
	strict bool
	sender string // "own", "other", "remote", "null"
	rcpt   string // "known", "unknown", "remote"
}

func (c polCase) String() string {
	return fmt.Sprintf("cred=%s grant=%s port=%s strict=%v sender=%s rcpt=%s",
		c.cred, c.grant, c.role, c.strict, c.sender, c.rcpt)
}

// polOutcome is what the client is told: at which command, and the code.
type polOutcome struct {
	stage string // "MAIL", "RCPT", or "" when the recipient is accepted
	code  int
	enh   smtp.EnhancedCode
}

func (o polOutcome) String() string {
	if o.stage == "" {
		return "accepted"
	}
	return fmt.Sprintf("%s %d %d.%d.%d", o.stage, o.code, o.enh[0], o.enh[1], o.enh[2])
}

func (c polCase) from() string {
	return map[string]string{"own": polOwn, "other": polOther, "remote": polRemote, "null": ""}[c.sender]
}

// inputs builds what the session would hand the policy.
func (c polCase) inputs() (Identity, Recipient) {
	id := Identity{IP: "192.0.2.7"}
	switch c.cred {
	case "user", "user-nosmtp":
		id.Cred = &store.Credential{Kind: store.CredUser, Name: polOwn, Domain: "example.org", SMTP: c.cred == "user"}
		id.CredSenders = []string{polOwn, polAlias}
	case "domain":
		id.Cred = &store.Credential{Kind: store.CredDomain, Name: "example.org", Domain: "example.org", SMTP: true}
	}
	// The session looks grants up only for a non-null sender without AUTH
	// (session.identity); the policy sees them only then.
	switch grant := c.grant; {
	case id.Cred != nil || c.from() == "":
	case grant == "match":
		id.Granted, id.GrantSenders = []string{polOwn}, []string{polOwn, polAlias}
	case grant == "nomatch":
		id.Granted, id.GrantSenders = []string{polDave}, []string{polDave}
	case grant == "nosmtp":
		// No grant: alice has no SMTP authority, and logs in from IP
		// (session.identity asks the store only then).
		id.SendingDisabled = c.from() == polOwn
	}
	r := map[string]Recipient{
		"known":   {Addr: polOther, LocalDomain: true, Known: true},
		"unknown": {Addr: "nobody@example.org", LocalDomain: true},
		"remote":  {Addr: "erin@remote.test", LocalDomain: false},
	}[c.rcpt]
	return id, r
}

// rulesSay restates docs/ARCHITECTURE.md ("smtpd decides, at RCPT TO",
// rules 1 to 4; rule 5 is ParseAddress's, checked in fuzz_test.go) for
// one case, without calling the policy. It reads the rules literally:
//   - rules 2 and 3: relaying, and any mail on a submission port, needs a
//     credential with SMTP authority or a grant, else 554 5.7.1 (MX) or
//     530 5.7.0 at MAIL (submission);
//   - rule 4: under strict checking a client that has either must send as
//     an address the credential may use or one of the grant users', else
//     553 5.7.1 at MAIL; the null sender is accepted on MX only;
//   - rule 1: a local recipient is accepted if known, else 550 5.1.1.
func rulesSay(c polCase) polOutcome {
	mail := func(code int, enh smtp.EnhancedCode) polOutcome { return polOutcome{"MAIL", code, enh} }
	rcpt := func(code int, enh smtp.EnhancedCode) polOutcome { return polOutcome{"RCPT", code, enh} }
	from := c.from()
	authOK := c.cred == "user" || c.cred == "domain"
	granted := c.grant == "match" || c.grant == "nomatch"
	permitted := authOK || granted
	if from == "" {
		if c.role == RoleSubmission {
			return mail(553, smtp.EnhancedCode{5, 7, 1})
		}
	} else {
		if c.role == RoleSubmission && !permitted {
			return mail(530, smtp.EnhancedCode{5, 7, 0})
		}
		if c.strict && permitted {
			credMay := false
			switch c.cred {
			case "user":
				credMay = from == polOwn || from == polAlias
			case "domain":
				credMay = strings.HasSuffix(from, "@example.org")
			}
			grantMay := c.grant == "match" && (from == polOwn || from == polAlias)
			if !credMay && !grantMay {
				return mail(553, smtp.EnhancedCode{5, 7, 1})
			}
		}
	}
	switch c.rcpt {
	case "known":
		return polOutcome{}
	case "unknown":
		return rcpt(550, smtp.EnhancedCode{5, 1, 1})
	}
	if c.role == RoleSubmission && !permitted {
		return mail(530, smtp.EnhancedCode{5, 7, 0})
	}
	if !permitted {
		return rcpt(554, smtp.EnhancedCode{5, 7, 1})
	}
	return polOutcome{}
}

// codeSays runs DecideMail and DecideRcpt on the case. It also returns the
// refusal's text ("" when accepted).
func codeSays(c polCase) (polOutcome, string) {
	id, r := c.inputs()
	m, serr := DecideMail(c.role, c.strict, id, c.from())
	if serr != nil {
		return polOutcome{"MAIL", serr.Code, serr.EnhancedCode}, serr.Message
	}
	if _, serr := DecideRcpt(c.role, m, r); serr != nil {
		return polOutcome{"RCPT", serr.Code, serr.EnhancedCode}, serr.Message
	}
	return polOutcome{}, ""
}

// sendingDisabled reports whether a refusal must say that sending is
// disabled for the account: the sender's account (a credential, or a user
// logging in from the client's address) has no SMTP authority, and the
// client is refused for want of authority (530 5.7.0, or 554 5.7.1 at a
// remote recipient). Telling her to log in first, which she did, would be
// wrong; telling anyone else that sending is disabled would be too.
func sendingDisabled(c polCase, o polOutcome) bool {
	noAuthority := (o.code == 530 && o.enh == smtp.EnhancedCode{5, 7, 0}) ||
		(o.code == 554 && o.enh == smtp.EnhancedCode{5, 7, 1})
	if c.from() == "" || !noAuthority {
		return false
	}
	return c.cred == "user-nosmtp" || (c.cred == "none" && c.grant == "nosmtp" && c.sender == "own")
}

func polCases() []polCase {
	var out []polCase
	for _, cred := range []string{"none", "user", "user-nosmtp", "domain"} {
		for _, grant := range []string{"none", "match", "nomatch", "nosmtp"} {
			for _, role := range []Role{RoleMX, RoleSubmission} {
				for _, strict := range []bool{true, false} {
					for _, sender := range []string{"own", "other", "remote", "null"} {
						for _, rcpt := range []string{"known", "unknown", "remote"} {
							out = append(out, polCase{cred, grant, role, strict, sender, rcpt})
						}
					}
				}
			}
		}
	}
	return out
}

// deliberate returns the outcome, and why, where DecideMail and DecideRcpt
// knowingly depart from the literal rules (each departure is explained in
// policy.go); ok is false where the rules hold as written.
func deliberate(c polCase) (o polOutcome, why string, ok bool) {
	from := c.from()
	switch {
	case c.cred == "user-nosmtp" && from != "":
		// Unreachable through AUTH, which refuses such a credential
		// with 535 5.7.8; a session whose credential lost SMTP
		// authority is answered the same way (ErrSendingDisabled).
		return polOutcome{"MAIL", 530, smtp.EnhancedCode{5, 7, 0}},
			"a credential without SMTP authority is refused at MAIL on every port", true
	case from == "" && c.role == RoleMX && c.rcpt == "remote":
		return polOutcome{"RCPT", 554, smtp.EnhancedCode{5, 7, 1}},
			"bounces (null sender) are delivered locally, never relayed", true
	case c.role == RoleMX && c.strict && c.cred == "none" && from != "" &&
		(c.grant == "nomatch" || (c.grant == "match" && from != polOwn)):
		// Rule 1 wins over rule 4 on the MX port: only relaying
		// needs the sender to match a grant user.
		switch c.rcpt {
		case "known":
			return polOutcome{}, "MX: local mail from a granted address needs no sender match", true
		case "unknown":
			return polOutcome{"RCPT", 550, smtp.EnhancedCode{5, 1, 1}},
				"MX: local mail from a granted address needs no sender match", true
		}
		return polOutcome{"RCPT", 553, smtp.EnhancedCode{5, 7, 1}},
			"MX: a sender matching no grant user is refused at the remote RCPT, not at MAIL", true
	}
	return polOutcome{}, "", false
}

// TestPolicyTable checks DecideMail and DecideRcpt against the written rules
// (rulesSay) for every combination of credential, grant, port, sender
// check, sender and recipient, and that the code departs from them only
// where deliberate says so; and that a refusal says sending is disabled
// exactly where sendingDisabled says it must. It logs how many
// combinations depart, and why.
func TestPolicyTable(t *testing.T) {
	cases := polCases()
	departures := map[string]int{}
	for _, c := range cases {
		got, text := codeSays(c)
		disabled := strings.Contains(text, "ending is disabled for this account")
		if want := sendingDisabled(c, got); disabled != want || (want && strings.Contains(text, "POP3/IMAP")) {
			t.Errorf("%v: refused with %q, want it to say sending is disabled: %v", c, text, want)
		}
		want, why, ok := deliberate(c)
		if !ok {
			want, why = rulesSay(c), "rules as written"
		} else if want != rulesSay(c) {
			departures[why]++
		}
		if got != want {
			t.Errorf("%v: code says %v, want %v (%s)", c, got, want, why)
		}
	}
	if len(cases) != 4*4*2*2*4*3 {
		t.Fatalf("%d combinations", len(cases))
	}
	for why, n := range departures {
		t.Logf("%d combinations depart from the rules as written: %s", n, why)
	}
}

// TestPolicyRules checks the rule DecideMail and DecideRcpt name for every
// refusal of the table (what "mailctl relay check" prints), against the
// rule of docs/ARCHITECTURE.md that gives that reply.
func TestPolicyRules(t *testing.T) {
	for _, c := range polCases() {
		id, r := c.inputs()
		m, serr := DecideMail(c.role, c.strict, id, c.from())
		stage, rule := "MAIL", m.Rule
		if serr == nil {
			stage = "RCPT"
			rule, serr = DecideRcpt(c.role, m, r)
		}
		if serr == nil {
			continue
		}
		var want Rule
		switch {
		case serr.Code == 550:
			want = Rule1 // unknown local user
		case serr.Code == 554, sendingDisabled(c, polOutcome{stage, serr.Code, serr.EnhancedCode}):
			want = Rule2 // relaying without permission; no SMTP authority
		case serr.Code == 530:
			want = Rule3 // submission without AUTH or grant
		case serr.Code == 553:
			want = Rule4 // the sender check, the null sender included
		}
		if rule != want {
			t.Errorf("%v: %s %d named %v, want %v", c, stage, serr.Code, rule, want)
		}
	}
}

// TestDecideSendLimit: each limit refuses the recipient that would go
// past it and not the one before; the message counts at its first remote
// recipient only, a known address never counts as new, 0 is unlimited.
func TestDecideSendLimit(t *testing.T) {
	l := store.SendLimits{MessagesPerHour: 10, RecipientsPerDay: 20, NewRecipientsPerDay: 5}
	cases := []struct {
		name           string
		l              store.SendLimits
		u              store.SendUsage
		relayed, fresh int
		isNew          bool
		want           string // "" accepts
	}{
		{"ninth message", l, store.SendUsage{Messages: 9}, 0, 0, false, ""},
		{"eleventh message", l, store.SendUsage{Messages: 10}, 0, 0, false, "10 messages per hour"},
		{"second rcpt of the tenth message", l, store.SendUsage{Messages: 10}, 1, 0, false, ""},
		{"twentieth rcpt", l, store.SendUsage{Recipients: 18}, 1, 0, false, ""},
		{"twenty-first rcpt", l, store.SendUsage{Recipients: 18}, 2, 0, false, "20 recipients per day"},
		{"fifth new", l, store.SendUsage{NewRecipients: 3}, 1, 1, true, ""},
		{"sixth new", l, store.SendUsage{NewRecipients: 4}, 1, 1, true, "5 new recipients per day"},
		{"known past the new limit", l, store.SendUsage{NewRecipients: 9}, 1, 1, false, ""},
		{"unlimited", store.SendLimits{}, store.SendUsage{Messages: 1e6, Recipients: 1e6, NewRecipients: 1e6}, 0, 0, true, ""},
	}
	for _, tc := range cases {
		got := DecideSendLimit(tc.l, tc.u, tc.relayed, tc.fresh, tc.isNew)
		switch {
		case tc.want == "" && got != nil:
			t.Errorf("%s: refused (%s)", tc.name, got)
		case tc.want != "" && (got == nil || got.String() != tc.want):
			t.Errorf("%s: got %v, want %s", tc.name, got, tc.want)
		}
	}
}
