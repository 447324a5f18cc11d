// Package mtasts reads MTA-STS policies (RFC 8461): the _mta-sts TXT
// record's id, and the policy file fetched over HTTPS from
// mta-sts.DOMAIN. smtpd's queue applies the policies; mailctl's dns check
// fetches one to see that it is served and names the MX.
package mtasts

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Policy modes.
const (
	Enforce = "enforce"
	Testing = "testing"
	None    = "none"
)

const (
	// MaxSize bounds a policy file (RFC 8461 §3.3 suggests 64 KB).
	MaxSize = 64 << 10
	// MaxAge is the longest max_age honoured (RFC 8461 §3.2: a year).
	MaxAge = 31557600 * time.Second
)

// Policy is one domain's policy file.
type Policy struct {
	Mode   string
	MX     []string // patterns, lower case: "mx.example.com" or "*.example.com"
	MaxAge time.Duration
}

// Allows reports whether the policy names host (RFC 8461 §4.1): equal, or
// matching a "*." pattern in its leftmost label only.
func (p *Policy) Allows(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, pat := range p.MX {
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

// Parse reads a policy file (RFC 8461 §3.2): "key: value" lines; version
// STSv1, a mode, max_age, and at least one mx unless the mode is none.
// Unknown keys are ignored, as the RFC asks.
func Parse(body []byte) (*Policy, error) {
	p := &Policy{}
	version, maxAge := "", -1
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 1024), MaxSize)
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
			p.Mode = v
		case "max_age":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("bad max_age %q", v)
			}
			maxAge = min(n, int(MaxAge/time.Second))
		case "mx":
			p.MX = append(p.MX, strings.ToLower(strings.TrimSuffix(v, ".")))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	switch {
	case version != "STSv1":
		return nil, fmt.Errorf("version %q, want STSv1", version)
	case p.Mode != Enforce && p.Mode != Testing && p.Mode != None:
		return nil, fmt.Errorf("bad mode %q", p.Mode)
	case maxAge < 0:
		return nil, errors.New("no max_age")
	case len(p.MX) == 0 && p.Mode != None:
		return nil, errors.New("no mx")
	}
	p.MaxAge = time.Duration(maxAge) * time.Second
	return p, nil
}

// RecordID returns the id of the one STSv1 record among the TXT records
// of _mta-sts.DOMAIN; several, or none, count as no record (RFC 8461
// §3.1).
func RecordID(txts []string) (string, error) {
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
		return "", fmt.Errorf("%d STSv1 records with an id", len(ids))
	}
	return ids[0], nil
}

// Hosts looks up the policy host's addresses.
type Hosts interface {
	LookupHost(ctx context.Context, host string) ([]string, error)
}

// Dialer opens the TCP connection to one address.
type Dialer interface {
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
}

// Fetcher fetches policy files.
type Fetcher struct {
	client *http.Client
}

// NewFetcher returns a fetcher whose connections go to the addresses
// hosts gives (the suite's resolver, not the system's) through d, trust
// the certificates of roots (nil: the system's), and end after timeout.
func NewFetcher(hosts Hosts, d Dialer, roots *x509.CertPool, timeout time.Duration) *Fetcher {
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		ips, err := hosts.LookupHost(ctx, host)
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
	return &Fetcher{client: &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			DialContext:       dial,
			TLSClientConfig:   &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
			DisableKeepAlives: true,
		},
		// RFC 8461 §3.3: redirects must not be followed.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// URL is where domain's policy file is served.
func URL(domain string) string {
	return "https://mta-sts." + domain + "/.well-known/mta-sts.txt"
}

// Fetch gets domain's policy file: a valid certificate for
// mta-sts.DOMAIN, status 200, text/plain, at most 64 KB.
func (f *Fetcher) Fetch(ctx context.Context, domain string) (*Policy, error) {
	url := URL(domain)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := f.client.Do(req)
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
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	if len(body) > MaxSize {
		return nil, fmt.Errorf("%s: policy larger than %d bytes", url, MaxSize)
	}
	p, err := Parse(body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	return p, nil
}
