package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"mailsuite/shared/dkimkey"
	"mailsuite/store"
)

// recordTTL is the TTL printed with the records to publish: an hour,
// short enough that a rotation waits little for caches to forget.
const recordTTL = 3600

// selectorRe is a DKIM selector (RFC 6376 §3.1): DNS labels, written in
// lower case as domains are.
var selectorRe = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$`)

// dkimKeygen creates a key for a domain and prints its TXT record as a
// zone-file line. A domain's first key of an algorithm signs at once; a
// later one waits, so it can be published before "dkim use" (rotation
// without a gap: verifiers find the new selector before mail carries it).
func dkimKeygen(ctx context.Context, e *env, args []string) error {
	d, err := store.CanonDomain(args[0])
	if err != nil {
		return err
	}
	alg := e.inv.algorithm
	if alg != dkimkey.RSA && alg != dkimkey.Ed25519 {
		return usagef("dkim keygen: --algorithm %q: use rsa or ed25519", alg)
	}
	sel := strings.ToLower(e.inv.selector)
	if sel == "" {
		sel = alg + "-" + time.Now().UTC().Format("20060102")
	}
	if !selectorRe.MatchString(sel) {
		return usagef("dkim keygen: invalid selector %q: letters, digits, hyphens and dots", sel)
	}
	der, err := dkimkey.Generate(alg)
	if err != nil {
		return err
	}
	active, err := e.st.AddDKIMKey(ctx, store.DKIMKey{Domain: d, Selector: sel, Algorithm: alg, Private: der})
	switch {
	case errors.Is(err, store.ErrExists):
		return fmt.Errorf("domain %s already has a key with selector %s (choose another with --selector)", d, sel)
	case errors.Is(err, store.ErrNotFound):
		return unknownDomain(d)
	case err != nil:
		return err
	}
	note := fmt.Sprintf("; %s signs with this %s key now: publish the record", d, alg)
	if !active {
		note = fmt.Sprintf("; not signing yet: publish the record, wait for its TTL, then run: mailctl dkim use %s %s", d, sel)
	}
	rr, err := dkimRecord(sel, d, alg, der)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(e.stdout, "%s\n%s\n", note, rr); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// dkimRecord is the zone-file line publishing a key.
func dkimRecord(selector, domain, alg string, der []byte) (string, error) {
	txt, err := dkimkey.Record(alg, der)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s %d IN TXT %s", dkimkey.Name(selector, domain), recordTTL, dkimkey.Quoted(txt)), nil
}

// dkimRow is one line of "dkim list".
type dkimRow struct {
	Domain    string `json:"domain"`
	Selector  string `json:"selector"`
	Algorithm string `json:"algorithm"`
	Active    bool   `json:"active"`
	Created   string `json:"created"`
	// Record is the TXT value to publish at SELECTOR._domainkey.DOMAIN;
	// "" when the stored key is damaged. JSON only: it is long.
	Record string `json:"record"`
}

func (r dkimRow) fields() []string {
	state := "inactive"
	if r.Active {
		state = "active"
	}
	return []string{r.Domain, r.Selector, r.Algorithm, state, r.Created}
}

// dkimList prints the keys of every domain or of the one named.
func dkimList(ctx context.Context, e *env, args []string) error {
	d, err := domainOperand(ctx, e, args)
	if err != nil {
		return err
	}
	keys, err := e.st.DKIMKeys(ctx, d)
	if err != nil {
		return err
	}
	var rows []dkimRow
	for _, k := range keys {
		txt, _ := dkimkey.Record(k.Algorithm, k.Private)
		rows = append(rows, dkimRow{k.Domain, k.Selector, k.Algorithm, k.Active, k.Created.Format(time.RFC3339), txt})
	}
	return writeList(e, rows)
}

// dkimUse makes a key the one its domain signs with (for its algorithm).
func dkimUse(ctx context.Context, e *env, args []string) error {
	d, sel, err := dkimOperands(args)
	if err != nil {
		return err
	}
	return dkimNotFound(e.st.UseDKIMKey(ctx, d, sel), d, sel)
}

// dkimRm removes a key. The key a domain signs with is refused without
// --force: removing it leaves the domain's mail without that signature.
func dkimRm(ctx context.Context, e *env, args []string) error {
	d, sel, err := dkimOperands(args)
	if err != nil {
		return err
	}
	err = e.st.RemoveDKIMKey(ctx, d, sel, e.inv.force)
	if errors.Is(err, store.ErrDKIMKeyActive) {
		return fmt.Errorf("%s signs with key %s: make another one active first (mailctl dkim use), or remove it with --force", d, sel)
	}
	return dkimNotFound(err, d, sel)
}

func dkimOperands(args []string) (domain, selector string, err error) {
	domain, err = store.CanonDomain(args[0])
	return domain, strings.ToLower(args[1]), err
}

func dkimNotFound(err error, d, sel string) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("domain %s has no DKIM key with selector %s (see mailctl dkim list)", d, sel)
	}
	return err
}
