package main

import (
	"sort"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mailsuite/store"
)

// listName is a name LIST may report: a mailbox, a subscribed name, or a
// superior name of either, which exists only as a step of the hierarchy.
type listName struct {
	mb         *store.Mailbox // nil: not a mailbox
	subscribed bool
	children   bool // a mailbox exists below it
	subBelow   bool // a subscribed name exists below it
}

// nameTree indexes every name of a user that LIST can report.
type nameTree map[string]*listName

func newNameTree(all []store.Mailbox, orphans []string) nameTree {
	t := make(nameTree)
	get := func(n string) *listName {
		if t[n] == nil {
			t[n] = &listName{}
		}
		return t[n]
	}
	for i := range all {
		mb := &all[i]
		n := get(mb.Name)
		n.mb, n.subscribed = mb, mb.Subscribed
		for _, p := range parents(mb.Name) {
			get(p).children = true
		}
	}
	for _, name := range orphans {
		get(name).subscribed = true
	}
	for name, n := range t {
		if n.subscribed {
			for _, p := range parents(name) {
				get(p).subBelow = true
			}
		}
	}
	return t
}

func (t nameTree) sorted() []string {
	out := make([]string, 0, len(t))
	for n := range t {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// listQuery is one LIST or LSUB command.
type listQuery struct {
	ref      string
	patterns []string
	opts     *imap.ListOptions
	lsub     bool
}

func (q *listQuery) match(name string) bool { return matchAny(name, q.ref, q.patterns) }

// extended reports whether the command used LIST-EXTENDED syntax: options
// or several patterns.
func (q *listQuery) extended() bool {
	o := q.opts
	return len(q.patterns) > 1 || o.SelectSubscribed || o.SelectSpecialUse || o.SelectRecursiveMatch || o.SelectRemote ||
		o.ReturnSubscribed || o.ReturnChildren || o.ReturnSpecialUse || o.ReturnStatus != nil
}

// subscribedBelowMatches reports whether a subscribed name below name
// itself matches: then name is not reported for it (RFC 3501 LSUB with
// "%", RFC 5258 RECURSIVEMATCH).
func (q *listQuery) subscribedBelowMatches(t nameTree, name string) bool {
	prefix := name + string(delim)
	for other, n := range t {
		if n.subscribed && len(other) > len(prefix) && other[:len(prefix)] == prefix && q.match(other) {
			return true
		}
	}
	return false
}

// entry gives the LIST (or LSUB) answer for one name, or nil when the
// command does not report it.
func (q *listQuery) entry(t nameTree, name string) *imap.ListData {
	n := t[name]
	if !q.match(name) {
		return nil
	}
	data := &imap.ListData{Mailbox: name, Delim: delim}
	o := q.opts
	switch {
	case q.lsub:
		if !n.subscribed {
			if !n.subBelow || q.subscribedBelowMatches(t, name) {
				return nil
			}
			data.Attrs = append(data.Attrs, imap.MailboxAttrNoSelect)
		}
		q.addSpecialUse(data, n, true)
		return data
	case o.SelectSubscribed:
		if !n.subscribed {
			if !o.SelectRecursiveMatch || !n.subBelow || q.subscribedBelowMatches(t, name) {
				return nil
			}
		} else {
			data.Attrs = append(data.Attrs, imap.MailboxAttrSubscribed)
		}
		if o.SelectRecursiveMatch && n.subBelow {
			data.ChildInfo = &imap.ListDataChildInfo{Subscribed: true}
		}
	default:
		if n.mb == nil && !n.children {
			return nil // only subscribed: not a name of the hierarchy
		}
		if o.ReturnSubscribed && n.subscribed {
			data.Attrs = append(data.Attrs, imap.MailboxAttrSubscribed)
		}
	}
	if o.SelectSpecialUse && (n.mb == nil || n.mb.SpecialUse == "") {
		return nil
	}
	if n.mb == nil {
		if q.extended() {
			data.Attrs = append(data.Attrs, imap.MailboxAttrNonExistent)
		} else {
			data.Attrs = append(data.Attrs, imap.MailboxAttrNoSelect)
		}
	}
	if !q.extended() || o.ReturnChildren {
		if n.children {
			data.Attrs = append(data.Attrs, imap.MailboxAttrHasChildren)
		} else {
			data.Attrs = append(data.Attrs, imap.MailboxAttrHasNoChildren)
		}
	}
	q.addSpecialUse(data, n, !q.extended() || o.ReturnSpecialUse || o.SelectSpecialUse)
	return data
}

func (q *listQuery) addSpecialUse(data *imap.ListData, n *listName, want bool) {
	if want && n.mb != nil && n.mb.SpecialUse != "" {
		data.Attrs = append(data.Attrs, imap.MailboxAttr(n.mb.SpecialUse))
	}
}

// List writes the names that match any pattern: the user's mailboxes,
// the superior names of the hierarchy that are not mailboxes (\Noselect,
// or \NonExistent under LIST-EXTENDED), and, for LSUB and LIST
// (SUBSCRIBED), subscribed names whether or not they exist.
func (s *session) List(w *imapserver.ListWriter, ref string, patterns []string, options *imap.ListOptions) error {
	if len(patterns) == 0 || (len(patterns) == 1 && patterns[0] == "") {
		return w.WriteList(&imap.ListData{Attrs: []imap.MailboxAttr{imap.MailboxAttrNoSelect}, Delim: delim})
	}
	ctx, cancel := s.ctx()
	defer cancel()
	all, err := s.srv.st.Mailboxes(ctx, s.userID)
	if err != nil {
		return s.internalError("list", err)
	}
	orphans, err := s.srv.st.OrphanSubscriptions(ctx, s.userID)
	if err != nil {
		return s.internalError("list", err)
	}
	t := newNameTree(all, orphans)
	q := &listQuery{ref: ref, patterns: patterns, opts: options, lsub: w.LSub()}
	for _, name := range t.sorted() {
		data := q.entry(t, name)
		if data == nil {
			continue
		}
		if mb := t[name].mb; options.ReturnStatus != nil && mb != nil {
			if data.Status, err = s.status(*mb, options.ReturnStatus); err != nil {
				return err
			}
		}
		if err := w.WriteList(data); err != nil {
			return err
		}
	}
	return nil
}

func matchAny(name, ref string, patterns []string) bool {
	for _, p := range patterns {
		if matchList(name, ref, p) {
			return true
		}
	}
	return false
}

// matchList applies a LIST reference and pattern to a name as go-imap's
// MatchList does (a pattern starting with the separator ignores the
// reference), but matches the wildcards in time linear in the product of
// the lengths: MatchList backtracks, and a pattern of many "*" against a
// long name would keep a CPU busy for hours.
func matchList(name, ref, pattern string) bool {
	sep := string(delim)
	if strings.HasPrefix(pattern, sep) {
		ref, pattern = "", strings.TrimPrefix(pattern, sep)
	}
	if ref != "" {
		if !strings.HasSuffix(ref, sep) {
			ref += sep
		}
		if !strings.HasPrefix(name, ref) {
			return false
		}
		name = strings.TrimPrefix(name, ref)
	}
	return matchWildcards(name, pattern)
}

// matchWildcards matches "*" (any text) and "%" (any text without the
// separator) by dynamic programming over the pattern: ok[i] says whether
// the pattern so far can end at name[:i].
func matchWildcards(name, pattern string) bool {
	ok := make([]bool, len(name)+1)
	ok[0] = true
	for k := 0; k < len(pattern); k++ {
		c := pattern[k]
		next := make([]bool, len(name)+1)
		for i := 0; i <= len(name); i++ {
			switch {
			case c == '*' || c == '%':
				// Zero characters, or one more after a match here.
				next[i] = ok[i] || (i > 0 && next[i-1] && (c == '*' || name[i-1] != delim))
			default:
				next[i] = i > 0 && ok[i-1] && name[i-1] == c
			}
		}
		ok = next
	}
	return ok[len(name)]
}
