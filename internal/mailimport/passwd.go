package mailimport

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// PasswdEntry is one user of a Dovecot passwd-file.
type PasswdEntry struct {
	Line     int
	User     string
	Password string // as written: "{SCHEME}value", or a bare crypt(3) value
}

// ReadPasswd reads a Dovecot passwd-file (user:password:uid:gid:gecos:
// home:shell:extra, '#' comments). A line without a user or password is
// reported in problems (by line number only: it may hold a password) and
// left out.
func ReadPasswd(r io.Reader) (entries []PasswdEntry, problems []error, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.SplitN(line, ":", 3)
		if len(f) < 2 || f[0] == "" || f[1] == "" {
			problems = append(problems, fmt.Errorf("line %d: no user and password", n))
			continue
		}
		entries = append(entries, PasswdEntry{Line: n, User: f[0], Password: f[1]})
	}
	if err := sc.Err(); err != nil {
		return nil, nil, err
	}
	return entries, problems, nil
}
