package testutil

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// dkimVerifyScript runs python3-dkim's own dkimverify command with
// dnspython's resolver pointed at the DNS server in DNS_SERVER
// ("host:port"), so the keys come from the test's zone over real DNS.
const dkimVerifyScript = `import os, sys
import dns.resolver
host, port = os.environ["DNS_SERVER"].rsplit(":", 1)
r = dns.resolver.Resolver(configure=False)
r.nameservers = [host]
r.port = int(port)
dns.resolver.default_resolver = r
from dkim.dkimverify import main
sys.exit(main())
`

// DKIMVerify checks the index-th DKIM-Signature (0 is the topmost) of msg
// with python3-dkim's dkimverify, an implementation independent of ours,
// fetching keys from the DNS server at dnsAddr. It returns whether the
// signature verified and what dkimverify said. The test is skipped when
// python3-dkim is not installed (Debian: python3-dkim).
func DKIMVerify(t testing.TB, dnsAddr string, msg []byte, index int) (bool, string) {
	t.Helper()
	bin := NeedClient(t, "dkimverify")
	python := interpreter(t, bin)
	script := filepath.Join(t.TempDir(), "dkimverify.py")
	if err := os.WriteFile(script, []byte(dkimVerifyScript), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, script, "--index", strconv.Itoa(index))
	cmd.Env = append(os.Environ(), "DNS_SERVER="+dnsAddr)
	cmd.Stdin = bytes.NewReader(msg)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return true, string(out)
	case errors.As(err, &ee) && ctx.Err() == nil && ee.ExitCode() == 1:
		return false, string(out)
	}
	t.Fatalf("dkimverify: %v: %s", err, out)
	return false, ""
}

// interpreter is the Python that a script's "#!" line names: python3-dkim
// is installed for the system's Python, which need not be the first
// python3 on PATH.
func interpreter(t testing.TB, script string) string {
	t.Helper()
	f, err := os.Open(script)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	line, _ := bufio.NewReader(f).ReadString('\n')
	if p, ok := strings.CutPrefix(strings.TrimSpace(line), "#!"); ok {
		if fields := strings.Fields(p); len(fields) == 1 {
			return fields[0]
		}
	}
	return "python3"
}
