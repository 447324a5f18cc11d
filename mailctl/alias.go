package main

import (
	"context"
	"errors"
	"fmt"

	"mailsuite/store"
)

// aliasAdd adds SOURCE -> TARGET. The source must be in a local domain and
// must not be a user; the target may be local or remote. A source may have
// several targets (one alias add each). Loops are refused by the store.
func aliasAdd(ctx context.Context, e *env, args []string) error {
	src, dst, err := aliasPair(args)
	if err != nil {
		return err
	}
	_, d := store.SplitAddress(src)
	if err := requireDomain(ctx, e.st, d); err != nil {
		return err
	}
	if _, err := e.st.UserByAddress(ctx, src); err == nil {
		return fmt.Errorf("%s is a user: an alias cannot have a user's address", src)
	}
	err = e.st.AddAlias(ctx, src, dst)
	switch {
	case errors.Is(err, store.ErrAliasLoop):
		return fmt.Errorf("alias %s -> %s would make a loop", src, dst)
	case errors.Is(err, store.ErrExists):
		return fmt.Errorf("alias %s -> %s already exists", src, dst)
	case errors.Is(err, store.ErrNotFound):
		return unknownDomain(d)
	}
	return err
}

// aliasRm removes SOURCE -> TARGET.
func aliasRm(ctx context.Context, e *env, args []string) error {
	src, dst, err := aliasPair(args)
	if err != nil {
		return err
	}
	err = e.st.RemoveAlias(ctx, src, dst)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("unknown alias %s -> %s", src, dst)
	}
	return err
}

// aliasRow is one line of "alias list".
type aliasRow struct {
	Source string `json:"source"`
	Target string `json:"target"`
}

func (r aliasRow) fields() []string { return []string{r.Source, r.Target} }

// aliasList prints "SOURCE\tTARGET" for every alias or those of DOMAIN.
func aliasList(ctx context.Context, e *env, args []string) error {
	d, err := domainOperand(ctx, e, args)
	if err != nil {
		return err
	}
	aliases, err := e.st.Aliases(ctx, d)
	if err != nil {
		return err
	}
	rows := make([]aliasRow, len(aliases))
	for i, a := range aliases {
		rows[i] = aliasRow{a.Source, a.Target}
	}
	return writeList(e, rows)
}

func aliasPair(args []string) (src, dst string, err error) {
	if src, err = store.CanonAddress(args[0]); err != nil {
		return "", "", fmt.Errorf("alias source: %w", err)
	}
	if dst, err = store.CanonAddress(args[1]); err != nil {
		return "", "", fmt.Errorf("alias target: %w", err)
	}
	return src, dst, nil
}

// aliasExists reports whether addr (canonical) is the source of an alias.
func aliasExists(ctx context.Context, st *store.Store, addr string) (bool, error) {
	_, d := store.SplitAddress(addr)
	aliases, err := st.Aliases(ctx, d)
	if err != nil {
		return false, err
	}
	for _, a := range aliases {
		if a.Source == addr {
			return true, nil
		}
	}
	return false, nil
}
