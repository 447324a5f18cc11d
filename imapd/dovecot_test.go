package main

import (
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"mailsuite/internal/testutil"
)

// The differential test against Dovecot: every script of dovecotScripts
// runs on a fresh account of imapd and of a Dovecot started for the test,
// and the answers, normalised (normDovecot), must be the same. Dovecot is
// the oracle. To cover a new extension, append a script; a known,
// accepted difference goes into the script's own want map.

// diffCase is one script: commands sent after LOGIN, one per line (a
// literal is written inline with literalCmd).
type diffCase struct {
	name string
	cmds []string
	// want holds imapd's accepted answer for a command whose Dovecot
	// answer differs (on purpose, or until the difference is fixed),
	// keyed by the command. Dovecot's answer is always accepted too.
	want map[string]string
}

// startDovecot runs Dovecot on a free loopback port with a config written
// to a temp dir (plus extraConf), with the accounts users (password
// testPass) and the same special-use mailboxes as a new mailsuite account.
// It skips the test if Dovecot is not installed.
func startDovecot(t testing.TB, users []string, extraConf string) string {
	t.Helper()
	if _, err := os.Stat(testutil.DovecotBin); err != nil {
		t.Skip("dovecot not installed (Debian: dovecot-imapd)")
	}
	dir, err := os.MkdirTemp("", "dovecot")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// Login processes run as dovenull and must reach the sockets.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var pw strings.Builder
	for _, u := range users {
		fmt.Fprintf(&pw, "%s:{PLAIN}%s\n", u, testPass)
	}
	if err := os.WriteFile(filepath.Join(dir, "passwd"), []byte(pw.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	mail := filepath.Join(dir, "mail")
	if err := os.Mkdir(mail, 0o755); err != nil {
		t.Fatal(err)
	}
	addr := testutil.FreePort(t)
	_, port, _ := net.SplitHostPort(addr)
	conf := dovecotConf(t, dir, mail, port) + extraConf
	testutil.StartDovecot(t, dir, conf, addr)
	return addr
}

// dovecotConf is a minimal Dovecot 2.3 config: IMAP only, loopback,
// plaintext login, maildir under mail. Run as root, the processes take
// Dovecot's own unprivileged users and the mail belongs to nobody; run as
// another user, everything runs as that user.
func dovecotConf(t testing.TB, dir, mail, port string) string {
	internal, login, uid, gid := "dovecot", "dovenull", 65534, 65534
	if os.Getuid() != 0 {
		u, err := user.Current()
		if err != nil {
			t.Fatal(err)
		}
		internal, login = u.Username, u.Username
		uid, gid = os.Getuid(), os.Getgid()
	} else if err := os.Chown(mail, uid, gid); err != nil {
		t.Fatal(err)
	}
	group := ""
	if os.Getuid() != 0 {
		if g, err := user.LookupGroupId(strconv.Itoa(gid)); err == nil {
			group = "default_internal_group = " + g.Name + "\n"
		}
	}
	return fmt.Sprintf(`protocols = imap
listen = 127.0.0.1
base_dir = %[1]s/run
state_dir = %[1]s/state
instance_name = mailsuite-test-%[6]s
log_path = %[1]s/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
default_internal_user = %[3]s
%[8]sdefault_login_user = %[4]s
first_valid_uid = 1
mail_location = maildir:%[2]s/%%u
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%u %[1]s/passwd
}
userdb {
  driver = static
  args = uid=%[5]d gid=%[7]d home=%[2]s/%%u
}
namespace inbox {
  inbox = yes
  separator = /
  mailbox INBOX {
    auto = subscribe
  }
  mailbox Sent {
    auto = subscribe
    special_use = \Sent
  }
  mailbox Drafts {
    auto = subscribe
    special_use = \Drafts
  }
  mailbox Trash {
    auto = subscribe
    special_use = \Trash
  }
  mailbox Junk {
    auto = subscribe
    special_use = \Junk
  }
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = %[6]s
  }
}
`, dir, mail, internal, login, uid, port, gid, group)
}

// TestDifferentialAgainstDovecot runs every script on imapd and Dovecot.
func TestDifferentialAgainstDovecot(t *testing.T) {
	users := make([]string, len(dovecotScripts))
	for i := range dovecotScripts {
		users[i] = fmt.Sprintf("user%d@example.com", i)
	}
	dove := startDovecot(t, users, "")
	for i, dc := range dovecotScripts {
		t.Run(dc.name, func(t *testing.T) {
			e := newEnv(t, withPlaintext)
			login := "LOGIN " + testUser + ` "` + testPass + `"`
			n := newModSeqNames()
			ours := runScript(t, e.addr, append([]string{login}, dc.cmds...), n.norm, n.prep)
			login = "LOGIN " + users[i] + ` "` + testPass + `"`
			n = newModSeqNames()
			ref := runScript(t, dove, append([]string{login}, dc.cmds...), n.norm, n.prep)
			for j, cmd := range dc.cmds {
				got, want := sortUntagged(ours[j+1]), sortUntagged(ref[j+1])
				if got != want && got != dc.want[cmd] {
					t.Errorf("%s\n  imapd:   %s\n  dovecot: %s", strings.SplitN(cmd, "\r\n", 2)[0], got, want)
				}
			}
		})
	}
}

var (
	respCodeRE  = regexp.MustCompile(`^(\* )?(OK|NO|BAD|BYE|PREAUTH)( \[[^]]*\])?`)
	internalRE  = regexp.MustCompile(`INTERNALDATE "[^"]*"`)
	uidValRE    = regexp.MustCompile(`(UIDVALIDITY|APPENDUID|COPYUID) \d+`)
	fetchUIDRE  = regexp.MustCompile(`^(\* \d+ FETCH \()UID \d+ ?`)
	quotedRE    = regexp.MustCompile(`"([A-Za-z0-9/._-]+)"`)
	fieldsRE    = regexp.MustCompile(`HEADER\.FIELDS(\.NOT)? \(([^)]*)\)`)
	statusRE    = regexp.MustCompile(`^(\* STATUS \S+ \()([^)]*)\)`)
	parenListRE = regexp.MustCompile(`(FLAGS|PERMANENTFLAGS|^\* LIST|^\* LSUB) \(([^)]*)\)`)
)

// normDovecot makes an answer comparable: status texts, capability lists
// and the untagged OKs without a code are dropped (they are free text),
// UIDVALIDITY values and dates become placeholders, flag lists are
// sorted. The untagged lines of one command are compared as a set, in
// order after the tagged status (see sortUntagged).
func normDovecot(l string) string {
	if strings.HasPrefix(l, "* CAPABILITY") || strings.HasPrefix(l, "* BYE") {
		return ""
	}
	l = strings.Replace(l, " [CLIENTBUG]", "", 1) // Dovecot's hint on STATUS of the selected mailbox
	if m := respCodeRE.FindStringSubmatch(l); m != nil {
		code := m[3]
		if strings.HasPrefix(code, " [CAPABILITY") {
			code = ""
		}
		if m[1] != "" && code == "" {
			return "" // "* OK text": free text
		}
		l = m[1] + m[2] + code
	}
	l = uidValRE.ReplaceAllString(l, "$1 V")
	l = internalRE.ReplaceAllString(l, `INTERNALDATE "D"`)
	// imapd always sends UID in FETCH (allowed; Dovecot only when asked),
	// quotes every mailbox name and keeps the client's field names.
	l = fetchUIDRE.ReplaceAllString(l, "$1")
	l = fieldsRE.ReplaceAllStringFunc(l, func(s string) string {
		return strings.ToUpper(strings.ReplaceAll(s, `"`, ""))
	})
	l = quotedRE.ReplaceAllStringFunc(l, func(s string) string {
		if strings.HasPrefix(l, "* LIST") || strings.HasPrefix(l, "* LSUB") || strings.HasPrefix(l, "* STATUS") {
			return strings.Trim(s, `"`)
		}
		return s
	})
	if m := statusRE.FindStringSubmatch(l); m != nil {
		items := strings.Fields(m[2])
		var pairs []string
		for i := 0; i+1 < len(items); i += 2 {
			pairs = append(pairs, items[i]+" "+items[i+1])
		}
		sort.Strings(pairs)
		l = m[1] + strings.Join(pairs, " ") + ")" + l[len(m[0]):]
	}
	return parenListRE.ReplaceAllStringFunc(l, func(s string) string {
		m := parenListRE.FindStringSubmatch(s)
		f := strings.Fields(m[2])
		sort.Strings(f)
		return m[1] + " (" + strings.Join(f, " ") + ")"
	})
}

var (
	modSeqRE      = regexp.MustCompile(`(MODSEQ \(?)(\d+)`)
	uidValCodeRE  = regexp.MustCompile(`\[UIDVALIDITY (\d+)\]`)
	modSeqNameRE  = regexp.MustCompile(`\$M\d+`)
	uidValNameRE  = regexp.MustCompile(`\$V\b`)
	modSeqFirstRE = regexp.MustCompile(`^(\* \d+ FETCH \()(MODSEQ \(\d+\)) (.*)\)$`)
)

// modSeqNames makes one connection's mod-sequences comparable with
// another server's. The numbers differ (each server counts its own
// changes), the pattern must not: a number is named by the order it first
// appeared in, $M1, $M2, ..., and a script names it the same way in a
// command ("CHANGEDSINCE $M1"), sent as this server's number; $V is sent
// as the last UIDVALIDITY seen. A server that reports a stale value, or
// that reuses a value for another change, shows a different pattern.
type modSeqNames struct {
	names  map[string]string // number -> $Mn
	values map[string]string // $Mn -> number
	uidVal string
}

func newModSeqNames() *modSeqNames {
	return &modSeqNames{names: map[string]string{}, values: map[string]string{}}
}

// norm is normDovecot, then the mod-sequences are named.
func (n *modSeqNames) norm(l string) string {
	if m := uidValCodeRE.FindStringSubmatch(l); m != nil {
		n.uidVal = m[1]
	}
	l = normDovecot(l)
	// Dovecot puts MODSEQ first in a STORE's FETCH, imapd last.
	l = modSeqFirstRE.ReplaceAllString(l, "$1$3 $2)")
	return modSeqRE.ReplaceAllStringFunc(l, func(s string) string {
		m := modSeqRE.FindStringSubmatch(s)
		name, ok := n.names[m[2]]
		if !ok {
			name = fmt.Sprintf("$M%d", len(n.names)+1)
			n.names[m[2]] = name
			n.values[name] = m[2]
		}
		return m[1] + name
	})
}

// prep puts this server's numbers for the names in a command's first line.
func (n *modSeqNames) prep(cmd string) string {
	first, rest, _ := strings.Cut(cmd, "\r\n")
	first = modSeqNameRE.ReplaceAllStringFunc(first, func(s string) string {
		if v, ok := n.values[s]; ok {
			return v
		}
		return s // unknown: the server rejects it, on both sides
	})
	first = uidValNameRE.ReplaceAllString(first, n.uidVal)
	if rest == "" && !strings.Contains(cmd, "\r\n") {
		return first
	}
	return first + "\r\n" + rest
}

// sortUntagged puts a command's untagged answers in order, leaving the
// tagged status last: servers may order them differently (Dovecot sends
// FLAGS before EXISTS in SELECT, go-imap after).
func sortUntagged(answer string) string {
	lines := strings.Split(answer, " | ")
	if len(lines) > 1 {
		sort.Strings(lines[:len(lines)-1])
	}
	return strings.Join(lines, " | ")
}
