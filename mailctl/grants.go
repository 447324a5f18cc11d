package main

import (
	"context"
	"strconv"
	"time"

	"mailsuite/store"
)

// grantsList prints every live relay grant as "IP\tUSER\tEXPIRES", the
// expiry in RFC 3339 UTC.
func grantsList(ctx context.Context, e *env, args []string) error {
	grants, err := e.st.Grants(ctx)
	if err != nil {
		return err
	}
	for _, g := range grants {
		if err := record(e.stdout, g.IP, g.User.Address, g.Expires.UTC().Format(time.RFC3339)); err != nil {
			return err
		}
	}
	return nil
}

// grantsRevoke deletes every grant of an IP (say, a client found abusing
// a user's grant) and prints "IP\trevoked=N", N counting live grants.
func grantsRevoke(ctx context.Context, e *env, args []string) error {
	ip, err := store.CanonIP(args[0])
	if err != nil {
		return err
	}
	n, err := e.st.RevokeGrants(ctx, ip)
	if err != nil {
		return err
	}
	return record(e.stdout, ip, "revoked="+strconv.Itoa(n))
}
