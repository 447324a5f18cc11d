package main

import (
	"context"
	"errors"
	"fmt"

	"mailsuite/shared/auth"
	"mailsuite/store"
)

// domainAdd adds a local domain, stored in canonical form (punycode).
func domainAdd(ctx context.Context, e *env, args []string) error {
	d, err := store.CanonDomain(args[0])
	if err != nil {
		return err
	}
	err = e.st.AddDomain(ctx, d)
	if errors.Is(err, store.ErrExists) {
		return fmt.Errorf("domain %s already exists", d)
	}
	return err
}

// domainRm removes a domain; the store refuses while users or aliases
// remain, so removing a domain never deletes mail by surprise.
func domainRm(ctx context.Context, e *env, args []string) error {
	d, err := store.CanonDomain(args[0])
	if err != nil {
		return err
	}
	err = e.st.RemoveDomain(ctx, d)
	switch {
	case errors.Is(err, store.ErrDomainInUse):
		return fmt.Errorf("domain %s still has users or aliases: remove them first", d)
	case errors.Is(err, store.ErrNotFound):
		return unknownDomain(d)
	}
	return err
}

// domainRow is one line of "domain list".
type domainRow struct {
	Domain       string `json:"domain"`
	SMTPPassword bool   `json:"smtp_password"` // the domain-level credential is set
}

func (r domainRow) fields() []string {
	return []string{r.Domain, "smtp-password=" + onOff(r.SMTPPassword)}
}

// domainList prints "DOMAIN\tsmtp-password=on|off", for every domain or
// for the one named.
func domainList(ctx context.Context, e *env, args []string) error {
	want := ""
	if len(args) == 1 {
		d, err := store.CanonDomain(args[0])
		if err != nil {
			return err
		}
		want = d
	}
	domains, err := e.st.Domains(ctx)
	if err != nil {
		return err
	}
	var rows []domainRow
	for _, d := range domains {
		if want == "" || d.Name == want {
			rows = append(rows, domainRow{d.Name, d.HasSMTPCred})
		}
	}
	if want != "" && len(rows) == 0 {
		return unknownDomain(want)
	}
	return writeList(e, rows)
}

// domainSMTPPassword sets or disables the domain-level credential: login
// name = the domain, valid for SMTP AUTH only.
func domainSMTPPassword(ctx context.Context, e *env, args []string) error {
	if e.inv.disable && e.inv.passwordStdin {
		return usagef("domain smtp-password: give either --password-stdin or --disable, not both")
	}
	d, err := store.CanonDomain(args[0])
	if err != nil {
		return err
	}
	if err := requireDomain(ctx, e.st, d); err != nil {
		return err
	}
	hash := ""
	if !e.inv.disable {
		if hash, err = readHash(e, d, "SMTP password for domain "+d+": "); err != nil {
			return err
		}
	}
	err = e.st.SetDomainCredential(ctx, d, hash)
	if errors.Is(err, store.ErrNotFound) {
		return unknownDomain(d)
	}
	return err
}

// requireDomain fails unless d (canonical) is a local domain. Commands
// check it before prompting for a password that would be thrown away.
func requireDomain(ctx context.Context, st *store.Store, d string) error {
	ok, err := st.IsLocalDomain(ctx, d)
	if err != nil {
		return err
	}
	if !ok {
		return unknownDomain(d)
	}
	return nil
}

func unknownDomain(d string) error {
	return fmt.Errorf("unknown domain %s (add it with: mailctl domain add %s)", d, d)
}

// readHash reads a new password for login (stdin or terminal prompt,
// never argv), checks it against the password rules and returns its hash.
func readHash(e *env, login, prompt string) (string, error) {
	pw, err := readPassword(e.stdin, e.inv.passwordStdin, prompt)
	if err != nil {
		return "", err
	}
	if err := auth.CheckNewPassword(pw, login, e.cfg.Auth.MinPasswordLength); err != nil {
		return "", err
	}
	return auth.HashPassword(pw)
}
