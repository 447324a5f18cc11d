package main

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"blitiri.com.ar/go/spf"
	"github.com/emersion/go-msgauth/authres"
	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-msgauth/dmarc"

	"mailsuite/shared/resolve"
)

// This file holds the inbound checks of mail arriving on the MX port:
// SPF (RFC 7208) of the HELO name and the MAIL FROM domain, the DKIM
// signatures (RFC 6376) and the DMARC policy of the From domains (RFC
// 7489, see dmarc.go), recorded in one Authentication-Results field (RFC
// 8601).
//
// Everything is evaluated at the end of data, SPF included: mail refused
// earlier (an unknown recipient, a bad address) costs no lookup, and the
// four parts run at once, so a message waits for the slowest lookup, not
// for their sum. Every lookup goes through the one resolver
// (dns.resolver) and the whole check ends after checkTimeout; what DNS did
// not answer in time is a temperror, which is recorded and never refuses
// or quarantines a message.

// checkTimeout bounds the inbound checks of one message; the client
// waits up to ten minutes for the reply to its data (RFC 5321 §4.5.3.2.6).
const checkTimeout = 30 * time.Second

// maxSignatures is the most DKIM signatures verified in one message; the
// rest are ignored, so a message cannot make smtpd fetch keys without end.
const maxSignatures = 5

// authChecker evaluates SPF, DKIM and DMARC through one resolver.
type authChecker struct {
	res     *txtResolver
	timeout time.Duration
}

func newAuthChecker(r *resolve.Resolver) *authChecker {
	return &authChecker{res: newTXTResolver(r), timeout: checkTimeout}
}

// authInput is what the checks of one message read.
type authInput struct {
	ip     net.IP
	helo   string // as the client gave it
	from   string // MAIL FROM, canonical; "" for the null sender
	header []byte // the message's header section
	msg    io.Reader
}

// authVerdict is what the checks of one message found.
type authVerdict struct {
	results []authres.Result
	// policy is the DMARC policy the message failed (reject or
	// quarantine, pct applied), to apply under smtpd.dmarc = "enforce";
	// "" when it passed, had no policy, or a lookup failed.
	policy dmarc.Policy
	domain string // the From domain whose policy it is
}

// summary is the verdict in a few words for the log.
func (v authVerdict) summary() string {
	var parts []string
	for _, r := range v.results {
		word, _, _ := strings.Cut(strings.TrimPrefix(authres.Format("", []authres.Result{r}), "; "), " ")
		parts = append(parts, word)
	}
	return strings.Join(parts, " ")
}

// check runs the checks of one message at once and waits for all of them.
func (c *authChecker) check(in authInput) authVerdict {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	var (
		wg           sync.WaitGroup
		helo, mail   spf.Result
		heloErr      error
		mailErr      error
		verifs       []*dkim.Verification
		dkimErr      error
		fromDomains  = fromDomains(in.header)
		policies     = make([]dmarcPolicy, len(fromDomains))
		heloIsDomain = isDomainName(in.helo)
	)
	if heloIsDomain {
		wg.Go(func() { helo, heloErr = c.spf(ctx, in.ip, in.helo, "postmaster@"+in.helo) })
	}
	if in.from != "" {
		wg.Go(func() { mail, mailErr = c.spf(ctx, in.ip, in.helo, in.from) })
	}
	if hasField(in.header, "DKIM-Signature") {
		wg.Go(func() {
			verifs, dkimErr = dkim.VerifyWithOptions(in.msg, &dkim.VerifyOptions{
				LookupTXT:        func(name string) ([]string, error) { return c.res.LookupTXT(ctx, name) },
				MaxVerifications: maxSignatures,
			})
		})
	}
	for i, d := range fromDomains {
		wg.Go(func() { policies[i] = c.lookupDMARC(ctx, d) })
	}
	wg.Wait()

	// RFC 7208 §2.4: for the null sender, the MAIL FROM identity is
	// postmaster@ the HELO name, whose result is the HELO check's.
	spfDomain, mailFrom := domainOf(in.from), in.from
	if in.from == "" {
		spfDomain, mailFrom, mail, mailErr = in.helo, "postmaster@"+in.helo, helo, heloErr
		if !heloIsDomain {
			mail, spfDomain = spf.None, ""
		}
	}
	var v authVerdict
	v.results = append(v.results, spfResult(mail, mailErr, &authres.SPFResult{From: headerValue(mailFrom)}))
	if heloIsDomain {
		v.results = append(v.results, spfResult(helo, heloErr, &authres.SPFResult{Helo: headerValue(in.helo)}))
	}
	v.results = append(v.results, dkimResults(verifs, dkimErr)...)
	aligned := alignment{spf: mail, spfDomain: spfDomain, dkim: verifs}
	v.addDMARC(fromDomains, policies, aligned)
	return v
}

// spf checks one identity, within ctx and the RFC's lookup limits (10
// lookups, 2 void ones: the library's defaults).
func (c *authChecker) spf(ctx context.Context, ip net.IP, helo, sender string) (spf.Result, error) {
	return spf.CheckHostWithSender(ip, helo, sender, spf.WithContext(ctx), spf.WithResolver(c.res))
}

// spfResult completes res, which names the identity checked, with the
// result and, for an error, its reason.
func spfResult(r spf.Result, err error, res *authres.SPFResult) authres.Result {
	if r == "" {
		r = spf.None
	}
	res.Value = authres.ResultValue(r)
	if (r == spf.TempError || r == spf.PermError) && err != nil {
		res.Reason = headerValue(err.Error())
	}
	return res
}

// dkimResults records one result per signature verified, or none.
func dkimResults(verifs []*dkim.Verification, err error) []authres.Result {
	if err != nil && len(verifs) == 0 {
		return []authres.Result{&authres.DKIMResult{Value: authres.ResultPermError, Reason: headerValue(err.Error())}}
	}
	if len(verifs) == 0 {
		return []authres.Result{&authres.DKIMResult{Value: authres.ResultNone}}
	}
	var out []authres.Result
	for _, v := range verifs {
		r := &authres.DKIMResult{Value: dkimValue(v.Err), Domain: headerValue(v.Domain)}
		if v.Err != nil {
			r.Reason = headerValue(v.Err.Error())
		}
		out = append(out, r)
	}
	return out
}

func dkimValue(err error) authres.ResultValue {
	switch {
	case err == nil:
		return authres.ResultPass
	case dkim.IsTempFail(err):
		return authres.ResultTempError
	case dkim.IsPermFail(err):
		return authres.ResultPermError
	}
	return authres.ResultFail
}

// formatAuthResults builds the Authentication-Results field naming host,
// one result to a folded line.
func formatAuthResults(host string, results []authres.Result) []byte {
	var b strings.Builder
	b.WriteString("Authentication-Results: ")
	b.WriteString(host)
	for _, r := range results {
		b.WriteString(";\r\n\t")
		b.WriteString(strings.TrimSpace(strings.TrimPrefix(authres.Format("", []authres.Result{r}), "; ")))
	}
	b.WriteString("\r\n")
	return []byte(b.String())
}

// headerValue makes text from the client or from DNS safe in a header
// parameter: printable ASCII, bounded, and nothing that could end the
// quoted string authres writes around it.
func headerValue(s string) string {
	return strings.NewReplacer(`\`, "/", `"`, "'").Replace(printable(s, 200))
}

// isDomainName reports whether a HELO name can have an SPF record: a
// dotted name, not an address literal.
func isDomainName(s string) bool {
	return strings.Contains(s, ".") && !strings.HasPrefix(s, "[") && net.ParseIP(s) == nil && len(s) <= 253
}

// domainOf returns the domain of an address, "" when it has none.
func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[i+1:]
	}
	return ""
}
