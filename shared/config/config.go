// Package config reads and checks mailsuite.toml, the one configuration
// file of every daemon and mailctl: its keys, their defaults and the
// errors that point the operator at the line to fix.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// DefaultPath is where every daemon and mailctl look for the
// configuration when -config is not given.
const DefaultPath = "/etc/mailsuite/mailsuite.toml"

// Config is the one configuration file shared by smtpd, pop3d, imapd and
// mailctl. Every key has a default (see Default), so an operator writes only
// what differs; unknown keys are rejected so a typo never silently falls
// back to a default.
type Config struct {
	// Path is the file the configuration was loaded from; empty for Default().
	Path string `toml:"-"`
	// Hostname is used in banners, HELO/EHLO and Received headers.
	// Default: os.Hostname().
	Hostname string `toml:"hostname"`
	// DataDir holds mail.db. Relative paths are resolved against the
	// directory of the configuration file.
	DataDir string `toml:"data_dir"`

	Store StoreConfig `toml:"store"`
	TLS   TLSConfig   `toml:"tls"`
	Auth  AuthConfig  `toml:"auth"`
	Relay RelayConfig `toml:"relay"`
	SMTPD SMTPDConfig `toml:"smtpd"`
	POP3D POP3DConfig `toml:"pop3d"`
	IMAPD IMAPDConfig `toml:"imapd"`
	Quota QuotaConfig `toml:"quota"`
	DNS   DNSConfig   `toml:"dns"`
}

// DNSConfig chooses where every DNS lookup goes (MX, addresses, TXT for
// SPF, DKIM, DMARC and MTA-STS); see package shared/resolve.
type DNSConfig struct {
	// Resolver is "host:port" of the one DNS server to ask; empty: the
	// system's resolvers from /etc/resolv.conf.
	Resolver string `toml:"resolver"`
}

// TLSConfig names the certificate chain and key used by every daemon.
// Relative paths are resolved against the configuration file's directory.
type TLSConfig struct {
	Cert string `toml:"cert"`
	Key  string `toml:"key"`
	// CAFile is the trust store (PEM) for the servers smtpd connects to
	// where a certificate must be valid: MTA-STS policy hosts, and MX
	// hosts under an enforced MTA-STS policy. Empty: the system's roots.
	CAFile string `toml:"ca_file"`
}

// AuthConfig controls how clients may log in.
type AuthConfig struct {
	// AllowPlaintext permits USER/PASS, AUTH LOGIN/PLAIN and IMAP LOGIN
	// before TLS. Off by default: passwords must not cross the network in
	// the clear.
	AllowPlaintext bool `toml:"allow_plaintext"`
	// MinPasswordLength is the fewest characters mailctl accepts for a
	// new password (see auth.CheckNewPassword). Existing passwords keep working.
	MinPasswordLength int `toml:"min_password_length"`
}

// Sender check policies for RelayConfig.SenderCheck.
const (
	// SenderCheckStrict: MAIL FROM must belong to the credential, or to a
	// user holding a live grant from the client's IP.
	SenderCheckStrict = "strict"
	// SenderCheckOff: any sender is accepted from a permitted relay client
	// (legacy behaviour).
	SenderCheckOff = "off"
)

// RelayConfig governs POP/IMAP-before-SMTP grants and sender checks.
type RelayConfig struct {
	// Window is the lifetime of a relay grant after the latest login.
	Window Duration `toml:"window"`
	// SenderCheck is SenderCheckStrict or SenderCheckOff.
	SenderCheck string `toml:"sender_check"`
	// NoGrantFrom lists addresses (an IP or a CIDR prefix) whose POP3 and
	// IMAP logins record no relay grant: a webmail's, whose users submit
	// with SMTP AUTH, so that whatever else runs on its host cannot relay
	// in their names.
	NoGrantFrom []string `toml:"no_grant_from"`

	// The sending limits of each user and each domain credential, counted
	// in the store by all smtpd processes (see SendLimits); 0 is
	// unlimited. "mailctl user limits" and "domain limits" override them.
	MaxMessagesPerHour     int64 `toml:"max_messages_per_hour"`
	MaxRecipientsPerDay    int64 `toml:"max_recipients_per_day"`
	MaxNewRecipientsPerDay int64 `toml:"max_new_recipients_per_day"`
	// MaxBouncesPerHour bounces received by one user within a clock hour
	// (backscatter of a spam run in their name) suspend the user like a
	// sending limit; 0 is off.
	MaxBouncesPerHour int64 `toml:"max_bounces_per_hour"`
	// SuspendOnLimit switches SMTP authority off for an account that
	// reaches a limit, and tells the postmasters.
	SuspendOnLimit bool `toml:"suspend_on_limit"`
}

// SMTPDConfig configures smtpd's listeners, limits and outbound queue.
// An empty listener list disables that port.
type SMTPDConfig struct {
	// Listen is the MX/relay port; STARTTLS is offered.
	Listen []string `toml:"listen"`
	// Submission requires auth or a grant; STARTTLS is offered.
	Submission []string `toml:"submission"`
	// Submissions is submission over implicit TLS.
	Submissions     []string    `toml:"submissions"`
	MaxMessageBytes int64       `toml:"max_message_bytes"`
	MaxRecipients   int         `toml:"max_recipients"`
	Queue           QueueConfig `toml:"queue"`

	// LegacyAuthLine adds the pre-RFC 2554 "AUTH=PLAIN LOGIN" line to
	// EHLO next to "AUTH PLAIN LOGIN", for Outlook Express 4 and other
	// early clients (Postfix's broken_sasl_auth_clients).
	LegacyAuthLine bool `toml:"legacy_auth_line"`

	// MaxConnections and MaxConnectionsPerIP are the budget of the MX
	// port (Listen); submission (Submission and Submissions together) has
	// its own, so a flood of the MX port never locks out the users.
	MaxConnections                int `toml:"max_connections"`
	MaxConnectionsPerIP           int `toml:"max_connections_per_ip"`
	SubmissionMaxConnections      int `toml:"submission_max_connections"`
	SubmissionMaxConnectionsPerIP int `toml:"submission_max_connections_per_ip"`

	// Metrics is the address of smtpd's Prometheus /metrics; empty: off.
	Metrics string `toml:"metrics"`

	// DMARC is DMARCHeader or DMARCEnforce: what smtpd does with the
	// result of the inbound checks on the MX port.
	DMARC string `toml:"dmarc"`
}

// DMARC modes for SMTPDConfig.DMARC.
const (
	// DMARCHeader records SPF, DKIM and DMARC in Authentication-Results
	// and delivers as usual.
	DMARCHeader = "header"
	// DMARCEnforce also applies the sender domain's policy: p=reject is
	// refused at the end of data, p=quarantine delivered to Junk.
	DMARCEnforce = "enforce"
)

// MXLimits is the connection budget of the MX port.
func (c *SMTPDConfig) MXLimits() ConnLimits {
	return ConnLimits{Max: c.MaxConnections, PerIP: c.MaxConnectionsPerIP}
}

// SubmissionLimits is the connection budget shared by the submission
// ports, plain and implicit TLS.
func (c *SMTPDConfig) SubmissionLimits() ConnLimits {
	return ConnLimits{Max: c.SubmissionMaxConnections, PerIP: c.SubmissionMaxConnectionsPerIP}
}

// QueueConfig configures outbound delivery.
type QueueConfig struct {
	// Retry lists the waits between delivery attempts; after the last one
	// the last interval repeats until Lifetime runs out.
	Retry []Duration `toml:"retry"`
	// Lifetime is how long a message may stay queued before it bounces.
	Lifetime Duration `toml:"lifetime"`
	// DelayWarning is how long a message waits in the queue before its
	// sender gets one "still trying" notice (RFC 3464 Action: delayed);
	// zero ("") never warns.
	DelayWarning Duration `toml:"delay_warning"`
	// Smarthost, as "host:port", receives all outbound mail when set.
	Smarthost string `toml:"smarthost"`
	// Routes maps a recipient domain (lowercased on load) to a static next
	// hop "host:port"; it takes precedence over Smarthost and MX records.
	Routes map[string]string `toml:"routes"`
}

// POP3DConfig configures pop3d's listeners.
type POP3DConfig struct {
	// Listen offers STLS; TLSListen is implicit TLS (pop3s).
	Listen    []string `toml:"listen"`
	TLSListen []string `toml:"tls_listen"`
	// MaxConnections and MaxConnectionsPerIP bound the connections of all
	// listeners together, and those from one client address (IPv6: /64).
	MaxConnections      int `toml:"max_connections"`
	MaxConnectionsPerIP int `toml:"max_connections_per_ip"`

	// Metrics is the address of pop3d's Prometheus /metrics; empty: off.
	Metrics string `toml:"metrics"`
}

// Limits is pop3d's connection budget.
func (c *POP3DConfig) Limits() ConnLimits {
	return ConnLimits{Max: c.MaxConnections, PerIP: c.MaxConnectionsPerIP}
}

// IMAPDConfig configures imapd's listeners.
type IMAPDConfig struct {
	// Listen offers STARTTLS; TLSListen is implicit TLS (imaps).
	Listen    []string `toml:"listen"`
	TLSListen []string `toml:"tls_listen"`
	// MaxConnections and MaxConnectionsPerIP are as for pop3d. The
	// per-address default is higher: an IMAP client opens one connection
	// per watched folder, and an office behind NAT is one address.
	MaxConnections      int `toml:"max_connections"`
	MaxConnectionsPerIP int `toml:"max_connections_per_ip"`

	// Metrics is the address of imapd's Prometheus /metrics; empty: off.
	Metrics string `toml:"metrics"`

	// PasswordAPI is the address of the password-change endpoint for
	// webmail (Roundcube's password plugin, httpapi driver); empty: off.
	// It must be a loopback address unless PasswordAPIAllowRemote is set:
	// it takes passwords in plain HTTP.
	PasswordAPI            string `toml:"password_api"`
	PasswordAPIAllowRemote bool   `toml:"password_api_allow_remote"`
}

// Limits is imapd's connection budget.
func (c *IMAPDConfig) Limits() ConnLimits {
	return ConnLimits{Max: c.MaxConnections, PerIP: c.MaxConnectionsPerIP}
}

// QuotaConfig bounds what one user may hold, so that neither a stranger
// sending mail nor the user can fill the disk or make every SELECT slow.
// Zero means unlimited. The store enforces them (see store.Limits).
type QuotaConfig struct {
	// DefaultStorage is each user's storage quota in bytes of stored
	// messages, unless "mailctl user quota" gave the user their own.
	DefaultStorage int64 `toml:"default_storage"`
	// MaxMessages is the most messages a user may hold, over all mailboxes.
	MaxMessages int64 `toml:"max_messages"`
	// MaxMailboxes is the most mailboxes a user may have.
	MaxMailboxes int `toml:"max_mailboxes"`
	// MaxKeywords is the most distinct keywords in use in one mailbox.
	MaxKeywords int `toml:"max_keywords"`
}

// Default returns the configuration used when a key is absent, matching the
// original contract's example (see designExample in the tests) and
// deploy/mailsuite.toml. Each call returns fresh slices and maps.
func Default() *Config {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	return &Config{
		Hostname: host,
		DataDir:  "/var/lib/mailsuite",
		Store:    StoreConfig{Driver: "sqlite"},
		TLS: TLSConfig{
			Cert: "/etc/mailsuite/tls/fullchain.pem",
			Key:  "/etc/mailsuite/tls/privkey.pem",
		},
		Auth: AuthConfig{MinPasswordLength: 10},
		Relay: RelayConfig{
			Window:      Duration{30 * time.Minute},
			SenderCheck: SenderCheckStrict,
			NoGrantFrom: []string{},

			MaxMessagesPerHour:     500,
			MaxRecipientsPerDay:    2000,
			MaxNewRecipientsPerDay: 300,
			MaxBouncesPerHour:      50,
			SuspendOnLimit:         true,
		},
		SMTPD: SMTPDConfig{
			Listen:          []string{"0.0.0.0:25"},
			Submission:      []string{"0.0.0.0:587"},
			Submissions:     []string{"0.0.0.0:465"},
			MaxMessageBytes: 26214400,
			MaxRecipients:   100,
			Queue: QueueConfig{
				Retry: []Duration{
					{5 * time.Minute}, {10 * time.Minute}, {30 * time.Minute},
					{time.Hour}, {2 * time.Hour}, {4 * time.Hour},
				},
				Lifetime:     Duration{120 * time.Hour},
				DelayWarning: Duration{4 * time.Hour},
			},
			MaxConnections:                500,
			MaxConnectionsPerIP:           20,
			SubmissionMaxConnections:      500,
			SubmissionMaxConnectionsPerIP: 20,
			DMARC:                         DMARCHeader,
		},
		POP3D: POP3DConfig{
			Listen:              []string{"0.0.0.0:110"},
			TLSListen:           []string{"0.0.0.0:995"},
			MaxConnections:      500,
			MaxConnectionsPerIP: 20,
		},
		IMAPD: IMAPDConfig{
			Listen:              []string{"0.0.0.0:143"},
			TLSListen:           []string{"0.0.0.0:993"},
			MaxConnections:      20000,
			MaxConnectionsPerIP: 50,
		},
		Quota: QuotaConfig{
			DefaultStorage: 1 << 30,
			MaxMessages:    200000,
			MaxMailboxes:   1000,
			MaxKeywords:    100,
		},
	}
}

// Load reads the configuration at path over the defaults, rejects unknown
// keys, resolves relative paths against the file's directory and validates
// every value. Errors name the file and the key (and the line when known),
// because the operator reads them in the journal after a failed start.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // avoid repeating "open PATH"
		}
		return nil, fmt.Errorf("config: open %s: %w", path, err)
	}
	text := string(data)
	c := Default()
	c.Path = path
	if err := decode(c, text); err != nil {
		return nil, err
	}
	if err := c.resolvePaths(); err != nil {
		return nil, err
	}
	if err := c.validate(text); err != nil {
		return nil, err
	}
	return c, nil
}

// DBPath is the SQLite database inside DataDir.
func (c *Config) DBPath() string {
	return filepath.Join(c.DataDir, "mail.db")
}

// resolvePaths makes relative file paths relative to the configuration
// file's directory rather than the daemon's working directory, which under
// systemd is "/" and would surprise the operator.
func (c *Config) resolvePaths() error {
	dir, err := filepath.Abs(filepath.Dir(c.Path))
	if err != nil {
		return fmt.Errorf("config %s: resolve directory: %w", c.Path, err)
	}
	for _, p := range []*string{&c.DataDir, &c.Store.PasswordFile, &c.TLS.Cert, &c.TLS.Key, &c.TLS.CAFile} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	return nil
}

// ConnLimits is one connection budget: at most Max connections in all and
// at most PerIP from one client address. Zero means no limit; the
// configuration requires both to be positive.
type ConnLimits struct {
	Max   int
	PerIP int
}
