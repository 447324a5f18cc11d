package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"mailsuite/internal/pgtest"
	"mailsuite/store"
)

// mailctlBin is the binary under test, built once by TestMain: the tests
// drive it as an operator would, as a subprocess with a real config file
// and a real store.
var mailctlBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mailctl-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	mailctlBin = filepath.Join(dir, "mailctl")
	build := exec.Command("go", "build", "-o", mailctlBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build mailctl:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := pgtest.Run(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// testEnv is a config file and a data directory in t.TempDir().
type testEnv struct {
	t       *testing.T
	dir     string
	config  string
	dataDir string
}

func newEnv(t *testing.T) *testEnv {
	t.Helper()
	dir := t.TempDir()
	e := &testEnv{t: t, dir: dir, config: filepath.Join(dir, "mailsuite.toml"), dataDir: filepath.Join(dir, "data")}
	if err := os.Mkdir(e.dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	e.writeConfig("hostname = \"mail.test\"\ndata_dir = \"data\"\n")
	return e
}

func (e *testEnv) writeConfig(text string) {
	e.t.Helper()
	if err := os.WriteFile(e.config, []byte(text), 0o600); err != nil {
		e.t.Fatal(err)
	}
}

func (e *testEnv) dbPath() string { return filepath.Join(e.dataDir, "mail.db") }

// exec runs mailctl with stdin and args, -config added at the end (flags
// after the command are part of the contract).
func (e *testEnv) exec(stdin string, args ...string) (stdout, stderr string, code int) {
	e.t.Helper()
	return runBin(e.t, stdin, append(args, "-config", e.config)...)
}

// runBin runs the binary with exactly args.
func runBin(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(mailctlBin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("run mailctl %q: %v", args, err)
	}
	return out.String(), errb.String(), code
}

// ok runs a command that must succeed and returns its stdout.
func (e *testEnv) ok(stdin string, args ...string) string {
	e.t.Helper()
	out, errs, code := e.exec(stdin, args...)
	if code != 0 || errs != "" {
		e.t.Fatalf("mailctl %q: exit %d, stderr %q", args, code, errs)
	}
	return out
}

// fail runs a command that must fail with code and a one-line error
// containing want.
func (e *testEnv) fail(code int, want, stdin string, args ...string) {
	e.t.Helper()
	out, errs, got := e.exec(stdin, args...)
	checkFailure(e.t, args, out, errs, got, code, want)
}

func checkFailure(t *testing.T, args []string, out, errs string, got, code int, want string) {
	t.Helper()
	if got != code {
		t.Errorf("mailctl %q: exit %d, want %d (stderr %q)", args, got, code, errs)
	}
	if out != "" {
		t.Errorf("mailctl %q: stdout %q, want nothing", args, out)
	}
	if !strings.HasPrefix(errs, "mailctl: ") || !strings.HasSuffix(errs, "\n") || strings.Count(errs, "\n") != 1 {
		t.Errorf("mailctl %q: stderr %q, want one line starting \"mailctl: \"", args, errs)
	}
	if !strings.Contains(errs, want) {
		t.Errorf("mailctl %q: stderr %q, want it to contain %q", args, errs, want)
	}
}

// openStore opens the store the binary wrote, to check what it stored.
func (e *testEnv) openStore() *store.Store {
	e.t.Helper()
	st, err := store.Open(e.dbPath())
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { st.Close() })
	return st
}

func (e *testEnv) user(addr string) store.User {
	e.t.Helper()
	u, err := e.openStore().UserByAddress(context.Background(), addr)
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

func lines(s ...string) string {
	if len(s) == 0 {
		return ""
	}
	return strings.Join(s, "\n") + "\n"
}
