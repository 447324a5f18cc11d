// Package queue is smtpd's outbound delivery: it takes due recipients from
// the store's queue, finds each one's next hop (a static route, the
// smarthost, or MX records), delivers over SMTP with opportunistic
// STARTTLS, retries temporary failures on the configured schedule and
// bounces permanent ones to the sender with an RFC 3464 report.
//
// The queue is the store: nothing is held only in memory, so a restart
// loses nothing. At most one runner per store delivers at a time; it
// holds the "queue-runner" lease (see lease.go).
package queue

import (
	"context"
	"crypto/x509"
	"log/slog"
	"net"
	"sync"
	"time"

	"mailsuite/metrics"
	"mailsuite/shared/config"
	"mailsuite/shared/resolve"
	"mailsuite/store"
)

// Resolver looks up the next hop. By default it is the resolver set by
// dns.resolver (package shared/resolve); tests of odd answers use a map.
type Resolver interface {
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupHost(ctx context.Context, host string) ([]string, error)
}

// Dialer opens TCP connections. *net.Dialer satisfies it; tests redirect
// port 25 to their fake servers.
type Dialer interface {
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
}

// Defaults for the knobs that have no configuration key.
const (
	defaultWorkers     = 8                // parallel outbound connections
	defaultPerConn     = 100              // messages sent over one connection
	defaultPoll        = 2 * time.Second  // how often to look for due mail
	defaultSweep       = time.Minute      // how often to look for owed bounces
	scanLimit          = 5000             // due recipients read per scan
	defaultRetry       = 5 * time.Minute  // when the configuration lists none
	defaultLifetime    = 120 * time.Hour  // when the configuration says 0
	maxAddressAttempts = 10               // addresses tried per hop
	leaseName          = "queue-runner"   // the row in the leases table
	leaseTTL           = 30 * time.Second // a dead runner's lease frees after this
	// shutdownGrace is how long a stopping runner lets transactions under
	// way finish. It is well inside what is left of the lease when the
	// runner stops (keepLease gives up with a third of leaseTTL left).
	shutdownGrace = 5 * time.Second
)

// Runner delivers the outbound queue.
type Runner struct {
	cfg      *config.Config
	st       *store.Store
	log      *slog.Logger
	resolver Resolver
	dialer   Dialer
	now      func() time.Time // the queue's clock: retries and lifetime
	holder   string
	timeouts Timeouts
	workers  int
	perConn  int
	poll     time.Duration
	grace    time.Duration // see shutdownGrace
	fallback bool          // retry in plain text when STARTTLS fails
	metrics  *metrics.Metrics
	// roots verifies certificates that must be valid (tls.ca_file, nil
	// for the system's); sts finds MTA-STS policies (nil: off).
	roots *x509.CertPool
	sts   *mtaSTS

	kick chan struct{}
	// bounced is told the local users a bounce was delivered to (smtpd
	// checks them for a bounce storm); nil: nobody is told.
	bounced func(ctx context.Context, users []int64)

	mu       sync.Mutex
	inflight map[int64]bool // recipient IDs handed to a worker; guarded by mu
	released map[int64]bool // recipient IDs released during a scan; guarded by mu
	busy     map[int64]int  // queue IDs: jobs holding the message; guarded by mu
}

// Option configures a Runner.
type Option func(*Runner)

// WithBounced sets what is told the local users each bounce the runner
// delivers went to.
func WithBounced(f func(ctx context.Context, users []int64)) Option {
	return func(r *Runner) { r.bounced = f }
}

// WithResolver replaces the system DNS resolver.
func WithResolver(res Resolver) Option { return func(r *Runner) { r.resolver = res } }

// WithDialer replaces the TCP dialer.
func WithDialer(d Dialer) Option { return func(r *Runner) { r.dialer = d } }

// WithClock replaces time.Now for retry scheduling and the lifetime.
// The lease always uses real time: it is shared with other processes.
func WithClock(now func() time.Time) Option { return func(r *Runner) { r.now = now } }

// WithHolder names this runner in the lease (default: host, pid, random).
func WithHolder(name string) Option { return func(r *Runner) { r.holder = name } }

// WithTimeouts replaces the RFC 5321 timeouts (tests shrink them).
func WithTimeouts(t Timeouts) Option { return func(r *Runner) { r.timeouts = t } }

// WithWorkers sets how many connections may be open at once.
func WithWorkers(n int) Option { return func(r *Runner) { r.workers = max(n, 1) } }

// WithPollInterval sets how often the runner looks for due mail when
// nobody kicks it (mailctl queue flush is seen at the next poll).
func WithPollInterval(d time.Duration) Option { return func(r *Runner) { r.poll = d } }

// WithPlainFallback lets a delivery whose STARTTLS failed go again over
// a new plain-text connection, as old MTAs did. Off by default: a broken
// TLS handshake is retried later.
func WithPlainFallback(on bool) Option { return func(r *Runner) { r.fallback = on } }

// WithMetrics counts delivery results and bounces in m.
func WithMetrics(m *metrics.Metrics) Option { return func(r *Runner) { r.metrics = m } }

// New returns a runner for the store's queue; call Run to start it.
func New(cfg *config.Config, st *store.Store, log *slog.Logger, opts ...Option) *Runner {
	r := &Runner{
		cfg:      cfg,
		st:       st,
		log:      log.With("component", "queue"),
		resolver: resolve.New(cfg.DNS.Resolver),
		dialer:   &net.Dialer{},
		now:      time.Now,
		holder:   defaultHolder(),
		timeouts: DefaultTimeouts(),
		workers:  defaultWorkers,
		perConn:  defaultPerConn,
		poll:     defaultPoll,
		grace:    shutdownGrace,
		kick:     make(chan struct{}, 1),
		inflight: map[int64]bool{},
		busy:     map[int64]int{},
	}
	for _, o := range opts {
		o(r)
	}
	r.setupMTASTS()
	return r
}

// Kick tells the runner that a message was queued: it looks now instead
// of at the next poll. It never blocks.
func (r *Runner) Kick() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Run delivers until ctx is cancelled. While another process holds the
// lease it only waits for it. On cancellation it starts no new message,
// lets the transactions under way end (abandoning any still going after
// shutdownGrace: they stay queued and are tried again, at least once,
// never lost), releases the lease and returns nil.
func (r *Runner) Run(ctx context.Context) error {
	for {
		if lctx, stop, ok := r.lead(ctx); ok {
			r.log.Info("queue runner active", "holder", r.holder)
			r.deliverLoop(lctx)
			stop()
			if ctx.Err() != nil {
				r.releaseLease()
				return nil
			}
			continue
		}
		if !r.wait(ctx, r.poll) {
			return nil
		}
	}
}

// wait sleeps until d passes, a kick arrives, or ctx ends (false).
func (r *Runner) wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-r.kick:
	case <-t.C:
	}
	return true
}
