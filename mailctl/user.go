package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"mailsuite/store"
)

// userAdd creates a user with a password and the default mailboxes
// (INBOX, Sent, Drafts, Trash, Junk) in one transaction.
func userAdd(ctx context.Context, e *env, args []string) error {
	addr, err := store.CanonAddress(args[0])
	if err != nil {
		return err
	}
	_, d := store.SplitAddress(addr)
	if err := requireDomain(ctx, e.st, d); err != nil {
		return err
	}
	// Check before the prompt, so the operator is not asked for a password
	// that cannot be used; the store checks again inside its transaction.
	if _, err := e.st.UserByAddress(ctx, addr); err == nil {
		return fmt.Errorf("user %s already exists", addr)
	}
	if isAlias, err := aliasExists(ctx, e.st, addr); err != nil {
		return err
	} else if isAlias {
		return fmt.Errorf("%s is an alias: remove the alias before adding a user of that name", addr)
	}
	hash, err := readHash(e, addr, "Password for "+addr+": ")
	if err != nil {
		return err
	}
	_, err = e.st.AddUser(ctx, addr, hash, !e.inv.noSMTP)
	if errors.Is(err, store.ErrExists) {
		return fmt.Errorf("user %s already exists", addr)
	}
	return err
}

// userPasswd replaces a user's password.
func userPasswd(ctx context.Context, e *env, args []string) error {
	addr, err := existingUser(ctx, e.st, args[0])
	if err != nil {
		return err
	}
	hash, err := readHash(e, addr, "New password for "+addr+": ")
	if err != nil {
		return err
	}
	err = e.st.SetUserPassword(ctx, addr, hash)
	if errors.Is(err, store.ErrNotFound) {
		return unknownUser(addr)
	}
	return err
}

// userSMTP grants or withdraws a user's SMTP authority (the right to send,
// by SMTP AUTH or a relay grant); reading mail is unaffected.
func userSMTP(ctx context.Context, e *env, args []string) error {
	var on bool
	switch strings.ToLower(args[1]) {
	case "on":
		on = true
	case "off":
	default:
		return usagef("user smtp: want on or off, got %q", args[1])
	}
	addr, err := store.CanonAddress(args[0])
	if err != nil {
		return err
	}
	err = e.st.SetUserSMTP(ctx, addr, on)
	if errors.Is(err, store.ErrNotFound) {
		return unknownUser(addr)
	}
	return err
}

// userRm deletes one user with all their mail and grants. It takes an
// address only: removing a whole domain's users is too much for a typo.
func userRm(ctx context.Context, e *env, args []string) error {
	if !strings.Contains(args[0], "@") {
		return usagef("user rm: want an ADDRESS, got %q", args[0])
	}
	addr, err := store.CanonAddress(args[0])
	if err != nil {
		return err
	}
	err = e.st.RemoveUser(ctx, addr)
	if errors.Is(err, store.ErrNotFound) {
		return unknownUser(addr)
	}
	return err
}

// userList prints "ADDRESS\tsmtp=on|off" and the usage fields (see
// quotaFields) for every user, the users of a DOMAIN, or one ADDRESS.
func userList(ctx context.Context, e *env, args []string) error {
	var users []store.User
	switch {
	case len(args) == 0:
		all, err := e.st.Users(ctx, "")
		if err != nil {
			return err
		}
		users = all
	case strings.Contains(args[0], "@"):
		u, err := findUser(ctx, e.st, args[0])
		if err != nil {
			return err
		}
		users = []store.User{u}
	default:
		d, err := store.CanonDomain(args[0])
		if err != nil {
			return err
		}
		if err := requireDomain(ctx, e.st, d); err != nil {
			return err
		}
		if users, err = e.st.Users(ctx, d); err != nil {
			return err
		}
	}
	rows := make([]userRow, len(users))
	for i, u := range users {
		r, err := newUserRow(ctx, e.st, u)
		if err != nil {
			return err
		}
		rows[i] = r
	}
	return writeList(e, rows)
}

// existingUser canonicalises s and checks that the user exists.
func existingUser(ctx context.Context, st *store.Store, s string) (string, error) {
	u, err := findUser(ctx, st, s)
	return u.Address, err
}

// findUser returns the user an operand names, or "unknown user".
func findUser(ctx context.Context, st *store.Store, s string) (store.User, error) {
	addr, err := store.CanonAddress(s)
	if err != nil {
		return store.User{}, err
	}
	u, err := st.UserByAddress(ctx, addr)
	if errors.Is(err, store.ErrNotFound) {
		return u, unknownUser(addr)
	}
	return u, err
}

func unknownUser(addr string) error {
	return fmt.Errorf("unknown user %s", addr)
}
