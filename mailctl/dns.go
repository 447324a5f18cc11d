package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"

	"mailsuite/shared/dkimkey"
	"mailsuite/shared/mtasts"
	"mailsuite/shared/resolve"
	"mailsuite/shared/tlsconf"
	"mailsuite/store"
)

// wanted is one DNS record a domain served by this host should have.
type wanted struct {
	name, typ string // FQDN with its dot; MX, A, AAAA, TXT, CNAME, PTR
	// value is the record's data as a zone file writes it (a TXT value
	// unquoted); "" when any data will do (the addresses of hostname,
	// which mailctl cannot know).
	value string
	// note is a comment printed above the record by "dns records".
	note string
	// addr is the address a PTR record is for.
	addr string
	// anyAddress: value is a suggestion; any address at name will do
	// (the MTA-STS web server may be reached another way).
	anyAddress bool
	// verify, when set, checks the record instead of a DNS lookup (the
	// MTA-STS policy file, fetched over HTTPS).
	verify func(ctx context.Context) (status, detail string)
	// match picks, from what DNS holds at name, the records that are
	// this kind of record (for TXT, the ones with the same v= tag), and
	// says whether one of them is the one wanted.
	match func(found []string) (same []string, ok bool)
}

// policyTimeout bounds the fetch of an MTA-STS policy file.
const policyTimeout = 20 * time.Second

// mtaSTSMaxAge is the max_age of the MTA-STS policy printed: a week, as
// RFC 8461 §3.2 suggests for a policy that is not about to change.
const mtaSTSMaxAge = 604800

// dnsRecords prints, as a zone-file fragment, every record a domain needs
// for its mail to be delivered and trusted, with notes on the ones that
// are not in the domain's own zone (the PTR, the MTA-STS policy file).
func dnsRecords(ctx context.Context, e *env, args []string) error {
	ws, err := e.wantedRecords(ctx, args[0])
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, w := range ws {
		for _, n := range strings.Split(w.note, "\n") {
			if n != "" {
				b.WriteString("; " + n + "\n")
			}
		}
		if w.value != "" {
			fmt.Fprintf(&b, "%s %d IN %s %s\n", w.name, recordTTL, w.typ, zoneValue(w.typ, w.value))
		}
	}
	if _, err := fmt.Fprint(e.stdout, b.String()); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// dnsCheck looks up every wanted record through the configured resolver
// and prints one line per record: STATUS<TAB>NAME<TAB>TYPE<TAB>DETAIL,
// STATUS present, missing, different (a record of the kind is there with
// other data) or failed (the lookup did not answer). Anything missing or
// failed makes the command fail.
func dnsCheck(ctx context.Context, e *env, args []string) error {
	ws, err := e.wantedRecords(ctx, args[0])
	if err != nil {
		return err
	}
	r := resolve.New(e.cfg.DNS.Resolver)
	bad := 0
	for _, w := range ws {
		status, detail := w.check(ctx, r)
		if status == "missing" || status == "failed" {
			bad++
		}
		if err := record(e.stdout, status, w.name, w.typ, detail); err != nil {
			return err
		}
	}
	if bad > 0 {
		return fmt.Errorf("%d of %d records missing or not looked up", bad, len(ws))
	}
	return nil
}

// check looks the record up and compares.
func (w wanted) check(ctx context.Context, r *resolve.Resolver) (status, detail string) {
	if w.verify != nil {
		return w.verify(ctx)
	}
	found, err := w.lookup(ctx, r)
	if err != nil && !resolve.IsNotFound(err) {
		return "failed", oneLine(err.Error())
	}
	same, ok := w.match(found)
	switch {
	case ok && (w.value == "" || w.anyAddress):
		return "present", strings.Join(same, ", ")
	case ok:
		return "present", w.value
	case len(same) > 0:
		return "different", fmt.Sprintf("want %s, found %s", w.value, strings.Join(same, ", "))
	case w.value == "" || w.anyAddress:
		return "missing", "no address"
	}
	return "missing", "want " + w.value
}

// lookup returns the data DNS holds for the record's name and type, in
// zone-file form (TXT values joined and unquoted).
func (w wanted) lookup(ctx context.Context, r *resolve.Resolver) ([]string, error) {
	name, typ := w.name, w.typ
	switch typ {
	case "MX":
		mxs, err := r.LookupMX(ctx, name)
		var out []string
		for _, mx := range mxs {
			out = append(out, fmt.Sprintf("%d %s", mx.Pref, strings.ToLower(mx.Host)))
		}
		return out, err
	case "TXT":
		return r.LookupTXT(ctx, name)
	case "PTR":
		names, err := r.LookupAddr(ctx, w.addr)
		for i := range names {
			names[i] = strings.ToLower(names[i])
		}
		return names, err
	}
	// A, AAAA, and the CNAME of the MTA-STS host: what matters is that
	// the name has addresses.
	ips, err := r.LookupIPAddr(ctx, name)
	var out []string
	for _, ip := range ips {
		if (typ == "A") == (ip.IP.To4() != nil) || typ == "CNAME" {
			out = append(out, ip.IP.String())
		}
	}
	return out, err
}

// wantedRecords lists the records for domain served by this host
// (hostname): MX, the host's addresses and their PTR, SPF, every DKIM
// selector of the domain (inactive ones too: a key is published before
// it signs), DMARC and MTA-STS.
func (e *env) wantedRecords(ctx context.Context, arg string) ([]wanted, error) {
	d, err := store.CanonDomain(arg)
	if err != nil {
		return nil, err
	}
	if err := requireDomain(ctx, e.st, d); err != nil {
		return nil, err
	}
	keys, err := e.st.DKIMKeys(ctx, d)
	if err != nil {
		return nil, err
	}
	host := strings.ToLower(strings.TrimSuffix(e.cfg.Hostname, ".")) + "."
	zone := d + "."
	ws := []wanted{{
		name: zone, typ: "MX", value: "10 " + host,
		note:  "Mail for " + d + " goes to " + host,
		match: mxMatch(host),
	}}
	ws = append(ws, e.hostRecords(ctx, host)...)
	ws = append(ws, txtWanted(zone, "v=spf1 mx -all", "SPF (RFC 7208): only the hosts of the MX may send as "+d))
	for _, k := range keys {
		rec, err := dkimkey.Record(k.Algorithm, k.Private)
		if err != nil {
			return nil, fmt.Errorf("DKIM key %s of %s: %w", k.Selector, d, err)
		}
		state := "signing now"
		if !k.Active {
			state = "not signing yet (mailctl dkim use " + d + " " + k.Selector + ")"
		}
		ws = append(ws, txtWanted(dkimkey.Name(k.Selector, d), rec, "DKIM key "+k.Selector+" ("+k.Algorithm+"), "+state))
	}
	if len(keys) == 0 {
		ws[len(ws)-1].note += "\nno DKIM key yet: mailctl dkim keygen " + d
	}
	ws = append(ws, txtWanted("_dmarc."+zone, "v=DMARC1; p=quarantine; rua=mailto:postmaster@"+d,
		"DMARC (RFC 7489): receivers put mail failing SPF and DKIM for "+d+" in spam, and report to postmaster@"+d))
	policy := mtaSTSPolicy(host)
	sum := sha256.Sum256([]byte(policy))
	ws = append(ws,
		txtWanted("_mta-sts."+zone, "v=STSv1; id="+hex.EncodeToString(sum[:8]),
			"MTA-STS (RFC 8461): senders require TLS to "+host+"; the id changes with the policy"),
		wanted{name: "mta-sts." + zone, typ: "CNAME", value: host, anyAddress: true,
			note:  "The web server that serves the policy, with a certificate for mta-sts." + d,
			match: func(found []string) ([]string, bool) { return found, len(found) > 0 }},
		wanted{name: mtasts.URL(d), typ: "POLICY",
			note: "Not in DNS: the policy file, served at " + mtasts.URL(d) + " as text/plain:\n" +
				indent(policy) + "(switch mode to enforce, with a new id, once mail arrives over TLS without trouble)",
			verify: func(ctx context.Context) (string, string) { return e.checkPolicy(ctx, d, host) }},
	)
	return ws, nil
}

// checkPolicy fetches the domain's MTA-STS policy as a sender would
// (addresses from dns.resolver, a certificate valid under tls.ca_file or
// the system's roots) and checks that it names host.
func (e *env) checkPolicy(ctx context.Context, domain, host string) (status, detail string) {
	roots, err := tlsconf.LoadRoots(e.cfg.TLS.CAFile)
	if err != nil {
		return "failed", err.Error()
	}
	f := mtasts.NewFetcher(resolve.New(e.cfg.DNS.Resolver), &net.Dialer{}, roots, policyTimeout)
	p, err := f.Fetch(ctx, domain)
	if err != nil {
		return "missing", oneLine(err.Error())
	}
	got := fmt.Sprintf("mode %s, mx %s", p.Mode, strings.Join(p.MX, " "))
	if !p.Allows(host) {
		return "different", got + ": does not name " + strings.TrimSuffix(host, ".")
	}
	return "present", got
}

// hostRecords are hostname's addresses as DNS has them now, each with
// the PTR to ask the address's provider for; placeholders when hostname
// does not resolve yet.
func (e *env) hostRecords(ctx context.Context, host string) []wanted {
	anyAddr := func(found []string) ([]string, bool) { return found, len(found) > 0 }
	ips, _ := resolve.New(e.cfg.DNS.Resolver).LookupIPAddr(ctx, host)
	if len(ips) == 0 {
		return []wanted{{name: host, typ: "A", match: anyAddr,
			note: host + " has no address yet: publish its A (and AAAA) record, the server's public address,\n" +
				"and ask the address's provider for a PTR record naming " + host}}
	}
	var ws []wanted
	for _, ip := range ips {
		typ := "AAAA"
		if ip.IP.To4() != nil {
			typ = "A"
		}
		a := ip.IP.String()
		ws = append(ws, wanted{name: host, typ: typ, value: a, note: host + " is the host the MX names",
			match: func(found []string) ([]string, bool) { return found, slices.Contains(found, a) }})
		rev, err := dns.ReverseAddr(a)
		if err != nil {
			continue
		}
		ws = append(ws, wanted{name: rev, typ: "PTR", value: host, addr: a,
			note:  "Not in your zone: ask the provider of " + a + " for this PTR (many receivers refuse mail without it)",
			match: func(found []string) ([]string, bool) { return found, slices.Contains(found, host) }})
	}
	return ws
}

// txtWanted is a TXT record identified by the v= tag its value starts
// with: another record with the same tag is "different", not missing.
func txtWanted(name, value, note string) wanted {
	tag, _, _ := strings.Cut(value, ";")
	tag, _, _ = strings.Cut(tag, " ")
	return wanted{name: name, typ: "TXT", value: value, note: note,
		match: func(found []string) ([]string, bool) {
			var same []string
			ok := false
			for _, f := range found {
				ftag, _, _ := strings.Cut(f, ";")
				ftag, _, _ = strings.Cut(ftag, " ")
				if strings.EqualFold(strings.TrimSpace(ftag), tag) {
					same = append(same, f)
					ok = ok || squeeze(f) == squeeze(value)
				}
			}
			return same, ok
		}}
}

// squeeze drops the white space a TXT value may carry between tags.
func squeeze(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(s), ""))
}

func mxMatch(host string) func([]string) ([]string, bool) {
	return func(found []string) ([]string, bool) {
		for _, f := range found {
			if strings.HasSuffix(f, " "+host) {
				return found, true
			}
		}
		return found, false
	}
}

// mtaSTSPolicy is the policy file (RFC 8461 §3.2) naming host as the MX.
func mtaSTSPolicy(host string) string {
	return fmt.Sprintf("version: STSv1\nmode: testing\nmx: %s\nmax_age: %d\n", strings.TrimSuffix(host, "."), mtaSTSMaxAge)
}

func indent(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		b.WriteString("    " + l + "\n")
	}
	return b.String()
}

// zoneValue writes a record's data for a zone file.
func zoneValue(typ, value string) string {
	if typ == "TXT" {
		return dkimkey.Quoted(value)
	}
	return value
}
