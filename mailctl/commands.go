package main

import (
	"context"
	"errors"
	"strings"
)

// command is one "GROUP VERB" of mailctl.
type command struct {
	name     string   // "user add"
	operands string   // synopsis of the operands, for error hints
	flags    []string // flags it accepts besides -config
	min, max int      // operand count; max < 0 means any
	password bool     // takes a password: surplus operands are refused as one
	// verdict: exit status 1 is the command's answer ("refused"), so
	// every other failure (configuration, store) exits 2.
	verdict bool
	run     func(ctx context.Context, e *env, args []string) error
}

// commands is every mailctl command; "mailctl help" documents them.
var commands = []*command{
	{name: "domain add", operands: "DOMAIN", min: 1, max: 1, run: domainAdd},
	{name: "domain rm", operands: "DOMAIN", min: 1, max: 1, run: domainRm},
	{name: "domain list", operands: "[DOMAIN] [--json]", min: 0, max: 1, flags: jsonFlag, run: domainList},
	{name: "domain smtp-password", operands: "DOMAIN --password-stdin|--disable", min: 1, max: 1,
		flags: []string{"password-stdin", "disable"}, password: true, run: domainSMTPPassword},
	{name: "domain limits", operands: "DOMAIN [--messages-per-hour N|default] [--recipients-per-day N|default] [--new-recipients-per-day N|default] [--json]",
		min: 1, max: 1, flags: limitFlags, run: domainLimits},
	{name: "user add", operands: "ADDRESS --password-stdin [--no-smtp]", min: 1, max: 1,
		flags: []string{"password-stdin", "no-smtp"}, password: true, run: userAdd},
	{name: "user passwd", operands: "ADDRESS --password-stdin", min: 1, max: 1,
		flags: []string{"password-stdin"}, password: true, run: userPasswd},
	{name: "user smtp", operands: "ADDRESS on|off", min: 2, max: 2, run: userSMTP},
	{name: "user rm", operands: "ADDRESS", min: 1, max: 1, run: userRm},
	{name: "user list", operands: "[ADDRESS|DOMAIN] [--json]", min: 0, max: 1, flags: jsonFlag, run: userList},
	{name: "user show", operands: "ADDRESS [--json]", min: 1, max: 1, flags: jsonFlag, run: userShow},
	{name: "user quota", operands: "ADDRESS [SIZE|none|default]", min: 1, max: 2, run: userQuota},
	{name: "user limits", operands: "ADDRESS [--messages-per-hour N|default] [--recipients-per-day N|default] [--new-recipients-per-day N|default] [--json]",
		min: 1, max: 1, flags: limitFlags, run: userLimits},
	{name: "alias add", operands: "SOURCE TARGET", min: 2, max: 2, run: aliasAdd},
	{name: "alias rm", operands: "SOURCE TARGET", min: 2, max: 2, run: aliasRm},
	{name: "alias list", operands: "[DOMAIN] [--json]", min: 0, max: 1, flags: jsonFlag, run: aliasList},
	{name: "grants list", operands: "[--json]", min: 0, max: 0, flags: jsonFlag, run: grantsList},
	{name: "grants revoke", operands: "IP", min: 1, max: 1, run: grantsRevoke},
	{name: "relay check", operands: "IP SENDER RECIPIENT [--auth LOGIN] [--port mx|submission] [--json]", min: 3, max: 3,
		flags: []string{"auth", "port", "json"}, verdict: true, run: relayCheck},
	{name: "queue list", operands: "[--json]", min: 0, max: 0, flags: jsonFlag, run: queueList},
	{name: "queue retry", operands: "ID", min: 1, max: 1, run: queueRetry},
	{name: "queue delete", operands: "ID", min: 1, max: 1, run: queueDelete},
	{name: "queue flush", min: 0, max: 0, run: queueFlush},
	{name: "import maildir", operands: "ADDRESS PATH", min: 2, max: 2, run: importMaildir},
	{name: "import mbox", operands: "ADDRESS MAILBOX FILE", min: 3, max: 3, run: importMbox},
	{name: "import users", operands: "FILE", min: 1, max: 1, run: importUsers},
	{name: "dkim keygen", operands: "DOMAIN [--selector S] [--algorithm rsa|ed25519]", min: 1, max: 1,
		flags: []string{"selector", "algorithm"}, run: dkimKeygen},
	{name: "dkim list", operands: "[DOMAIN] [--json]", min: 0, max: 1, flags: jsonFlag, run: dkimList},
	{name: "dkim use", operands: "DOMAIN SELECTOR", min: 2, max: 2, run: dkimUse},
	{name: "dkim rm", operands: "DOMAIN SELECTOR [--force]", min: 2, max: 2, flags: []string{"force"}, run: dkimRm},
	{name: "dns records", operands: "DOMAIN", min: 1, max: 1, run: dnsRecords},
	{name: "dns check", operands: "DOMAIN", min: 1, max: 1, run: dnsCheck},
	{name: "backup", operands: "PATH", min: 1, max: 1, run: backup},
	{name: "store copy", operands: "--to DSN [--password-file FILE]", min: 0, max: 0,
		flags: []string{"to", "password-file"}, run: storeCopy},
	{name: "store check", operands: "[--to DSN|PATH] [--password-file FILE] [--json]", min: 0, max: 0,
		flags: []string{"to", "password-file", "json"}, verdict: true, run: storeCheck},
}

// jsonFlag is the flag of every list command.
var jsonFlag = []string{"json"}

// errPasswordArgv refuses a password on the command line, where ps and the
// shell history would keep it.
const errPasswordArgv = "passwords are read from stdin (--password-stdin) or a prompt, never from the command line"

// lookup finds the command named by the first one or two words and
// returns it with its operands.
func lookup(words []string) (*command, []string, error) {
	for _, c := range commands {
		if c.name == words[0] {
			return c, words[1:], nil
		}
	}
	var verbs []string
	for _, c := range commands {
		group, verb, ok := strings.Cut(c.name, " ")
		if !ok || group != words[0] {
			continue
		}
		if len(words) > 1 && words[1] == verb {
			return c, words[2:], nil
		}
		verbs = append(verbs, verb)
	}
	switch {
	case len(verbs) == 0:
		return nil, nil, usagef("unknown command %q (run \"mailctl help\")", words[0])
	case len(words) == 1:
		return nil, nil, usagef("%s: missing subcommand: %s", words[0], strings.Join(verbs, "|"))
	default:
		return nil, nil, usagef("%s: unknown subcommand %q: use %s", words[0], words[1], strings.Join(verbs, "|"))
	}
}

// check validates the flags and the number of operands before anything is
// opened.
func (c *command) check(inv *invocation, args []string) error {
	if err := inv.onlyFlags(c.name, c.flags...); err != nil {
		return err
	}
	switch {
	case len(args) < c.min:
		return usagef("%s: missing operand (usage: %s)", c.name, c.synopsis())
	case c.max >= 0 && len(args) > c.max && c.password:
		return usagef("%s", errPasswordArgv)
	case c.max >= 0 && len(args) > c.max:
		return usagef("%s: too many operands (usage: %s)", c.name, c.synopsis())
	}
	return nil
}

// synopsis is the command's usage line.
func (c *command) synopsis() string {
	return strings.TrimSpace("mailctl " + c.name + " " + c.operands)
}

// noVerdictError is a failure of a verdict command other than its answer:
// it exits 2, so that 1 keeps meaning the answer.
type noVerdictError struct{ err error }

func (e *noVerdictError) Error() string { return e.err.Error() }
func (e *noVerdictError) Unwrap() error { return e.err }

// verdictErr wraps the failures of a verdict command that are not its
// answer (errRefused).
func (c *command) verdictErr(err error) error {
	if err == nil || !c.verdict || errors.Is(err, errRefused) {
		return err
	}
	return &noVerdictError{err}
}
