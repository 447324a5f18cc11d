package queue

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"mailsuite/shared/mtasts"
	"mailsuite/shared/tlsconf"
)

// MTA-STS (RFC 8461): a domain publishes, over HTTPS, which MX hosts may
// receive its mail and whether they must be reached over TLS with a valid
// certificate (package shared/mtasts reads the policies). Under "enforce" a hop to any other host, or without such a
// certificate, is refused as a temporary failure: the message waits and
// is retried, and never goes in plain text. Under "testing" the same
// failures are only logged.
//
// Policies are cached in memory, per recipient domain, for their max_age;
// the _mta-sts TXT record is looked up before each use and a new id there
// fetches the policy again. A restart empties the cache: the next
// delivery to each domain fetches its policy afresh (the trust-on-first-
// use window of RFC 8461 §10.2 reopens once per restart).
const (
	// stsMaxCached bounds the cache; past it, expired entries go, then all.
	stsMaxCached = 10000
	// stsFetchTimeout bounds one policy fetch, connection included.
	stsFetchTimeout = time.Minute
)

// stsPolicy is one domain's policy as fetched.
type stsPolicy struct {
	*mtasts.Policy
	domain  string
	id      string // the _mta-sts TXT record's id when fetched
	expires time.Time
}

// txtResolver is the lookup MTA-STS needs besides the queue's Resolver.
// The resolver set by dns.resolver has it; a test's map resolver without
// it turns MTA-STS off.
type txtResolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// mtaSTS finds and caches the policies of recipient domains.
type mtaSTS struct {
	txt   txtResolver
	fetch *mtasts.Fetcher
	now   func() time.Time
	log   *slog.Logger

	mu    sync.Mutex
	cache map[string]*stsPolicy // by domain; guarded by mu
}

// setupMTASTS loads the trust store and starts the policy cache. A
// tls.ca_file that no longer loads (the configuration checked it at
// start) leaves an empty trust store: certificates that must be valid
// are refused, never accepted unchecked.
func (r *Runner) setupMTASTS() {
	roots, err := tlsconf.LoadRoots(r.cfg.TLS.CAFile)
	if err != nil {
		r.log.Error("tls.ca_file unusable: certificates that must be valid will be refused", "err", err)
		roots = x509.NewCertPool()
	}
	r.roots = roots
	r.sts = newMTASTS(r, roots)
}

func newMTASTS(r *Runner, roots *x509.CertPool) *mtaSTS {
	txt, ok := r.resolver.(txtResolver)
	if !ok {
		return nil
	}
	// The policy host's address comes from the same resolver as
	// everything else, and the connection from the queue's dialer.
	f := mtasts.NewFetcher(r.resolver, r.dialer, roots, min(stsFetchTimeout, r.timeouts.Command))
	return &mtaSTS{txt: txt, fetch: f, now: r.now, log: r.log, cache: map[string]*stsPolicy{}}
}

// policy returns the policy in force for domain, or nil when there is
// none (no record, or a first fetch that failed: RFC 8461 §5 delivers as
// without MTA-STS then). A cached policy outlives a failed lookup or
// fetch until its max_age ends.
func (m *mtaSTS) policy(ctx context.Context, domain string) *stsPolicy {
	if m == nil {
		return nil
	}
	now := m.now()
	m.mu.Lock()
	cached := m.cache[domain]
	m.mu.Unlock()
	if cached != nil && !now.Before(cached.expires) {
		cached = nil
	}
	id, err := m.recordID(ctx, domain)
	switch {
	case err != nil && cached != nil:
		return cached
	case err != nil:
		m.log.Debug("no MTA-STS policy", "domain", domain, "reason", err)
		return nil
	case cached != nil && cached.id == id:
		return cached
	}
	fetched, err := m.fetch.Fetch(ctx, domain)
	if err != nil {
		m.log.Warn("MTA-STS policy fetch failed", "domain", domain, "err", err, "cached", cached != nil)
		return cached
	}
	p := &stsPolicy{Policy: fetched, domain: domain, id: id, expires: now.Add(fetched.MaxAge)}
	m.store(p)
	return p
}

// recordID looks up _mta-sts.DOMAIN and returns its record's id.
func (m *mtaSTS) recordID(ctx context.Context, domain string) (string, error) {
	txts, err := m.txt.LookupTXT(ctx, "_mta-sts."+domain)
	if err != nil {
		return "", err
	}
	id, err := mtasts.RecordID(txts)
	if err != nil {
		return "", fmt.Errorf("_mta-sts.%s: %w", domain, err)
	}
	return id, nil
}

func (m *mtaSTS) store(p *stsPolicy) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.cache) >= stsMaxCached {
		now := m.now()
		for d, c := range m.cache {
			if !now.Before(c.expires) {
				delete(m.cache, d)
			}
		}
		if len(m.cache) >= stsMaxCached {
			clear(m.cache)
		}
	}
	m.cache[p.domain] = p
}

// stsHosts applies the policy of an MX hop's domain to its MX hosts.
// Under enforce only the hosts the policy names remain, and none
// remaining fails the hop temporarily; under testing every host remains
// and the mismatches are logged. It returns the policy the connection
// must follow (nil: opportunistic TLS as without MTA-STS).
func (r *Runner) stsHosts(ctx context.Context, h hop, names []string) ([]string, *stsPolicy, *result) {
	if h.kind != hopMX {
		return names, nil, nil
	}
	p := r.sts.policy(ctx, h.addr)
	if p == nil || p.Mode == mtasts.None {
		return names, nil, nil
	}
	var kept []string
	for _, n := range names {
		switch {
		case p.Allows(n):
			kept = append(kept, n)
		case p.Mode == mtasts.Testing:
			r.log.Warn("MTA-STS testing: MX host not in the policy", "domain", h.addr, "host", n, "policy_mx", strings.Join(p.MX, ","))
			kept = append(kept, n)
		default:
			r.log.Info("MTA-STS: MX host not in the policy, skipped", "domain", h.addr, "host", n, "policy_mx", strings.Join(p.MX, ","))
		}
	}
	if len(kept) == 0 {
		res := temp("4.7.5", "no MX host of %s is named by its MTA-STS policy (enforce; mx %s)", h.addr, strings.Join(p.MX, ", "))
		return nil, p, &res
	}
	return kept, p, nil
}

// stsTLS is the TLS configuration for an MX host under a policy: under
// enforce the certificate must chain to the trust store (tls.ca_file or
// the system's) and name the host; under testing a certificate that would
// fail is logged and used anyway.
func (r *Runner) stsTLS(name string, p *stsPolicy) *tls.Config {
	if p.Mode == mtasts.Enforce {
		return &tls.Config{RootCAs: r.roots, ServerName: name, MinVersion: tls.VersionTLS12}
	}
	c := r.tlsConfig(name)
	c.VerifyConnection = func(cs tls.ConnectionState) error {
		if err := verifyChain(cs, name, r.roots); err != nil {
			r.log.Warn("MTA-STS testing: certificate would be refused", "domain", p.domain, "host", name, "err", err)
		}
		return nil
	}
	return c
}

func verifyChain(cs tls.ConnectionState, name string, roots *x509.CertPool) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{DNSName: name, Roots: roots, Intermediates: inter})
	return err
}
