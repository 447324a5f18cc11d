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
  user show ADDRESS [--json]       one record per line: address, smtp on|off,
                                   usage (as in user list), limits messages=N|
                                   unlimited mailboxes=USED/N|unlimited,
                                   aliases (that deliver to the user), sending
                                   (as in user limits, without the address),
                                   then mailbox NAME messages=N size=SIZE, grant
                                   IP until EXPIRES, login PROTO IP LAST (the
                                   latest successful login per protocol and
                                   address, 30 days, to a minute; latest first)
                                   json: one object: address, smtp, used, quota,
                                   quota_default, messages, message_limit,
                                   mailbox_limit, aliases, mailboxes (name,
                                   messages, size), grants (ip, expires),
                                   logins (proto, ip, last), sending (as user
                                   limits --json)
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

Relay check (why can a client not send?)
  relay check IP SENDER RECIPIENT [--auth LOGIN] [--port mx|submission] [--json]
                                   applies smtpd's rules to the live store for
                                   a client at IP (port mx unless --port; after
                                   AUTH as LOGIN, password not checked; SENDER
                                   "" or <> for the null sender) and prints
                                   smtpd's replies: COMMAND<TAB>REPLY<TAB>RULE
                                   per command up to the first refusal (RULE:
                                   "rule N" of docs/ARCHITECTURE.md, quota,
                                   auth or limits), then the facts: result accepted|
                                   refused, port, sender_check, credential,
                                   grant (each live grant of IP: user, expiry,
                                   smtp=on|off; only smtp=on ones count),
                                   delivery (where RECIPIENT goes), sending (as
                                   user limits, for the account a remote
                                   RECIPIENT counts against).
                                   Exit status 0 accepted, 1 refused, 2 when
                                   it cannot tell (bad command line,
                                   configuration or store).
                                   json: one object: ip, port, sender_check,
                                   sender, recipient, accepted, auth, mail, rcpt
                                   (each command, code, enhanced, text, rule;
                                   absent after a refusal), credential, grants,
                                   delivery, sending

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

Moving from Dovecot (each prints what it did; a second run adds nothing)
  import users FILE                Dovecot passwd-file: creates each user of a
                                   local domain with its {ARGON2ID},
                                   {BLF-CRYPT}, {SHA512-CRYPT}, {SHA256-CRYPT}
                                   or {CRYPT} hash as it is ({PLAIN} is
                                   hashed), re-hashed to argon2id at the next
                                   login; existing users are left alone;
                                   other domains and schemes are reported
  import maildir ADDRESS PATH      Dovecot Maildir++ tree (INBOX and .Folder
                                   subfolders): the same UIDVALIDITY, UIDs,
                                   flags, keywords, subscriptions, and
                                   Dovecot's POP3 UIDLs; one transaction per
                                   mailbox; damaged files reported, skipped
  import mbox ADDRESS MAILBOX FILE mboxrd/mboxo file appended to MAILBOX
                                   (created if absent); a message already
                                   imported there (same SHA-256) is skipped

DKIM keys (see "DKIM signing" in README.md)
  dkim keygen DOMAIN [--selector S] [--algorithm rsa|ed25519]
                                   new key (RSA-2048 by default; selector
                                   ALGORITHM-YYYYMMDD by default); prints the
                                   TXT record to publish, as a zone-file line.
                                   A domain's first key of an algorithm signs
                                   at once; a later one waits for dkim use
  dkim list [DOMAIN] [--json]      DOMAIN<TAB>SELECTOR<TAB>rsa|ed25519<TAB>
                                   active|inactive<TAB>CREATED (RFC 3339, UTC)
                                   json: domain, selector, algorithm, active
                                   (true|false), created, record (TXT value)
  dkim use DOMAIN SELECTOR         sign with this key (it replaces the active
                                   key of its algorithm, which stays stored)
  dkim rm DOMAIN SELECTOR [--force]
                                   the active key only with --force

DNS (through dns.resolver)
  dns records DOMAIN               every record DOMAIN needs, as a zone-file
                                   fragment: MX, A/AAAA of hostname, SPF, each
                                   DKIM selector, DMARC, MTA-STS (TXT, the
                                   policy file to serve, its host), and the
                                   PTR to ask the address's provider for
  dns check DOMAIN                 looks each record up, and fetches the
                                   MTA-STS policy over HTTPS (trusting
                                   tls.ca_file): STATUS<TAB>NAME<TAB>TYPE<TAB>
                                   DETAIL, STATUS present, missing, different
                                   (another record of the kind) or failed (no
                                   answer); exit 1 if any is missing or failed

Maintenance
  backup PATH                      consistent copy of the live store to PATH
                                   (which must not exist), by VACUUM INTO
  store copy --to DSN [--password-file FILE]
                                   copies this store into an empty
                                   PostgreSQL database (libpq connection
                                   string) keeping UIDVALIDITY, UIDs, flags,
                                   grants, credentials and the queue, then
                                   compares both; stop the daemons first
  store check [--to DSN|PATH] [--password-file FILE] [--json]
                                   checks the store's consistency and prints
                                   each table's rows and checksum; with --to,
                                   compares both stores table by table: exit
                                   1 if anything differs

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
