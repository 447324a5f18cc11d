package main

import (
	"os/exec"
	"strings"
	"testing"

	"mailsuite/shared/auth"
)

// promptScript runs argv[1:] on a pseudo-terminal, answers each password
// prompt with the next of the given answers, and exits with the child's
// status. Go has no pty in the standard library; Python does.
const promptScript = `
import os, pty, sys
answers = sys.argv[1].split(",")
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
buf = b""
def read():
    global buf
    try:
        data = os.read(fd, 1024)
    except OSError:
        return False
    buf += data
    return bool(data)
for a in answers:
    while b":" not in buf:
        if not read():
            break
    buf = b""
    os.write(fd, a.encode() + b"\n")
while read():
    pass
_, status = os.waitpid(pid, 0)
sys.stdout.write(buf.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(status))
`

func TestPasswordPrompt(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	e := newEnv(t)
	e.ok("", "domain", "add", "example.com")
	prompt := func(answers string, args ...string) (string, error) {
		argv := append([]string{"-c", promptScript, answers, mailctlBin}, args...)
		out, err := exec.Command(py, append(argv, "-config", e.config)...).CombinedOutput()
		return string(out), err
	}
	if out, err := prompt("typed password,typed password", "user", "add", "a@example.com"); err != nil {
		t.Fatalf("user add on a terminal: %v: %s", err, out)
	}
	if !auth.CheckPassword(e.user("a@example.com").Hash, "typed password") {
		t.Errorf("prompted password not stored")
	}
	out, err := prompt("one,two", "user", "passwd", "a@example.com")
	if err == nil || !strings.Contains(out, "mailctl: password: the two entries do not match") {
		t.Errorf("mismatched prompts: err %v, output %q", err, out)
	}
	if !auth.CheckPassword(e.user("a@example.com").Hash, "typed password") {
		t.Errorf("mismatched prompts changed the password")
	}
}
