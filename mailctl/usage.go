package main

import (
	"fmt"
	"io"

	"mailsuite/shared"
)

// usageText is the whole operator reference for mailctl; README.md quotes
// it, so keep the two in step.
const usageText = `usage: mailctl [-config PATH] COMMAND [OPERANDS] [FLAGS]

Flags may come before or after the command; -flag and --flag are the same.
  -config PATH       configuration file (default %s)
  --password-stdin   read the password from the first line of standard input;
                     without it mailctl prompts on a terminal. Passwords are
                     never taken from the command line.

Domains
  domain add DOMAIN
  domain rm DOMAIN                 refused while the domain has users or aliases
  domain list [DOMAIN]             DOMAIN<TAB>smtp-password=on|off
  domain smtp-password DOMAIN [--password-stdin]
                                   set the domain-level credential: login name
                                   DOMAIN, SMTP AUTH only, may send as any
                                   address of DOMAIN
  domain smtp-password DOMAIN --disable

Users
  user add ADDRESS [--password-stdin] [--no-smtp]
                                   creates INBOX, Sent, Drafts, Trash, Junk;
                                   SMTP authority on unless --no-smtp
  user passwd ADDRESS [--password-stdin]
  user smtp ADDRESS on|off         SMTP authority: may send mail (AUTH or grant)
  user rm ADDRESS                  deletes the user's mail and grants too
  user list [ADDRESS|DOMAIN]       ADDRESS<TAB>smtp=on|off<TAB>used=SIZE<TAB>
                                   quota=SIZE|unlimited[ (default)]<TAB>messages=N
  user quota ADDRESS [SIZE]        without SIZE: the user's usage and quota, as in
                                   user list; SIZE sets the user's own storage
                                   quota: 500M, 2G (powers of 1024), a byte
                                   count, 0 or none (unlimited), or default
                                   (back to quota.default_storage)

Aliases
  alias add SOURCE TARGET          SOURCE in a local domain, not a user; TARGET
                                   local or remote; repeat for more targets
  alias rm SOURCE TARGET
  alias list [DOMAIN]              SOURCE<TAB>TARGET

Relay grants (POP/IMAP-before-SMTP)
  grants list                      IP<TAB>USER<TAB>EXPIRES (RFC 3339, UTC)
  grants revoke IP                 IP<TAB>revoked=N

Outbound queue
  queue list
  queue retry ID
  queue delete ID
  queue flush

Maintenance
  backup PATH                      consistent copy of the live store to PATH
                                   (which must not exist), by VACUUM INTO

Domains are stored and printed in canonical form: lower case, IDNs as
punycode A-labels (bücher.example is xn--bcher-kva.example). Local parts
are lower-cased. Lists print one record per line, fields separated by a
tab, sorted; commands that change something print nothing on success.
Exit status: 0 success, 1 failure, 2 bad command line; an error is one
line on standard error starting with "mailctl: ".
`

func writeUsage(w io.Writer) error {
	_, err := fmt.Fprintf(w, usageText, shared.DefaultConfigPath)
	return err
}
