package main

import (
	"fmt"
	"io"

	"mailsuite/shared/config"
)

// usageText is the whole operator reference for mailctl; README.md quotes
// it, so keep the two in step.
const usageText = `usage: mailctl [-config PATH] COMMAND [OPERANDS] [FLAGS]

Flags may come before or after the command; -flag and --flag are the same.
  -config PATH       configuration file (default %s)
  --password-stdin   read the password from the first line of standard input;
                     without it mailctl prompts on a terminal. Passwords are
                     never taken from the command line.
  --json             list commands: print one JSON array of objects, with
                     the keys named under each list below ([] when empty)

Domains
  domain add DOMAIN
  domain rm DOMAIN                 refused while the domain has users or aliases
  domain list [DOMAIN] [--json]    DOMAIN<TAB>smtp-password=on|off
                                   json: domain, smtp_password (true|false)
  domain smtp-password DOMAIN [--password-stdin]
                                   set the domain-level credential: login name
                                   DOMAIN, SMTP AUTH only, may send as any
                                   address of DOMAIN
  domain smtp-password DOMAIN --disable
                                   a new password (or --disable) also ends a
                                   suspension of the domain credential
  domain limits DOMAIN [--messages-per-hour N] [--recipients-per-day N]
                       [--new-recipients-per-day N] [--json]
                                   sending limits of the domain credential, and
                                   the defaults of the domain's users; N is a
                                   count, 0 or unlimited, or default (back to
                                   relay.max_*); without flags prints the
                                   limits in force as user limits does
                                   (without bounces-per-hour)

Users
  user add ADDRESS [--password-stdin] [--no-smtp]
                                   creates INBOX, Sent, Drafts, Trash, Junk;
                                   SMTP authority on unless --no-smtp
  user passwd ADDRESS [--password-stdin]
  user smtp ADDRESS on|off         SMTP authority: may send mail (AUTH or grant);
                                   on also ends a suspension and clears the
                                   user's sending counts
  user rm ADDRESS                  deletes the user's mail and grants too
  user list [ADDRESS|DOMAIN] [--json]
                                   ADDRESS<TAB>smtp=on|off<TAB>used=SIZE<TAB>
                                   quota=SIZE|unlimited[ (default)]<TAB>messages=N
                                   json: address, smtp (true|false), used (bytes),
                                   quota (bytes, 0: unlimited), quota_default
                                   (true|false), messages
  user quota ADDRESS [SIZE]        without SIZE: the user's usage and quota, as in
                                   user list; SIZE sets the user's own storage
                                   quota: 500M, 2G (powers of 1024), a byte
                                   count, 0 or none (unlimited), or default
                                   (back to quota.default_storage)
  user limits ADDRESS [--messages-per-hour N] [--recipients-per-day N]
                      [--new-recipients-per-day N] [--json]
                                   the user's own sending limits (N as for
                                   domain limits; default: the domain's, else
                                   relay.max_*); without flags prints ADDRESS<TAB>
                                   messages-per-hour=USED/LIMIT (SOURCE)<TAB>
                                   recipients-per-day=...<TAB>
                                   new-recipients-per-day=...<TAB>
                                   bounces-per-hour=...<TAB>suspended=no|
                                   REASON since TIME; LIMIT a count or
                                   unlimited, SOURCE own, domain or default
                                   json: account, limits, source, usage
                                   (messages, recipients, new_recipients,
                                   bounces, hour_resets, day_resets),
                                   max_bounces_per_hour, suspended ("" when
                                   not), suspended_at (null when not)

Aliases
  alias add SOURCE TARGET          SOURCE in a local domain, not a user; TARGET
                                   local or remote; repeat for more targets
  alias rm SOURCE TARGET
  alias list [DOMAIN] [--json]     SOURCE<TAB>TARGET
                                   json: source, target

Relay grants (POP/IMAP-before-SMTP)
  grants list [--json]             IP<TAB>USER<TAB>EXPIRES (RFC 3339, UTC)
                                   json: ip, user, expires
  grants revoke IP                 deletes every grant of IP

Outbound queue
  queue list [--json]              ID<TAB>SENDER<TAB>RECIPIENTS<TAB>ATTEMPTS<TAB>
                                   NEXT-ATTEMPT<TAB>LAST-ERROR, one line each:
                                   SENDER <> for a bounce; RECIPIENTS those
                                   still pending, comma-separated; ATTEMPTS
                                   the most any of them had; NEXT-ATTEMPT the
                                   earliest (RFC 3339, UTC); LAST-ERROR the
                                   latest reply; - for an empty field
                                   json: id (number), sender ("" for <>),
                                   recipients (array), attempts (number),
                                   next_attempt, last_error ("" when none)
  queue retry ID                   make the message due now
  queue delete ID                  drop the message, no bounce
  queue flush                      make every queued message due now

Maintenance
  backup PATH                      consistent copy of the live store to PATH
                                   (which must not exist), by VACUUM INTO

Domains are stored and printed in canonical form: lower case, IDNs as
punycode A-labels (bücher.example is xn--bcher-kva.example). Local parts
are lower-cased. Lists print one record per line, fields separated by a
tab, sorted; the JSON keys are stable. Commands that change something
print nothing on success, as postsuper and doveadm do; naming a domain,
user, alias or queue ID that does not exist is an error (grants revoke of
an IP without grants is not: afterwards it holds none either way).
Exit status: 0 success, 1 failure, 2 bad command line; an error is one
line on standard error starting with "mailctl: ".
`

func writeUsage(w io.Writer) error {
	_, err := fmt.Fprintf(w, usageText, config.DefaultPath)
	return err
}
