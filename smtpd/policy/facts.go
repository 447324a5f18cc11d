package policy

import (
	"context"
	"slices"
	"strings"
	"time"

	"mailsuite/store"
)

// This file gathers from the store the facts the rules decide on. smtpd's
// sessions and "mailctl relay check" both call these, so the two read the
// store the same way.

// CredSenders returns the addresses a credential may send as besides its
// own name: for a user credential the aliases that deliver to it; none
// for a domain credential, which may use its whole domain.
func CredSenders(ctx context.Context, st *store.Store, cred store.Credential) ([]string, error) {
	if cred.Kind != store.CredUser {
		return nil, nil
	}
	return st.AliasesOf(ctx, cred.Name)
}

// GatherIdentity gathers what DecideMail needs for a canonical sender
// from ("" for <>): the credential's sender addresses and the grants of
// the peer IP held by users with SMTP authority. DecideMail reads grants
// only for a non-null sender without AUTH, and the grant users' aliases
// only under strict sender checking when the sender is none of their own
// addresses, so only then are they looked up. Without a grant, whether
// the sender is a user without SMTP authority who logged in from the
// peer IP since known decides the wording of the refusal.
func GatherIdentity(ctx context.Context, st *store.Store, ip string, cred *store.Credential, credSenders []string,
	from string, strict bool, known time.Time) (Identity, error) {
	id := Identity{Cred: cred, CredSenders: credSenders, IP: ip}
	if cred != nil || from == "" {
		return id, nil
	}
	grants, err := st.LiveGrants(ctx, ip)
	if err != nil {
		return id, err
	}
	for _, g := range grants {
		if g.User.SMTP {
			id.Granted = append(id.Granted, g.User.Address)
		}
	}
	if len(id.Granted) == 0 {
		id.SendingDisabled, err = st.SendingDisabledOn(ctx, ip, from, known)
		return id, err
	}
	id.GrantSenders = id.Granted
	if !strict || contains(id.Granted, from) {
		return id, nil
	}
	id.GrantSenders = slices.Clone(id.Granted)
	for _, addr := range id.Granted {
		aliases, err := st.AliasesOf(ctx, addr)
		if err != nil {
			return id, err
		}
		id.GrantSenders = append(id.GrantSenders, aliases...)
	}
	return id, nil
}

// RcptRoute is what smtpd routes for a RCPT TO path: "postmaster"
// without a domain as it is (RFC 5321 §4.5.1: this server's postmaster,
// which store.Route knows), any other address as ParseAddress accepts it
// (rule 5).
func RcptRoute(to string) (string, error) {
	if strings.EqualFold(to, "postmaster") {
		return to, nil
	}
	a, err := ParseAddress(to)
	if err != nil {
		return "", err
	}
	return a.Route, nil
}

// LookupRcpt routes a recipient (store.Route) and returns what DecideRcpt
// needs, with where the mail goes.
func LookupRcpt(ctx context.Context, st *store.Store, route, hostname string) (Recipient, store.Resolution, error) {
	res, err := st.Route(ctx, route, hostname)
	if err != nil {
		return Recipient{}, res, err
	}
	return Recipient{Addr: res.Addr, LocalDomain: res.Local, Known: !res.Empty()}, res, nil
}

// Quotas reads the usage and limits of local users: one row each.
func Quotas(ctx context.Context, st *store.Store, ids []int64) ([]store.Quota, error) {
	out := make([]store.Quota, 0, len(ids))
	for _, id := range ids {
		q, err := st.UserQuota(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, q)
	}
	return out, nil
}
