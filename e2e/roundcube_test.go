package e2e

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"mailsuite/internal/testutil"
)

// Where Debian's roundcube packages put Roundcube: the public document
// root (whose index.php sets INSTALL_PATH to its parent, where program/,
// plugins/ and skins/ are linked from /usr/share/roundcube), the schema
// and the defaults every configuration starts from.
const (
	roundcubeDocRoot  = "/var/lib/roundcube/public_html"
	roundcubeSchema   = "/usr/share/roundcube/SQL/sqlite.initial.sql"
	roundcubeDefaults = "/etc/roundcube/defaults.inc.php"
	roundcubeMimes    = "/etc/roundcube/mimetypes.php"
	roundcubeHTTPAPI  = "/usr/share/roundcube/plugins/password/drivers/httpapi.php"
)

// webmail is what the Roundcube test needs from outside the repository:
// a python3 with selenium, and the paths of the browser and its driver.
type webmail struct {
	python, chromium, driver string
}

// needWebmail finds Debian's roundcube, php (with SQLite), chromium,
// chromedriver, python3-selenium and swaks. Outside CI a missing one
// skips the test; under CI (.ci/run installs them all) it fails it.
func needWebmail(t *testing.T) webmail {
	t.Helper()
	missing := func(what string) {
		t.Helper()
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not installed (.ci/run installs it)", what)
		}
		t.Skipf("%s not installed", what)
	}
	var w webmail
	for _, f := range []string{roundcubeDocRoot + "/index.php", roundcubeSchema, roundcubeDefaults, roundcubeHTTPAPI} {
		if _, err := os.Stat(f); err != nil {
			missing("roundcube (" + f + ")")
		}
	}
	for _, n := range []string{"php", "swaks"} {
		if _, err := exec.LookPath(n); err != nil {
			missing(n)
		}
	}
	if out, err := exec.Command("php", "-m").Output(); err != nil || !strings.Contains(string(out), "pdo_sqlite") {
		missing("php-sqlite3")
	}
	w.chromium = lookFirst("chromium", "chromium-browser")
	w.driver = lookFirst("chromedriver", "/usr/lib/chromium/chromedriver")
	if w.chromium == "" || w.driver == "" {
		missing("chromium and chromium-driver")
	}
	// Debian's python3-selenium is in the system python3, which a python3
	// earlier in PATH (a pyenv, a venv) may not see.
	for _, p := range []string{"python3", "/usr/bin/python3"} {
		if err := exec.Command(p, "-c", "import selenium").Run(); err == nil {
			w.python = p
			break
		}
	}
	if w.python == "" {
		missing("python3-selenium")
	}
	return w
}

// lookFirst returns the path of the first of names found, or "".
func lookFirst(names ...string) string {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}

// roundcube is Roundcube served by php's built-in web server on loopback,
// with its own configuration folder, SQLite database and logs.
type roundcube struct {
	url  string
	logs string // Roundcube's log folder
	php  *testutil.SyncBuffer
}

// startRoundcube writes a Roundcube configuration for the suite's daemons
// from deploy/roundcube (IMAP with STARTTLS and SMTP submission with the
// user's own password, both verifying the suite's certificate; the
// password plugin on the httpapi endpoint at pwAPI) and serves it on a
// free loopback port. search_mods adds the body to quick search, so
// that the test searches it from the search box.
func startRoundcube(t *testing.T, s *suite, pwAPI string) *roundcube {
	t.Helper()
	dir := filepath.Join(s.dir, "roundcube")
	conf := filepath.Join(dir, "config")
	rc := &roundcube{logs: filepath.Join(dir, "logs"), php: &testutil.SyncBuffer{}}
	for _, d := range []string{conf, rc.logs, filepath.Join(dir, "temp")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{roundcubeDefaults, roundcubeMimes} {
		if err := os.Symlink(f, filepath.Join(conf, filepath.Base(f))); err != nil {
			t.Fatal(err)
		}
	}
	dbPath := filepath.Join(dir, "roundcube.db")
	initRoundcubeDB(t, dbPath)
	// The deployed drop-in, with the test's addresses, certificate and
	// paths; plain HTTP on loopback instead of force_https.
	text := fmt.Sprintf(`<?php
$config = [];
$config['db_dsnw'] = 'sqlite:///%s?mode=0600';
$config['des_key'] = 'e2e-test-key-of-24-chars';
include '%s';
$config['temp_dir'] = '%s/temp/';
$config['log_dir'] = '%s/';
$config['force_https'] = false;
$config['language'] = 'en_US';
$config['imap_host'] = 'tls://127.0.0.1:%d';
$config['smtp_host'] = 'tls://127.0.0.1:%d';
$config['imap_conn_options']['ssl']['cafile'] = '%s';
$config['smtp_conn_options']['ssl']['cafile'] = '%s';
$config['search_mods'] = ['*' => ['subject' => 1, 'from' => 1, 'body' => 1]];
$config['password_httpapi_url'] = 'http://%s/';
`, dbPath, filepath.Join(moduleRoot, "deploy", "roundcube", "mailsuite.inc.php"), dir, rc.logs,
		s.ports.IMAP, s.ports.Submission, s.cert, s.cert, pwAPI)
	if err := os.WriteFile(filepath.Join(conf, "config.inc.php"), []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	rc.url = fmt.Sprintf("http://127.0.0.1:%d/", port)
	cmd := exec.Command("php", "-S", addr(port), "-t", roundcubeDocRoot)
	cmd.Env = append(os.Environ(), "ROUNDCUBE_CONFIG_DIR="+conf, "PHP_CLI_SERVER_WORKERS=4")
	cmd.Stdout, cmd.Stderr = rc.php, rc.php
	// Its own process group, so that the workers go with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	up := eventually(30*time.Second, func() bool {
		resp, err := http.Get(rc.url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	if !up {
		t.Fatalf("roundcube not serving on %s", rc.url)
	}
	return rc
}

// initRoundcubeDB creates Roundcube's SQLite database from its schema.
func initRoundcubeDB(t *testing.T, path string) {
	t.Helper()
	schema, err := os.ReadFile(roundcubeSchema)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(string(schema)); err != nil {
		t.Fatalf("roundcube schema: %v", err)
	}
}

// logs returns Roundcube's error log and php's output, for a failure.
func (rc *roundcube) logsText() string {
	errs, _ := os.ReadFile(filepath.Join(rc.logs, "errors.log"))
	return "roundcube errors.log:\n" + string(errs) + "\nphp -S:\n" + rc.php.String()
}

// artifactDir is where a failing browser test leaves its screenshot and
// page source: the test's artifact folder under go test -artifacts, else
// a folder under the temporary directory that outlives the test (the
// failure message names it).
func artifactDir(t *testing.T) string {
	if f := flag.Lookup("test.artifacts"); f != nil && f.Value.String() == "true" {
		return t.ArtifactDir()
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("mailsuite-%s-%d", t.Name(), time.Now().UnixNano()))
}

// TestRoundcube drives Roundcube in a headless chromium against the real
// daemons, as a webmail user does: read a message swaks delivered, send
// to a local and a remote user, find both in Sent, move to Trash, empty
// Trash, create a folder, search by subject and body, flag, log out; the
// recipient logs in and reads the message, then changes the password in
// the settings (imapd.password_api) and logs in with the new one. The
// web server's address is in relay.no_grant_from: its logins leave no
// relay grant, and its mail goes out with SMTP AUTH all the same.
func TestRoundcube(t *testing.T) {
	w := needWebmail(t)
	s := newSuite(t)
	mx := newFakeMX(t)
	s.route("remote.test", mx.addr())
	pwAPI := addr(freePort(t))
	s.extra = fmt.Sprintf("password_api = %q\n\n[relay]\nno_grant_from = [\"127.0.0.0/8\", \"::1\"]\n", pwAPI)
	s.writeConfig()
	const (
		alice, alicePass = "alice@example.test", "alice-webmail-1"
		bob, bobPass     = "bob@example.test", "bob-webmail-22"
		bobNewPass       = "bob-changed-it-333"
	)
	s.addUser(alice, alicePass)
	s.addUser(bob, bobPass)
	s.start("smtpd", "imapd")

	// The message to read, and one that searches must leave out,
	// delivered as any mail from outside.
	for subject, body := range map[string]string{
		"greetings from swaks": "the swaks body says kumquat",
		"another letter":       "nothing to find here",
	} {
		out, code := run(t, s.dir, "", "swaks", "--server", addr(s.ports.SMTP), "--silent", "2",
			"--from", "someone@remote.test", "--to", alice,
			"--header", "Subject: "+subject, "--body", body)
		if code != 0 {
			t.Fatalf("swaks: %d\n%s", code, out)
		}
	}
	rc := startRoundcube(t, s, pwAPI)

	shots := artifactDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, w.python, filepath.Join("testdata", "roundcube.py"))
	cmd.Env = append(os.Environ(),
		"RC_URL="+rc.url, "CHROMIUM="+w.chromium, "CHROMEDRIVER="+w.driver, "ARTIFACTS="+shots,
		"ALICE="+alice, "ALICE_PASS="+alicePass, "BOB="+bob, "BOB_PASS="+bobPass,
		"BOB_NEW_PASS="+bobNewPass, "REMOTE=someone@remote.test")
	outb, err := cmd.CombinedOutput()
	t.Logf("roundcube.py:\n%s", outb)
	if err != nil {
		t.Fatalf("roundcube.py: %v (screenshot and page source in %s)\n%s", err, shots, rc.logsText())
	}

	// The remote message left through the sink route, with the user's
	// own credential (submission requires it).
	if _, ok := mx.waitFor(time.Minute, "Subject: webmail to remote"); !ok {
		t.Errorf("the remote message did not reach the sink\nsmtpd log:\n%s", s.logOf("smtpd"))
	}
	if out := s.mailctl("", "grants", "list"); strings.Contains(out, "@example.test") {
		t.Errorf("webmail logins from a no_grant_from address left relay grants:\n%s", out)
	}
	// The password changed in the store: IMAP LOGIN refuses the old one.
	pyOut, code := python(t, "imap_login.py", "HOST=127.0.0.1", fmt.Sprintf("PORT=%d", s.ports.IMAP),
		"USER="+bob, "PASS="+bobPass)
	if code == 0 || !strings.Contains(pyOut, "refused") {
		t.Errorf("IMAP LOGIN with bob's old password: %d %s", code, pyOut)
	}
	log := s.logOf("imapd")
	if !strings.Contains(log, `msg="password changed"`) || !strings.Contains(log, "user="+bob) {
		t.Errorf("imapd logged no password change for %s:\n%s", bob, log)
	}
	if strings.Contains(log, bobNewPass) || strings.Contains(log, bobPass) {
		t.Error("a password is in imapd's log")
	}
}
