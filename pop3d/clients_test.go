package main

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailsuite/internal/testutil"
)

// runClient runs an external client with a timeout and returns its
// combined output.
func runClient(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			cmd.Process.Kill()
		}
	}()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func hostPort(t *testing.T, addr string) (string, string) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return h, p
}

const poplibScript = `
import os, poplib, ssl, sys
host, port, ca, user, pw = sys.argv[1:6]
ctx = ssl.create_default_context(cafile=ca)
ctx.check_hostname = False
p = poplib.POP3(host, int(port), timeout=10)
assert 'STLS' in p.capa(), p.capa()
p.stls(context=ctx)
p.user(user)
p.pass_(pw)
count, size = p.stat()
assert count == 2, (count, size)
resp, listing, _ = p.list()
sizes = [int(l.split()[1]) for l in listing]
assert sum(sizes) == size, (sizes, size)
resp, uids, _ = p.uidl()
assert len(uids) == 2 and uids[0] != uids[1], uids
resp, lines, octets = p.retr(1)
body = b'\r\n'.join(lines) + b'\r\n'
assert len(body) == sizes[0], (len(body), sizes[0])
assert b'.starts with a dot' in lines, lines
resp, lines, _ = p.top(2, 0)
assert lines[-1] == b'' and b'Subject: second' in lines, lines
p.dele(1)
try:
    p.retr(1)
    raise SystemExit('RETR of a deleted message succeeded')
except poplib.error_proto as e:
    assert str(e).startswith("b'-ERR"), e
p.rset()
assert p.stat()[0] == 2
p.dele(2)
p.quit()
p = poplib.POP3_SSL(host, int(os.environ['POP3S_PORT']), context=ctx, timeout=10)
p.user(user)
p.pass_(pw)
assert p.stat()[0] == 1
resp, uids2, _ = p.uidl()
assert uids2 == [b'1 ' + uids[0].split()[1]], (uids, uids2)
p.quit()
print('poplib ok')
`

func TestPoplib(t *testing.T) {
	py := testutil.NeedClient(t, "python3")
	e := newEnv(t)
	e.deliver(msg("first", "line\r\n.starts with a dot\r\n"))
	e.deliver(msg("second", "body\r\n"))
	dir := t.TempDir()
	script := filepath.Join(dir, "poplib_test.py")
	os.WriteFile(script, []byte(poplibScript), 0o600)
	ca := filepath.Join(e.dir, "cert.pem")
	host, port := hostPort(t, e.addr)
	_, sport := hostPort(t, e.tlsAddr)
	cmd := exec.Command(py, script, host, port, ca, testUser, testPass)
	cmd.Env = append(os.Environ(), "POP3S_PORT="+sport)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "poplib ok") {
		t.Fatalf("poplib: %v\n%s", err, out)
	}
	if e.count() != 1 {
		t.Fatalf("%d messages left, want 1", e.count())
	}
}
