package main

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/mail"
	"regexp"
	"strings"

	"blitiri.com.ar/go/spf"
	"github.com/emersion/go-msgauth/authres"
	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-msgauth/dmarc"
	"golang.org/x/net/publicsuffix"
)

// This file applies DMARC (RFC 7489) to the domains of a message's From
// field, given its SPF and DKIM results (see authcheck.go).

// maxFromDomains bounds the From domains whose policies are looked up;
// a From field naming more is a permerror (and never enforced).
const maxFromDomains = 5

// dmarcPolicy is the DMARC record that applies to one From domain.
type dmarcPolicy struct {
	domain string
	rec    *dmarc.Record // nil: none published (err nil) or lookup failed
	// sub: the record is the organizational domain's (RFC 7489 §6.6.3),
	// whose sp= then applies.
	sub bool
	err error
}

// lookupDMARC finds the record for domain: its own, else its
// organizational domain's.
func (c *authChecker) lookupDMARC(ctx context.Context, domain string) dmarcPolicy {
	opts := &dmarc.LookupOptions{LookupTXT: func(name string) ([]string, error) { return c.res.LookupTXT(ctx, name) }}
	rec, err := dmarc.LookupWithOptions(domain, opts)
	if errors.Is(err, dmarc.ErrNoPolicy) {
		if org := orgDomain(domain); org != domain {
			rec, err = dmarc.LookupWithOptions(org, opts)
			return dmarcPolicy{domain: domain, rec: rec, sub: true, err: noPolicy(err)}
		}
	}
	return dmarcPolicy{domain: domain, rec: rec, err: noPolicy(err)}
}

// noPolicy turns "no record" into no error: the domain has no policy.
func noPolicy(err error) error {
	if errors.Is(err, dmarc.ErrNoPolicy) {
		return nil
	}
	return err
}

// alignment is what DMARC reads of the SPF and DKIM results.
type alignment struct {
	spf       spf.Result // of the MAIL FROM identity
	spfDomain string     // that identity's domain
	dkim      []*dkim.Verification
}

// addDMARC records one DMARC result per From domain and keeps the
// strictest policy a domain failed.
func (v *authVerdict) addDMARC(domains []string, policies []dmarcPolicy, a alignment) {
	if len(domains) == 0 {
		v.results = append(v.results, &authres.DMARCResult{Value: authres.ResultPermError,
			Reason: "no From domain, or too many"})
		return
	}
	for _, p := range policies {
		res, policy := evaluateDMARC(p, a)
		v.results = append(v.results, res)
		if policyRank(policy) > policyRank(v.policy) {
			v.policy, v.domain = policy, p.domain
		}
	}
}

// evaluateDMARC returns the result for one From domain and, when it
// failed, the policy to apply (pct= sampled: a message outside the
// sample gets the next milder policy, §6.6.4).
func evaluateDMARC(p dmarcPolicy, a alignment) (*authres.DMARCResult, dmarc.Policy) {
	res := &authres.DMARCResult{From: headerValue(p.domain)}
	switch {
	case p.err != nil && dmarc.IsTempFail(p.err):
		res.Value, res.Reason = authres.ResultTempError, headerValue(p.err.Error())
		return res, ""
	case p.err != nil:
		res.Value, res.Reason = authres.ResultPermError, headerValue(p.err.Error())
		return res, ""
	case p.rec == nil:
		res.Value = authres.ResultNone
		return res, ""
	}
	if a.spf == spf.Pass && aligned(a.spfDomain, p.domain, p.rec.SPFAlignment) {
		res.Value = authres.ResultPass
		return res, ""
	}
	temp := a.spf == spf.TempError
	for _, d := range a.dkim {
		if d.Err == nil && aligned(d.Domain, p.domain, p.rec.DKIMAlignment) {
			res.Value = authres.ResultPass
			return res, ""
		}
		temp = temp || dkim.IsTempFail(d.Err)
	}
	if temp {
		// Not authenticated only because a lookup failed: never acted on.
		res.Value, res.Reason = authres.ResultTempError, "SPF or DKIM lookup failed"
		return res, ""
	}
	policy := p.rec.Policy
	if p.sub && p.rec.SubdomainPolicy != "" {
		policy = p.rec.SubdomainPolicy
	}
	if pct := p.rec.Percent; pct != nil && *pct < 100 && rand.IntN(100) >= *pct {
		policy = milder(policy)
	}
	res.Value, res.Reason = authres.ResultFail, "p="+string(policy)
	return res, policy
}

// aligned reports whether an authenticated domain is aligned with the
// From domain: the same domain (strict, "s"), or the same organizational
// domain (relaxed, the default).
func aligned(id, from string, mode dmarc.AlignmentMode) bool {
	id = strings.ToLower(strings.TrimSuffix(id, "."))
	if id == "" {
		return false
	}
	if id == from {
		return true
	}
	return mode != dmarc.AlignmentStrict && orgDomain(id) == orgDomain(from)
}

// orgDomain is a domain's organizational domain: one label below its
// public suffix.
func orgDomain(d string) string {
	if org, err := publicsuffix.EffectiveTLDPlusOne(d); err == nil {
		return org
	}
	return d
}

func policyRank(p dmarc.Policy) int {
	switch p {
	case dmarc.PolicyReject:
		return 2
	case dmarc.PolicyQuarantine:
		return 1
	}
	return 0
}

func milder(p dmarc.Policy) dmarc.Policy {
	if p == dmarc.PolicyReject {
		return dmarc.PolicyQuarantine
	}
	return dmarc.PolicyNone
}

// looseDomain finds the domains of a From value net/mail cannot parse.
var looseDomain = regexp.MustCompile(`@([A-Za-z0-9][A-Za-z0-9.-]*)`)

// fromDomains returns the distinct domains, lowercased, of the addresses
// in every From field of a header section: a message with two From
// fields, or one listing two authors, answers for each of their domains.
// It returns nil when there is none or more than maxFromDomains. A value
// net/mail cannot parse is read loosely, every "@domain" in it: what a
// mail reader might show as the author is never left unchecked.
func fromDomains(h []byte) []string {
	var out []string
	for rest := h; len(rest) > 0; {
		var f []byte
		f, rest = nextField(rest)
		name, value, ok := fieldName(f)
		if !ok || !strings.EqualFold(name, "From") {
			continue
		}
		for _, d := range addressDomains(unfold(value)) {
			d = strings.ToLower(strings.TrimSuffix(d, "."))
			if d != "" && !contains(out, d) {
				out = append(out, d)
			}
		}
	}
	if len(out) > maxFromDomains {
		return nil
	}
	return out
}

func addressDomains(value string) []string {
	var out []string
	if list, err := mail.ParseAddressList(value); err == nil {
		for _, a := range list {
			out = append(out, domainOf(a.Address))
		}
		return out
	}
	for _, m := range looseDomain.FindAllStringSubmatch(value, -1) {
		out = append(out, m[1])
	}
	return out
}

// unfold joins a field value's folded lines.
func unfold(v []byte) string {
	return strings.TrimSpace(strings.NewReplacer("\r\n", "").Replace(string(v)))
}
