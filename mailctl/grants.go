package main

import (
	"context"
	"time"

	"mailsuite/store"
)

// grantRow is one line of "grants list".
type grantRow struct {
	IP      string `json:"ip"`
	User    string `json:"user"`
	Expires string `json:"expires"` // RFC 3339, UTC
}

func (r grantRow) fields() []string { return []string{r.IP, r.User, r.Expires} }

// grantsList prints every live relay grant as "IP\tUSER\tEXPIRES", the
// expiry in RFC 3339 UTC.
func grantsList(ctx context.Context, e *env, args []string) error {
	grants, err := e.st.Grants(ctx)
	if err != nil {
		return err
	}
	rows := make([]grantRow, len(grants))
	for i, g := range grants {
		rows[i] = grantRow{g.IP, g.User.Address, g.Expires.UTC().Format(time.RFC3339)}
	}
	return writeList(e, rows)
}

// grantsRevoke deletes every grant of an IP (say, a client found abusing
// a user's grant). Like every command that changes something it prints
// nothing on success, revoking no grant included: afterwards the IP holds
// none, which is what the operator asked for.
func grantsRevoke(ctx context.Context, e *env, args []string) error {
	ip, err := store.CanonIP(args[0])
	if err != nil {
		return err
	}
	_, err = e.st.RevokeGrants(ctx, ip)
	return err
}
