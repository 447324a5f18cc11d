package main

import (
	"strings"

	"github.com/emersion/go-imap/v2"
)

// systemFlags maps the lower-case spelling of each system flag to its
// canonical one, which is what the store holds (pop3d and SQL counts look
// for `\Seen` and `\Deleted` exactly).
var systemFlags = map[string]imap.Flag{
	`\seen`:     imap.FlagSeen,
	`\answered`: imap.FlagAnswered,
	`\flagged`:  imap.FlagFlagged,
	`\deleted`:  imap.FlagDeleted,
	`\draft`:    imap.FlagDraft,
}

// storeFlags turns client flags into the store's form: system flags
// canonical, \Recent and unknown system flags dropped (they cannot be set).
func storeFlags(flags []imap.Flag) []string {
	out := make([]string, 0, len(flags))
	for _, f := range flags {
		s := string(f)
		if strings.HasPrefix(s, `\`) {
			c, ok := systemFlags[strings.ToLower(s)]
			if !ok {
				continue
			}
			s = string(c)
		}
		out = append(out, s)
	}
	return out
}

func imapFlags(flags []string) []imap.Flag {
	out := make([]imap.Flag, len(flags))
	for i, f := range flags {
		out[i] = imap.Flag(f)
	}
	return out
}

func hasFlag(flags []string, f imap.Flag) bool {
	for _, g := range flags {
		if strings.EqualFold(g, string(f)) {
			return true
		}
	}
	return false
}
