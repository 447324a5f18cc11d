package e2e

import (
	"bytes"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"mailsuite/shared/auth"
	"mailsuite/shared/config"
)

// configKeys lists every key of config.Config as a dotted TOML path
// ("smtpd.queue.retry"), from the struct tags, so the checks below follow
// the code as keys are added.
func configKeys() [][]string {
	var keys [][]string
	var walk func(t reflect.Type, prefix []string)
	walk = func(t reflect.Type, prefix []string) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := strings.Split(f.Tag.Get("toml"), ",")[0]
			if tag == "" || tag == "-" {
				continue
			}
			key := append(append([]string(nil), prefix...), tag)
			if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(config.Duration{}) {
				walk(f.Type, key)
				continue
			}
			keys = append(keys, key)
		}
	}
	walk(reflect.TypeOf(config.Config{}), nil)
	return keys
}

func exampleConfig() string { return filepath.Join(moduleRoot, "deploy", "mailsuite.toml") }

// TestExampleConfig: deploy/mailsuite.toml sets every key, and every value
// except hostname and the metrics addresses (on loopback there, off by
// default) is the default the code uses, so the example documents the
// defaults truthfully.
func TestExampleConfig(t *testing.T) {
	var raw map[string]any
	md, err := toml.DecodeFile(exampleConfig(), &raw)
	if err != nil {
		t.Fatal(err)
	}
	keys := configKeys()
	if len(keys) < 20 {
		t.Fatalf("found only %d config keys: %v", len(keys), keys)
	}
	for _, k := range keys {
		if !md.IsDefined(k...) {
			t.Errorf("deploy/mailsuite.toml does not set %s", strings.Join(k, "."))
		}
	}

	got, err := config.Load(exampleConfig())
	if err != nil {
		t.Fatalf("config.Load: %v", err)
	}
	want := config.Default()
	if got.Hostname != "mail.example.com" {
		t.Errorf("hostname = %q, want the placeholder mail.example.com", got.Hostname)
	}
	got.Hostname, got.Path = want.Hostname, want.Path
	// The example turns metrics on, on loopback only.
	for _, d := range []string{"smtpd", "pop3d", "imapd"} {
		if a := got.MetricsAddr(d); !strings.HasPrefix(a, "127.0.0.1:") {
			t.Errorf("%s.metrics = %q, want a loopback address", d, a)
		}
	}
	got.SMTPD.Metrics, got.POP3D.Metrics, got.IMAPD.Metrics = want.SMTPD.Metrics, want.POP3D.Metrics, want.IMAPD.Metrics
	if len(got.SMTPD.Queue.Routes) == 0 {
		got.SMTPD.Queue.Routes = want.SMTPD.Queue.Routes // { } and absent are the same
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("example config differs from config.Default():\n got %+v\nwant %+v", got, want)
	}
}

// TestREADMEConfigReference: README.md's configuration reference names
// every key (as `section.key`) and the mailctl commands.
func TestREADMEConfigReference(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(moduleRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, k := range configKeys() {
		if key := "`" + strings.Join(k, ".") + "`"; !strings.Contains(readme, key) {
			t.Errorf("README.md does not document %s", key)
		}
	}
	for _, cmd := range []string{
		"mailctl domain add", "mailctl domain smtp-password", "mailctl user add",
		"mailctl user passwd", "mailctl user smtp", "mailctl alias add",
		"mailctl grants list", "mailctl queue list", "mailctl backup",
	} {
		if !strings.Contains(readme, cmd) {
			t.Errorf("README.md does not mention %q", cmd)
		}
	}
	// The replies to a refused or idle connection, as the daemons' tests
	// check them, so an operator can find them in a client's log.
	for _, reply := range []string{
		"421 4.7.0 mail.example.com Too many connections", "-ERR [SYS/TEMP] too many connections",
		"* BYE Too many connections", "421 4.4.2 Idle timeout", "-ERR autologout",
		"* BYE Autologout",
	} {
		if !strings.Contains(readme, reply) {
			t.Errorf("README.md does not name the reply %q", reply)
		}
	}
}

// failRegex reads the fail2ban filter's failregex and translates it to Go:
// <HOST> becomes a capturing group for an IPv4 or IPv6 address.
func failRegex(t *testing.T) *regexp.Regexp {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(moduleRoot, "deploy", "fail2ban", "filter.d", "mailsuite.conf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "failregex ="); ok {
			expr := strings.Replace(strings.TrimSpace(v), "<HOST>", `(?P<host>[0-9A-Fa-f.:]+)`, 1)
			return regexp.MustCompile(expr)
		}
	}
	t.Fatal("no failregex in the fail2ban filter")
	return nil
}

// hostsMatched returns the <HOST> of every log line the filter matches.
func hostsMatched(re *regexp.Regexp, log string) []string {
	var hosts []string
	for _, line := range strings.Split(log, "\n") {
		if m := re.FindStringSubmatch(line); m != nil {
			hosts = append(hosts, m[re.SubexpIndex("host")])
		}
	}
	return hosts
}

// TestFail2banFilterLogLines: the filter matches the failure lines that
// auth.LogFailure writes, takes the peer IP from them, ignores
// successes and throttled logins, and cannot be fooled by a user name that
// imitates the fields.
func TestFail2banFilterLogLines(t *testing.T) {
	re := failRegex(t)
	var buf bytes.Buffer
	for _, d := range []string{"smtpd", "pop3d", "imapd"} {
		l := slog.New(slog.NewTextHandler(&buf, nil)).With("daemon", d)
		auth.LogFailure(l, "x", "192.0.2.7", "a@example.com", "bad password")
		auth.LogFailure(l, "x", "2001:db8::1", "b@example.com", "unknown user")
		auth.LogSuccess(l, "x", "198.51.100.1", "a@example.com")
		// A throttled login checked no password: the owner of an account
		// under attack gets it too, and must not be banned for it.
		auth.LogThrottled(l, "x", "198.51.100.2", "a@example.com", "account limit")
		auth.LogFailure(l, "x", "203.0.113.9", `x" ip=10.9.9.9 msg="auth failed" daemon=a proto=b ip=10.9.9.9`, "unknown user")
	}
	got := hostsMatched(re, buf.String())
	want := strings.Repeat("192.0.2.7 2001:db8::1 203.0.113.9 ", 3)
	if strings.Join(got, " ")+" " != want {
		t.Errorf("filter matched hosts %q, want %q\nlog:\n%s", got, want, buf.String())
	}
}

// TestFail2banRegexTool runs fail2ban's own fail2ban-regex over lines from
// auth.LogFailure (and a throttled login it must not match), when
// fail2ban is installed.
func TestFail2banRegexTool(t *testing.T) {
	needTool(t, "fail2ban-regex")
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, nil)).With("daemon", "pop3d")
	auth.LogFailure(l, "pop3", "192.0.2.7", "a@example.com", "bad password")
	auth.LogFailure(l, "pop3", "192.0.2.8", "b@example.com", "bad password")
	auth.LogSuccess(l, "pop3", "192.0.2.9", "a@example.com")
	auth.LogThrottled(l, "pop3", "192.0.2.10", "a@example.com", "account limit")
	logf := filepath.Join(t.TempDir(), "mail.log")
	os.WriteFile(logf, buf.Bytes(), 0o600)
	filter := filepath.Join(moduleRoot, "deploy", "fail2ban", "filter.d", "mailsuite.conf")
	out, err := exec.Command("fail2ban-regex", logf, filter).CombinedOutput()
	if err != nil {
		t.Fatalf("fail2ban-regex: %v\n%s", err, out)
	}
	if !regexp.MustCompile(`Lines: 4 lines, 0 ignored, 2 matched`).Match(out) {
		t.Errorf("fail2ban-regex did not match exactly the 2 failures:\n%s", out)
	}
}

// units are the systemd units deploy/ holds, one per daemon. The binaries
// and units carry the mailsuite- prefix (Debian's OpenSMTPD installs an
// smtpd of its own); the source folders and the daemon= log field keep the
// short names.
var units = []string{"mailsuite-smtpd", "mailsuite-pop3d", "mailsuite-imapd"}

// TestSystemdUnits: the three units agree with each other and with the
// contract (notify, the prefixed binary under /usr/local/bin, exit 2 not
// restarted, reload by SIGHUP), and systemd-analyze verify accepts them
// when it is installed.
func TestSystemdUnits(t *testing.T) {
	dir := filepath.Join(moduleRoot, "deploy")
	var first string
	for _, d := range units {
		b, err := os.ReadFile(filepath.Join(dir, d+".service"))
		if err != nil {
			t.Fatal(err)
		}
		unit := string(b)
		for _, want := range []string{
			"Type=notify", "User=mailsuite", "StateDirectory=mailsuite", "ConfigurationDirectory=mailsuite",
			"ExecStart=/usr/local/bin/" + d + " -config /etc/mailsuite/mailsuite.toml",
			"ExecReload=/bin/kill -HUP $MAINPID", "RestartPreventExitStatus=2", "Restart=on-failure",
			"AmbientCapabilities=CAP_NET_BIND_SERVICE", "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
			"NoNewPrivileges=yes", "ProtectSystem=strict", "SystemCallFilter=@system-service",
			"MemoryDenyWriteExecute=yes",
		} {
			if !strings.Contains(unit, "\n"+want+"\n") {
				t.Errorf("%s.service lacks %q", d, want)
			}
		}
		// Apart from the description and the binary, the units are one.
		generic := regexp.MustCompile(`(?m)^(# mailsuite|Description=).*$`).ReplaceAllString(strings.ReplaceAll(unit, d, "X"), "")
		if first == "" {
			first = generic
		} else if generic != first {
			t.Errorf("%s.service differs from %s.service beyond its name", d, units[0])
		}
	}
	for _, short := range []string{"smtpd", "pop3d", "imapd"} {
		if _, err := os.Stat(filepath.Join(dir, short+".service")); err == nil {
			t.Errorf("deploy/%s.service still exists: the units are named mailsuite-%s.service", short, short)
		}
	}
	sysusers, err := os.ReadFile(filepath.Join(dir, "mailsuite.sysusers"))
	if err != nil || !regexp.MustCompile(`(?m)^u mailsuite `).Match(sysusers) {
		t.Errorf("deploy/mailsuite.sysusers does not create the mailsuite user: %v", err)
	}
}

// TestInstalledNames: the fail2ban filter reads the journal of exactly the
// units deploy/ holds, and README.md's systemctl and journalctl lines name
// those units, so an operator who copies them starts and watches the right
// services.
func TestInstalledNames(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(moduleRoot, "deploy", "fail2ban", "filter.d", "mailsuite.conf"))
	if err != nil {
		t.Fatal(err)
	}
	var match []string
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "journalmatch ="); ok {
			for _, f := range strings.Split(v, "+") {
				match = append(match, strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(f), "_SYSTEMD_UNIT="), ".service"))
			}
		}
	}
	if strings.Join(match, " ") != strings.Join(units, " ") {
		t.Errorf("fail2ban journalmatch names units %q, want %q", match, units)
	}
	readme, err := os.ReadFile(filepath.Join(moduleRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(units, " ")
	for _, want := range []string{
		"systemctl enable --now " + all,
		"systemctl reload " + all,
		"systemctl stop " + all,
		"journalctl -u " + strings.Join(units, " -u "),
	} {
		if !strings.Contains(string(readme), want) {
			t.Errorf("README.md lacks %q", want)
		}
	}
	if m := regexp.MustCompile(`systemctl \S+ (--now )?(smtpd|pop3d|imapd)\b`).Find(readme); m != nil {
		t.Errorf("README.md still names an unprefixed unit: %q", m)
	}
}
