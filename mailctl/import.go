package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"mailsuite/internal/mailimport"
	"mailsuite/shared/auth"
	"mailsuite/store"
)

// importMaildir imports a Dovecot Maildir++ tree into an existing user,
// keeping each folder's UIDVALIDITY and UIDs and the INBOX's POP3 UIDLs.
// Each folder is one transaction; a damaged file is reported and
// skipped; a second run adds nothing.
func importMaildir(ctx context.Context, e *env, args []string) error {
	u, err := importUser(ctx, e.st, args[0])
	if err != nil {
		return err
	}
	folders, problems, err := mailimport.ReadMaildir(args[1])
	if err != nil {
		return err
	}
	for _, p := range problems {
		fmt.Fprintf(e.stderr, "mailctl: skipped: %s\n", oneLine(p.Error()))
	}
	var total store.ImportResult
	for _, f := range folders {
		in := store.ImportMailbox{
			Name: f.Name, UIDValidity: f.UIDValidity, UIDNext: f.UIDNext, Subscribed: f.Subscribed,
			Progress: progress(e.stderr, f.Name, len(f.Messages)),
		}
		for _, m := range f.Messages {
			in.Messages = append(in.Messages, store.ImportMessage{
				UID: m.UID, Flags: m.Flags, Date: m.Date, UIDL: importedUIDL(f, m),
				Read: func() ([]byte, error) { return mailimport.ReadMessage(m.Path) },
			})
		}
		res, err := e.st.Import(ctx, u.ID, in)
		if err != nil {
			return fmt.Errorf("%s (%s): %w", f.Name, f.Dir, err)
		}
		report(e, f.Name, res, &total)
	}
	fmt.Fprintf(e.stdout, "%s: %d messages imported, %d already there, %d damaged\n",
		u.Address, total.Added, total.Skipped, len(total.Damaged))
	return nil
}

// importedUIDL is the POP3 UIDL Dovecot served for an INBOX message: the
// uidlist's P field if it kept one from an earlier move, else its
// default pop3_uidl_format %08Xu%08Xv, which Dovecot 2.3 expands in
// lower-case hex (seen on the wire: TestImportFromDovecot). Other
// folders are not POP3's.
func importedUIDL(f mailimport.Folder, m mailimport.Message) string {
	switch {
	case f.Name != "INBOX" || m.UID == 0 || f.UIDValidity == 0:
		return ""
	case m.UIDL != "":
		return m.UIDL
	}
	return fmt.Sprintf("%08x%08x", m.UID, f.UIDValidity)
}

// importUser finds the user an import goes to; it must exist.
func importUser(ctx context.Context, st *store.Store, s string) (store.User, error) {
	addr, err := existingUser(ctx, st, s)
	if err != nil {
		return store.User{}, err
	}
	return st.UserByAddress(ctx, addr)
}

// progressEvery is how many messages pass between two progress lines.
const progressEvery = 1000

// progress returns the callback that writes a line to w every
// progressEvery messages of a mailbox.
func progress(w io.Writer, name string, n int) func(int) {
	return func(done int) {
		if done%progressEvery == 0 {
			fmt.Fprintf(w, "mailctl: %s: %d/%d messages\n", name, done, n)
		}
	}
}

// report prints one mailbox's damaged files and counts, and adds them
// to total.
func report(e *env, name string, res store.ImportResult, total *store.ImportResult) {
	for _, d := range res.Damaged {
		fmt.Fprintf(e.stderr, "mailctl: skipped damaged message: %s\n", oneLine(d.Error()))
	}
	fmt.Fprintf(e.stdout, "%s: %d imported, %d already there\n", name, res.Added, res.Skipped)
	total.Added += res.Added
	total.Skipped += res.Skipped
	total.Damaged = append(total.Damaged, res.Damaged...)
}

// importMbox appends the messages of an mbox file to a mailbox of an
// existing user, creating it if absent. A message already imported into
// that mailbox (same SHA-256 of its text) is skipped, so a second run
// adds nothing; the whole file is one transaction.
func importMbox(ctx context.Context, e *env, args []string) error {
	u, err := importUser(ctx, e.st, args[0])
	if err != nil {
		return err
	}
	name, path := args[1], args[2]
	if strings.EqualFold(name, "INBOX") {
		name = "INBOX"
	}
	if name == "" || strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") || strings.Contains(name, "//") ||
		strings.ContainsAny(name, "*%\r\n\x00") {
		return usagef("import mbox: %q is not a mailbox name (levels separated by /)", name)
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	msgs, err := mailimport.ScanMbox(f)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	in := store.ImportMailbox{Name: name, Subscribed: true, Progress: progress(e.stderr, name, len(msgs))}
	now := e.st.Now()
	for _, m := range msgs {
		date := m.Date
		if date.IsZero() {
			date = now
		}
		in.Messages = append(in.Messages, store.ImportMessage{
			Flags: m.Flags, Date: date,
			Read: func() ([]byte, error) {
				b, err := mailimport.ReadMbox(f, m)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", path, err)
				}
				return b, nil
			},
		})
	}
	res, err := e.st.Import(ctx, u.ID, in)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	var total store.ImportResult
	report(e, name, res, &total)
	return nil
}

// importUsers creates the users of a Dovecot passwd-file with their
// password hashes as they are (see auth.ImportHash). A user that exists
// is left alone (its password may have changed since), so a second run
// adds nothing. Users of a domain that is not local are refused, not
// created with it: adding a domain makes mailsuite take its mail, which
// the operator decides with "mailctl domain add".
func importUsers(ctx context.Context, e *env, args []string) error {
	f, err := os.Open(args[0])
	if err != nil {
		return err
	}
	defer f.Close()
	entries, problems, err := mailimport.ReadPasswd(f)
	if err != nil {
		return fmt.Errorf("%s: %w", args[0], err)
	}
	skip := func(format string, a ...any) {
		fmt.Fprintf(e.stderr, "mailctl: %s: skipped: %s\n", args[0], fmt.Sprintf(format, a...))
	}
	for _, p := range problems {
		skip("%v", p)
	}
	var added, existing int
	for _, ent := range entries {
		addr, err := store.CanonAddress(ent.User)
		if err != nil || !strings.Contains(addr, "@") {
			skip("line %d: user %q is not an address", ent.Line, ent.User)
			continue
		}
		hash, err := auth.ImportHash(ent.Password)
		if err != nil {
			skip("line %d: %s: %v", ent.Line, addr, err)
			continue
		}
		_, err = e.st.AddUser(ctx, addr, hash, true)
		switch {
		case errors.Is(err, store.ErrExists):
			existing++
		case errors.Is(err, store.ErrNotFound):
			_, d := store.SplitAddress(addr)
			skip("line %d: %s: domain %s is not local (mailctl domain add %s first)", ent.Line, addr, d, d)
		case err != nil:
			return err
		default:
			added++
		}
	}
	fmt.Fprintf(e.stdout, "%d users imported, %d already there\n", added, existing)
	return nil
}
