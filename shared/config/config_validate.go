package config

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"mailsuite/shared/tlsconf"
)

// validate checks every value after decoding and reports all problems at
// once, so the operator does not fix them one restart at a time. It also
// lowercases route domains, since domains are case-insensitive.
func (c *Config) validate(text string) error {
	v := validator{file: c.Path, text: text}

	v.check(c.Hostname != "", "hostname", "must not be empty")
	v.check(c.DataDir != "", "data_dir", "must not be empty")
	v.storeSection(c.Store)
	v.check(c.TLS.Cert != "", "tls.cert", "must not be empty")
	v.check(c.TLS.Key != "", "tls.key", "must not be empty")
	if _, err := tlsconf.LoadRoots(c.TLS.CAFile); err != nil {
		v.fail("tls.ca_file", err.Error())
	}

	v.check(c.Auth.MinPasswordLength > 0, "auth.min_password_length",
		fmt.Sprintf("must be positive, got %d", c.Auth.MinPasswordLength))
	v.positive("relay.window", c.Relay.Window)
	v.check(c.Relay.SenderCheck == SenderCheckStrict || c.Relay.SenderCheck == SenderCheckOff,
		"relay.sender_check", fmt.Sprintf("must be %q or %q, got %q", SenderCheckStrict, SenderCheckOff, c.Relay.SenderCheck))
	for _, a := range c.Relay.NoGrantFrom {
		if _, err := parsePrefix(a); err != nil {
			v.fail("relay.no_grant_from", err.Error())
		}
	}
	v.unlimited("relay.max_messages_per_hour", c.Relay.MaxMessagesPerHour)
	v.unlimited("relay.max_recipients_per_day", c.Relay.MaxRecipientsPerDay)
	v.unlimited("relay.max_new_recipients_per_day", c.Relay.MaxNewRecipientsPerDay)
	v.unlimited("relay.max_bounces_per_hour", c.Relay.MaxBouncesPerHour)

	v.listen("smtpd.listen", c.SMTPD.Listen)
	v.listen("smtpd.submission", c.SMTPD.Submission)
	v.listen("smtpd.submissions", c.SMTPD.Submissions)
	v.check(c.SMTPD.MaxMessageBytes > 0, "smtpd.max_message_bytes",
		fmt.Sprintf("must be positive, got %d", c.SMTPD.MaxMessageBytes))
	v.check(c.SMTPD.MaxRecipients > 0, "smtpd.max_recipients",
		fmt.Sprintf("must be positive, got %d", c.SMTPD.MaxRecipients))
	v.check(c.SMTPD.DMARC == DMARCHeader || c.SMTPD.DMARC == DMARCEnforce,
		"smtpd.dmarc", fmt.Sprintf("must be %q or %q, got %q", DMARCHeader, DMARCEnforce, c.SMTPD.DMARC))

	q := &c.SMTPD.Queue
	v.check(len(q.Retry) > 0, "smtpd.queue.retry", "must list at least one interval")
	for _, d := range q.Retry {
		v.positive("smtpd.queue.retry", d)
	}
	v.positive("smtpd.queue.lifetime", q.Lifetime)
	v.check(q.DelayWarning.Duration >= 0, "smtpd.queue.delay_warning",
		fmt.Sprintf("must not be negative, got %v (\"\" never warns)", q.DelayWarning.Duration))
	if q.Smarthost != "" {
		v.hop("smtpd.queue.smarthost", q.Smarthost)
	}
	routes := make(map[string]string, len(q.Routes))
	for domain, hop := range q.Routes {
		key := "smtpd.queue.routes." + domain
		lower := strings.ToLower(strings.TrimSuffix(domain, "."))
		v.check(lower != "", key, "domain must not be empty")
		if _, dup := routes[lower]; dup {
			v.fail(key, fmt.Sprintf("domain %q listed twice", lower))
		}
		v.hop(key, hop)
		routes[lower] = hop
	}
	if q.Routes != nil {
		q.Routes = routes
	}

	v.count("smtpd.max_connections", c.SMTPD.MaxConnections)
	v.count("smtpd.max_connections_per_ip", c.SMTPD.MaxConnectionsPerIP)
	v.count("smtpd.submission_max_connections", c.SMTPD.SubmissionMaxConnections)
	v.count("smtpd.submission_max_connections_per_ip", c.SMTPD.SubmissionMaxConnectionsPerIP)

	v.listen("pop3d.listen", c.POP3D.Listen)
	v.listen("pop3d.tls_listen", c.POP3D.TLSListen)
	v.count("pop3d.max_connections", c.POP3D.MaxConnections)
	v.count("pop3d.max_connections_per_ip", c.POP3D.MaxConnectionsPerIP)
	v.listen("imapd.listen", c.IMAPD.Listen)
	v.listen("imapd.tls_listen", c.IMAPD.TLSListen)
	v.count("imapd.max_connections", c.IMAPD.MaxConnections)
	v.count("imapd.max_connections_per_ip", c.IMAPD.MaxConnectionsPerIP)
	for _, d := range []string{"smtpd", "pop3d", "imapd"} {
		if addr := c.MetricsAddr(d); addr != "" {
			v.listen(d+".metrics", []string{addr})
		}
	}

	v.passwordAPI(&c.IMAPD)

	v.check(c.Quota.DefaultStorage >= 0, "quota.default_storage", fmt.Sprintf("must be 0 (unlimited) or more, got %d", c.Quota.DefaultStorage))
	v.check(c.Quota.MaxMessages >= 0, "quota.max_messages", fmt.Sprintf("must be 0 (unlimited) or more, got %d", c.Quota.MaxMessages))
	v.check(c.Quota.MaxMailboxes >= 0, "quota.max_mailboxes", fmt.Sprintf("must be 0 (unlimited) or more, got %d", c.Quota.MaxMailboxes))
	v.check(c.Quota.MaxKeywords >= 0, "quota.max_keywords", fmt.Sprintf("must be 0 (unlimited) or more, got %d", c.Quota.MaxKeywords))

	if c.DNS.Resolver != "" {
		v.hop("dns.resolver", c.DNS.Resolver)
	}

	return errors.Join(v.errs...)
}

// validator collects ConfigErrors, locating each key in the file text.
type validator struct {
	file string
	text string
	errs []error
}

func (v *validator) fail(key, msg string) {
	v.errs = append(v.errs, &Error{
		File: v.file,
		Key:  key,
		Line: keyLine(v.text, splitKey(key)),
		Err:  errors.New(msg),
	})
}

func (v *validator) check(ok bool, key, msg string) {
	if !ok {
		v.fail(key, msg)
	}
}

func (v *validator) positive(key string, d Duration) {
	v.check(d.Duration > 0, key, fmt.Sprintf("must be positive, got %q", d.Duration))
}

// count checks a limit; none may be switched off, since an unbounded
// count is what lets one client take every slot.
func (v *validator) count(key string, n int) {
	v.check(n > 0, key, fmt.Sprintf("must be positive, got %d", n))
}

// unlimited checks a limit where 0 means none.
func (v *validator) unlimited(key string, n int64) {
	v.check(n >= 0, key, fmt.Sprintf("must be 0 (unlimited) or more, got %d", n))
}

// listen checks addresses to listen on; port 0 (any free port) is allowed
// for tests, an empty list disables the listener.
func (v *validator) listen(key string, addrs []string) {
	for _, a := range addrs {
		if _, _, err := splitHostPort(a); err != nil {
			v.fail(key, err.Error())
		}
	}
}

// hop checks a next-hop address, which needs a host and a non-zero port.
func (v *validator) hop(key, addr string) {
	host, port, err := splitHostPort(addr)
	switch {
	case err != nil:
		v.fail(key, err.Error())
	case host == "" || port == 0:
		v.fail(key, fmt.Sprintf("%q: want \"host:port\" with a host and a non-zero port", addr))
	}
}

// splitHostPort parses "host:port" with a numeric port.
func splitHostPort(addr string) (string, int, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("%q: want \"host:port\": %w", addr, unwrapAddrErr(err))
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return "", 0, fmt.Errorf("%q: port must be a number from 0 to 65535", addr)
	}
	return host, int(n), nil
}

// unwrapAddrErr drops the address that net.AddrError repeats.
func unwrapAddrErr(err error) error {
	var ae *net.AddrError
	if errors.As(err, &ae) {
		return errors.New(ae.Err)
	}
	return err
}
