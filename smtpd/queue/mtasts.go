package queue

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"mailsuite/shared/tlsconf"
)

// MTA-STS (RFC 8461): a domain publishes, over HTTPS, which MX hosts may
// receive its mail and whether they must be reached over TLS with a valid
// certificate. Under "enforce" a hop to any other host, or without such a
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
	stsEnforce = "enforce"
	stsTesting = "testing"
	stsNone    = "none"

	// stsMaxPolicy bounds a policy file (RFC 8461 §3.3 suggests 64 KB).
	stsMaxPolicy = 64 << 10
	// stsMaxAge is the longest max_age honoured (RFC 8461 §3.2: a year).
	stsMaxAge = 31557600
	// stsMaxCached bounds the cache; past it, expired entries go, then all.
	stsMaxCached = 10000
	// stsFetchTimeout bounds one policy fetch, connection included.
	stsFetchTimeout = time.Minute
)

// stsPolicy is one domain's fetched policy.
type stsPolicy struct {
	domain  string
	id      string // the _mta-sts TXT record's id when fetched
	mode    string
	mx      []string // patterns: "mx.example.com" or "*.example.com"
	expires time.Time
}

// allows reports whether the policy names host (RFC 8461 §4.1): equal, or
// matching a "*." pattern in its leftmost label only.
func (p *stsPolicy) allows(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, pat := range p.mx {
		if rest, ok := strings.CutPrefix(pat, "*."); ok {
			if label, parent, found := strings.Cut(host, "."); found && label != "" && parent == rest {
				return true
			}
		} else if host == pat {
			return true
		}
	}
	return false
}

// parseSTSPolicy reads a policy file (RFC 8461 §3.2): "key: value" lines;
// version STSv1, a mode, max_age, and at least one mx unless the mode is
// none. Unknown keys are ignored, as the RFC asks.
func parseSTSPolicy(body []byte) (*stsPolicy, time.Duration, error) {
	p := &stsPolicy{}
	version, maxAge := "", -1
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 1024), stsMaxPolicy)
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimRight(sc.Text(), "\r"), ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(k) {
		case "version":
			version = v
		case "mode":
			p.mode = v
		case "max_age":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return nil, 0, fmt.Errorf("bad max_age %q", v)
			}
			maxAge = min(n, stsMaxAge)
		case "mx":
			p.mx = append(p.mx, strings.ToLower(strings.TrimSuffix(v, ".")))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, 0, err
	}
	switch {
	case version != "STSv1":
		return nil, 0, fmt.Errorf("version %q, want STSv1", version)
	case p.mode != stsEnforce && p.mode != stsTesting && p.mode != stsNone:
		return nil, 0, fmt.Errorf("bad mode %q", p.mode)
	case maxAge < 0:
		return nil, 0, errors.New("no max_age")
	case len(p.mx) == 0 && p.mode != stsNone:
		return nil, 0, errors.New("no mx")
	}
	return p, time.Duration(maxAge) * time.Second, nil
}

// txtResolver is the lookup MTA-STS needs besides the queue's Resolver.
// The resolver set by dns.resolver has it; a test's map resolver without
// it turns MTA-STS off.
type txtResolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// mtaSTS finds and caches the policies of recipient domains.
type mtaSTS struct {
	txt    txtResolver
	hosts  Resolver
	client *http.Client
	now    func() time.Time
	log    *slog.Logger

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
	m := &mtaSTS{txt: txt, hosts: r.resolver, now: r.now, log: r.log, cache: map[string]*stsPolicy{}}
	m.client = &http.Client{
		Timeout: min(stsFetchTimeout, r.timeouts.Command),
		Transport: &http.Transport{
			// The policy host's address comes from the same resolver
			// as everything else, and the connection from the
			// queue's dialer.
			DialContext:       m.dialer(r.dialer),
			TLSClientConfig:   &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
			DisableKeepAlives: true,
			ForceAttemptHTTP2: false,
		},
		// RFC 8461 §3.3: redirects must not be followed.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return m
}

func (m *mtaSTS) dialer(d Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		ips, err := m.hosts.LookupHost(ctx, host)
		if err != nil {
			return nil, err
		}
		var last error = fmt.Errorf("no address for %s", host)
		for _, ip := range ips {
			c, err := d.DialContext(ctx, network, net.JoinHostPort(ip, port))
			if err == nil {
				return c, nil
			}
			last = err
		}
		return nil, last
	}
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
	p, err := m.fetch(ctx, domain)
	if err != nil {
		m.log.Warn("MTA-STS policy fetch failed", "domain", domain, "err", err, "cached", cached != nil)
		return cached
	}
	p.id = id
	m.store(p)
	return p
}

// recordID looks up _mta-sts.DOMAIN and returns the id of its one STSv1
// record; several, or none, count as no record (RFC 8461 §3.1).
func (m *mtaSTS) recordID(ctx context.Context, domain string) (string, error) {
	txts, err := m.txt.LookupTXT(ctx, "_mta-sts."+domain)
	if err != nil {
		return "", err
	}
	var ids []string
	for _, t := range txts {
		if !strings.HasPrefix(t, "v=STSv1") {
			continue
		}
		for _, f := range strings.Split(t, ";") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(f), "id="); ok {
				ids = append(ids, v)
			}
		}
	}
	if len(ids) != 1 || ids[0] == "" {
		return "", fmt.Errorf("%d STSv1 records with an id at _mta-sts.%s", len(ids), domain)
	}
	return ids[0], nil
}

// fetch gets https://mta-sts.DOMAIN/.well-known/mta-sts.txt: a valid
// certificate for that name, status 200, text/plain, at most 64 KB.
func (m *mtaSTS) fetch(ctx context.Context, domain string) (*stsPolicy, error) {
	url := "https://mta-sts." + domain + "/.well-known/mta-sts.txt"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := m.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: HTTP status %d", url, resp.StatusCode)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/plain" {
		return nil, fmt.Errorf("%s: content type %q, want text/plain", url, mt)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, stsMaxPolicy+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	if len(body) > stsMaxPolicy {
		return nil, fmt.Errorf("%s: policy larger than %d bytes", url, stsMaxPolicy)
	}
	p, maxAge, err := parseSTSPolicy(body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	p.domain, p.expires = domain, m.now().Add(maxAge)
	return p, nil
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
	if p == nil || p.mode == stsNone {
		return names, nil, nil
	}
	var kept []string
	for _, n := range names {
		switch {
		case p.allows(n):
			kept = append(kept, n)
		case p.mode == stsTesting:
			r.log.Warn("MTA-STS testing: MX host not in the policy", "domain", h.addr, "host", n, "policy_mx", strings.Join(p.mx, ","))
			kept = append(kept, n)
		default:
			r.log.Info("MTA-STS: MX host not in the policy, skipped", "domain", h.addr, "host", n, "policy_mx", strings.Join(p.mx, ","))
		}
	}
	if len(kept) == 0 {
		res := temp("4.7.5", "no MX host of %s is named by its MTA-STS policy (enforce; mx %s)", h.addr, strings.Join(p.mx, ", "))
		return nil, p, &res
	}
	return kept, p, nil
}

// stsTLS is the TLS configuration for an MX host under a policy: under
// enforce the certificate must chain to the trust store (tls.ca_file or
// the system's) and name the host; under testing a certificate that would
// fail is logged and used anyway.
func (r *Runner) stsTLS(name string, p *stsPolicy) *tls.Config {
	if p.mode == stsEnforce {
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
