package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"mailsuite/store"
)

// designExample is the configuration block of the original operator
// contract, verbatim (operators copied it into their files): every
// key with its default.
const designExample = `hostname = "mail.example.com"         # banner, HELO, Received headers
data_dir = "/var/lib/mailsuite"       # holds mail.db

[tls]
cert = "/etc/mailsuite/tls/fullchain.pem"
key  = "/etc/mailsuite/tls/privkey.pem"

[auth]
allow_plaintext = false   # allow USER/PASS, LOGIN and AUTH before TLS

[relay]
window = "30m"            # lifetime of a POP/IMAP-before-SMTP grant
sender_check = "strict"   # "strict": MAIL FROM must belong to the
                          # credential or to a user granted on that IP;
                          # "off": any sender (legacy behaviour)

[smtpd]
listen      = ["0.0.0.0:25"]    # MX and relay; STARTTLS offered
submission  = ["0.0.0.0:587"]   # auth or grant required
submissions = ["0.0.0.0:465"]   # implicit TLS
max_message_bytes = 26214400
max_recipients    = 100

[smtpd.queue]
retry    = ["5m", "10m", "30m", "1h", "2h", "4h"]  # then every 4h
lifetime = "120h"                                  # then bounce
smarthost = ""                                     # "host:port" to send everything via
routes    = { }                                    # domain = "host:port", static next hop

[pop3d]
listen     = ["0.0.0.0:110"]    # STLS offered
tls_listen = ["0.0.0.0:995"]

[imapd]
listen     = ["0.0.0.0:143"]    # STARTTLS offered
tls_listen = ["0.0.0.0:993"]
`

// writeConfig writes text to a config file in a fresh directory.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mailsuite.toml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// loadErr loads text and returns the error message, failing if there is none.
func loadErr(t *testing.T, text string) (path, msg string) {
	t.Helper()
	path = writeConfig(t, text)
	_, err := Load(path)
	if err == nil {
		t.Fatalf("Load(%q) succeeded, want error", text)
	}
	return path, err.Error()
}

func wantContains(t *testing.T, msg string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(msg, s) {
			t.Errorf("error %q does not contain %q", msg, s)
		}
	}
}

func TestDefault(t *testing.T) {
	c := Default()
	if c.Hostname == "" {
		t.Error("Hostname is empty")
	}
	if c.DataDir != "/var/lib/mailsuite" || c.DBPath() != "/var/lib/mailsuite/mail.db" {
		t.Errorf("DataDir %q DBPath %q", c.DataDir, c.DBPath())
	}
	if c.TLS.Cert != "/etc/mailsuite/tls/fullchain.pem" || c.TLS.Key != "/etc/mailsuite/tls/privkey.pem" {
		t.Errorf("TLS = %+v", c.TLS)
	}
	if c.Auth.AllowPlaintext {
		t.Error("AllowPlaintext defaults to true")
	}
	if c.Relay.Window.Duration != 30*time.Minute || c.Relay.SenderCheck != "strict" {
		t.Errorf("Relay = %+v", c.Relay)
	}
	s := c.SMTPD
	if !reflect.DeepEqual(s.Listen, []string{"0.0.0.0:25"}) ||
		!reflect.DeepEqual(s.Submission, []string{"0.0.0.0:587"}) ||
		!reflect.DeepEqual(s.Submissions, []string{"0.0.0.0:465"}) ||
		s.MaxMessageBytes != 26214400 || s.MaxRecipients != 100 ||
		s.MXLimits() != (ConnLimits{Max: 500, PerIP: 20}) ||
		s.SubmissionLimits() != (ConnLimits{Max: 500, PerIP: 20}) {
		t.Errorf("SMTPD = %+v", s)
	}
	var retry []time.Duration
	for _, d := range s.Queue.Retry {
		retry = append(retry, d.Duration)
	}
	wantRetry := []time.Duration{5 * time.Minute, 10 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 4 * time.Hour}
	if !reflect.DeepEqual(retry, wantRetry) || s.Queue.Lifetime.Duration != 120*time.Hour || s.Queue.Smarthost != "" {
		t.Errorf("Queue = %+v", s.Queue)
	}
	if !reflect.DeepEqual(c.POP3D, POP3DConfig{Listen: []string{"0.0.0.0:110"}, TLSListen: []string{"0.0.0.0:995"},
		MaxConnections: 500, MaxConnectionsPerIP: 20}) {
		t.Errorf("POP3D = %+v", c.POP3D)
	}
	if !reflect.DeepEqual(c.IMAPD, IMAPDConfig{Listen: []string{"0.0.0.0:143"}, TLSListen: []string{"0.0.0.0:993"},
		MaxConnections: 20000, MaxConnectionsPerIP: 50}) {
		t.Errorf("IMAPD = %+v", c.IMAPD)
	}
}

func TestLoadDesignExampleMatchesDefaults(t *testing.T) {
	path := writeConfig(t, designExample)
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Path = path
	want.Hostname = "mail.example.com"
	if len(c.SMTPD.Queue.Routes) != 0 {
		t.Errorf("Routes = %v, want empty", c.SMTPD.Queue.Routes)
	}
	c.SMTPD.Queue.Routes = nil
	if !reflect.DeepEqual(c, want) {
		t.Errorf("the contract's example differs from Default():\n got %+v\nwant %+v", c, want)
	}
}

func TestLoadEmptyFileGivesDefaults(t *testing.T) {
	path := writeConfig(t, "")
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Path = path
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got %+v\nwant %+v", c, want)
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.toml")
	_, err := Load(path)
	if err == nil || !strings.HasPrefix(err.Error(), "config: open "+path+": ") {
		t.Fatalf("err = %v", err)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("errors.Is(%v, fs.ErrNotExist) = false", err)
	}
}

func TestLoadUnknownKey(t *testing.T) {
	path, msg := loadErr(t, "[relay]\nwindw = \"1m\"\n")
	wantContains(t, msg, "config "+path, "relay.windw", "unknown key", "line 2")
}

func TestLoadUnknownTableReportedOnce(t *testing.T) {
	path, msg := loadErr(t, "hostname = \"h\"\n\n[smtp]\nlisten = []\n")
	wantContains(t, msg, "config "+path+": smtp: unknown key (line 3)")
	if strings.Contains(msg, "smtp.listen") {
		t.Errorf("error %q also reports keys inside the unknown table", msg)
	}
}

func TestLoadUnknownDottedKey(t *testing.T) {
	_, msg := loadErr(t, "hostname = \"h\"\nsmtpd.queue.lifetim = \"1h\"\n")
	wantContains(t, msg, "smtpd.queue.lifetim", "line 2")
}

func TestLoadSyntaxError(t *testing.T) {
	path, msg := loadErr(t, "hostname = \"h\"\n[relay]\nwindow = 30m\n")
	wantContains(t, msg, "config "+path+": line 3")
}

func TestLoadWrongType(t *testing.T) {
	_, msg := loadErr(t, "[smtpd]\nmax_recipients = \"many\"\n")
	wantContains(t, msg, "smtpd.max_recipients", "line 2")
}

func TestLoadBadDuration(t *testing.T) {
	path, msg := loadErr(t, "[relay]\nwindow = \"abc\"\n")
	wantContains(t, msg, "config "+path+": relay.window: invalid duration \"abc\"", "line 2")
}

func TestLoadNonPositiveDurations(t *testing.T) {
	_, msg := loadErr(t, "[relay]\nwindow = \"-5m\"\n[smtpd.queue]\nretry = [\"5m\", \"0s\"]\nlifetime = \"0s\"\n")
	wantContains(t, msg, "relay.window: must be positive", "smtpd.queue.retry: must be positive", `smtpd.queue.lifetime: must be positive, got "0s" (line 5)`)
}

func TestLoadBadSenderCheck(t *testing.T) {
	_, msg := loadErr(t, "[relay]\nsender_check = \"loose\"\n")
	wantContains(t, msg, `relay.sender_check: must be "strict" or "off", got "loose" (line 2)`)
}

func TestLoadBadAddresses(t *testing.T) {
	_, msg := loadErr(t, `[smtpd]
listen = ["0.0.0.0"]
submission = ["0.0.0.0:smtp"]
max_message_bytes = 0
max_recipients = -1
[smtpd.queue]
smarthost = "relay.example.net"
routes = { "example.org" = "mx.example.org:0" }
[imapd]
tls_listen = ["[::1]:99999"]
`)
	wantContains(t, msg,
		"smtpd.listen: \"0.0.0.0\": want \"host:port\"",
		"smtpd.submission: \"0.0.0.0:smtp\": port must be a number",
		"smtpd.max_message_bytes: must be positive",
		"smtpd.max_recipients: must be positive",
		"smtpd.queue.smarthost:",
		"smtpd.queue.routes.example.org:",
		"imapd.tls_listen:")
}

func TestLoadConnectionLimits(t *testing.T) {
	_, msg := loadErr(t, "[smtpd]\nmax_connections_per_ip = 0\nsubmission_max_connections = -1\n[imapd]\nmax_connections_per_ip = 0\n")
	wantContains(t, msg, "smtpd.max_connections_per_ip: must be positive, got 0 (line 2)",
		"smtpd.submission_max_connections: must be positive, got -1 (line 3)",
		"imapd.max_connections_per_ip: must be positive")
	c, err := Load(writeConfig(t, "[pop3d]\nmax_connections = 7\nmax_connections_per_ip = 3\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.POP3D.Limits(); got != (ConnLimits{Max: 7, PerIP: 3}) {
		t.Errorf("POP3D.Limits() = %+v", got)
	}
}

func TestLoadRoutesAndEmptyListeners(t *testing.T) {
	path := writeConfig(t, `[smtpd]
listen = []
[smtpd.queue]
smarthost = "relay.example.net:587"
routes = { "Example.ORG" = "mx.example.org:25" }
[pop3d]
listen = []
tls_listen = ["127.0.0.1:0"]
`)
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.SMTPD.Queue.Routes; !reflect.DeepEqual(got, map[string]string{"example.org": "mx.example.org:25"}) {
		t.Errorf("Routes = %v, want lowercased key", got)
	}
	if len(c.SMTPD.Listen) != 0 || len(c.POP3D.Listen) != 0 {
		t.Errorf("empty listen lists not kept: %v %v", c.SMTPD.Listen, c.POP3D.Listen)
	}
	if len(c.SMTPD.Submission) != 1 {
		t.Errorf("Submission = %v, want default", c.SMTPD.Submission)
	}
}

func TestLoadRelativePaths(t *testing.T) {
	path := writeConfig(t, "data_dir = \"var\"\n[tls]\ncert = \"tls/cert.pem\"\nkey = \"/abs/key.pem\"\n")
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(path)
	if c.DataDir != filepath.Join(dir, "var") || c.DBPath() != filepath.Join(dir, "var", "mail.db") {
		t.Errorf("DataDir = %q, DBPath = %q", c.DataDir, c.DBPath())
	}
	if c.TLS.Cert != filepath.Join(dir, "tls/cert.pem") || c.TLS.Key != "/abs/key.pem" {
		t.Errorf("TLS = %+v", c.TLS)
	}
}

func TestDurationText(t *testing.T) {
	var d Duration
	if err := d.UnmarshalText([]byte("90m")); err != nil || d.Duration != 90*time.Minute {
		t.Fatalf("UnmarshalText: %v, %v", d, err)
	}
	b, err := d.MarshalText()
	if err != nil || string(b) != "1h30m0s" {
		t.Errorf("MarshalText = %q, %v", b, err)
	}
	if err := d.UnmarshalText([]byte("soon")); err == nil {
		t.Error("UnmarshalText(soon) succeeded")
	}
}

func TestLoadQuota(t *testing.T) {
	_, msg := loadErr(t, "[quota]\ndefault_storage = -1\nmax_messages = -2\nmax_mailboxes = -3\nmax_keywords = -4\n")
	wantContains(t, msg,
		"quota.default_storage: must be 0 (unlimited) or more, got -1 (line 2)",
		"quota.max_messages: must be 0 (unlimited) or more",
		"quota.max_mailboxes: must be 0 (unlimited) or more",
		"quota.max_keywords: must be 0 (unlimited) or more")
	c, err := Load(writeConfig(t, "[quota]\ndefault_storage = 0\nmax_keywords = 7\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := store.Limits{Storage: 0, Messages: 200000, Mailboxes: 1000, Keywords: 7}
	if got := c.Quota.Limits(); got != want {
		t.Errorf("limits = %+v, want %+v", got, want)
	}
}

func TestLoadBadDMARC(t *testing.T) {
	_, msg := loadErr(t, "[smtpd]\ndmarc = \"reject\"\n")
	wantContains(t, msg, `smtpd.dmarc: must be "header" or "enforce", got "reject" (line 2)`)
}

func TestLoadNoGrantFrom(t *testing.T) {
	_, msg := loadErr(t, "[relay]\nno_grant_from = [\"127.0.0.1\", \"webmail\", \"10.0.0.0/33\"]\n")
	wantContains(t, msg, `relay.no_grant_from: "webmail": want an IP address or a CIDR prefix (line 2)`,
		`relay.no_grant_from: "10.0.0.0/33"`)
	c, err := Load(writeConfig(t, "[relay]\nno_grant_from = [\"127.0.0.1\", \"::1\", \"192.0.2.9/24\", \"::ffff:198.51.100.7\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range c.Relay.NoGrant() {
		got = append(got, p.String())
	}
	if want := "127.0.0.1/32 ::1/128 192.0.2.0/24 198.51.100.7/32"; strings.Join(got, " ") != want {
		t.Errorf("NoGrant() = %v, want %s", got, want)
	}
	if len(Default().Relay.NoGrant()) != 0 {
		t.Error("by default some address records no grants")
	}
}
