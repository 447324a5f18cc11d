package policy

import "strconv"

// Rule names what decided a reply: one of the numbered rules of
// docs/ARCHITECTURE.md ("smtpd decides, at RCPT TO"), the quota, AUTH, or
// the sending limits.
type Rule int

const (
	_ Rule = iota
	// Rule1: a local recipient is accepted if a user or alias exists.
	Rule1
	// Rule2: relaying needs AUTH or a grant, of a user with SMTP authority.
	Rule2
	// Rule3: on the submission ports every message needs AUTH or a grant.
	Rule3
	// Rule4: the sender check.
	Rule4
	// Rule5: addresses that smuggle a route (or do not parse) are refused.
	Rule5
	// RuleQuota: a local recipient over quota (452 4.2.2).
	RuleQuota
	// RuleAuth: the AUTH exchange itself (wrong or unknown login).
	RuleAuth
	// RuleLimit: a remote recipient past the account's sending limits
	// (450 4.7.1).
	RuleLimit
)

// String is "rule N", "quota", "auth" or "limits".
func (r Rule) String() string {
	switch r {
	case RuleQuota:
		return "quota"
	case RuleAuth:
		return "auth"
	case RuleLimit:
		return "limits"
	case 0:
		return "none"
	}
	return "rule " + strconv.Itoa(int(r))
}

// MarshalText makes a Rule its String in JSON.
func (r Rule) MarshalText() ([]byte, error) { return []byte(r.String()), nil }
