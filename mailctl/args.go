package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"mailsuite/shared/config"
)

// invocation is a parsed command line: the flags and, in order, the
// positional arguments (the command words and their operands).
type invocation struct {
	configPath    string
	passwordStdin bool
	noSMTP        bool
	disable       bool
	json          bool            // list commands: one JSON array instead of lines
	auth          string          // relay check: the SMTP AUTH login
	port          string          // relay check: "mx" or "submission"
	selector      string          // dkim keygen
	algorithm     string          // dkim keygen
	force         bool            // dkim rm of the active key
	to            string          // store copy, store check: the other store
	passwordFile  string          // store copy, store check: its password
	set           map[string]bool // flags given explicitly
	args          []string

	// The limit flags of "user limits" and "domain limits" (see limits.go).
	messagesPerHour, recipientsPerDay, newRecipientsPerDay string
}

// errHelp asks for the usage text on stdout.
var errHelp = errors.New("help requested")

// usageError is a malformed command line; it exits 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error {
	return &usageError{msg: fmt.Sprintf(format, a...)}
}

// parseArgs accepts flags anywhere on the line, before or after the command
// words ("mailctl -config x user add a@b" and "mailctl user add a@b
// -config x"), in -flag or --flag form; "--" ends the flags. The standard
// flag package stops at the first operand, so parse repeatedly and collect
// one operand between runs.
func parseArgs(argv []string) (*invocation, error) {
	inv := &invocation{set: map[string]bool{}}
	fs := flag.NewFlagSet("mailctl", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&inv.configPath, "config", config.DefaultPath, "configuration file")
	fs.BoolVar(&inv.passwordStdin, "password-stdin", false, "read the password from standard input")
	fs.BoolVar(&inv.noSMTP, "no-smtp", false, "create the user without SMTP authority")
	fs.BoolVar(&inv.disable, "disable", false, "disable the domain-level credential")
	fs.BoolVar(&inv.json, "json", false, "print a list as one JSON array of objects")
	fs.StringVar(&inv.auth, "auth", "", "relay check: after SMTP AUTH as this login")
	fs.StringVar(&inv.port, "port", "mx", "relay check: the listener, mx or submission")
	fs.StringVar(&inv.selector, "selector", "", "DKIM selector of a new key")
	fs.StringVar(&inv.algorithm, "algorithm", "rsa", "algorithm of a new DKIM key: rsa or ed25519")
	fs.BoolVar(&inv.force, "force", false, "remove the DKIM key a domain signs with")
	fs.StringVar(&inv.to, "to", "", "store copy/check: the other store (PostgreSQL connection string or SQLite file)")
	fs.StringVar(&inv.passwordFile, "password-file", "", "store copy/check: file holding the other store's password")
	fs.StringVar(&inv.messagesPerHour, "messages-per-hour", "", "sending limit: messages per hour")
	fs.StringVar(&inv.recipientsPerDay, "recipients-per-day", "", "sending limit: recipients per day")
	fs.StringVar(&inv.newRecipientsPerDay, "new-recipients-per-day", "", "sending limit: first-time recipients per day")
	rest := argv
	for {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errHelp
			}
			return nil, usagef("%v (run \"mailctl help\")", err)
		}
		left := fs.Args()
		if len(left) == 0 {
			break
		}
		if used := len(rest) - len(left); used > 0 && rest[used-1] == "--" {
			inv.args = append(inv.args, left...)
			break
		}
		inv.args = append(inv.args, left[0])
		rest = left[1:]
	}
	fs.Visit(func(f *flag.Flag) { inv.set[f.Name] = true })
	return inv, nil
}

// onlyFlags fails when a flag other than -config and those allowed was
// given: "--no-smtp" on "user passwd" is a mistake worth stopping for.
func (inv *invocation) onlyFlags(cmd string, allowed ...string) error {
	var bad []string
	for name := range inv.set {
		if name != "config" && !slices.Contains(allowed, name) {
			bad = append(bad, "--"+name)
		}
	}
	if len(bad) > 0 {
		slices.Sort(bad)
		return usagef("%s does not take %s", cmd, strings.Join(bad, ", "))
	}
	return nil
}
