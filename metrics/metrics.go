// Package metrics defines every Prometheus metric of mailsuite once, with
// its help text, and serves them at /metrics on a daemon's own address
// (smtpd.metrics, pop3d.metrics, imapd.metrics). Each daemon has its own
// registry, not the process-wide default, so a test can run several
// daemons in one process.
//
// The daemons count through the methods of *Metrics at their decision
// points. A nil *Metrics (metrics off, or a test that does not care)
// counts nothing, so no call site needs a check.
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Label values the daemons pass. A refusal's reason is free text from
// the daemon (see smtpd's refusalReason), kept to a short fixed set.
const (
	RouteAuth    = "auth"
	RouteGrant   = "grant"
	RouteRefused = "refused"

	Delivered = "delivered"
	Deferred  = "deferred"
	Failed    = "failed"

	LoginOK        = "ok"
	LoginFailed    = "failed"
	LoginThrottled = "throttled"
	LoginError     = "error"
)

// Metrics is one daemon's metrics and the registry that holds them.
type Metrics struct {
	reg *prometheus.Registry

	accepted   *prometheus.CounterVec
	refused    *prometheus.CounterVec
	relay      *prometheus.CounterVec
	deliveries *prometheus.CounterVec
	bounces    prometheus.Counter
	suspended  *prometheus.CounterVec
	logins     *prometheus.CounterVec
	sessions   *prometheus.GaugeVec
	commit     prometheus.Histogram
}

// New returns the metrics of one daemon, with the Go runtime and process
// collectors registered.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		accepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mailsuite_smtp_messages_accepted_total",
			Help: "Messages smtpd accepted (answered 250 after DATA, stored durably), by listener role (mx, submission).",
		}, []string{"role"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mailsuite_smtp_messages_refused_total",
			Help: "Refusals smtpd answered at MAIL FROM, RCPT TO or end of data (one per refused command), by listener role and reason.",
		}, []string{"role", "reason"}),
		relay: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mailsuite_smtp_relay_decisions_total",
			Help: "Relay decisions on remote recipients, by the route that permitted relaying (auth, grant) or refused.",
		}, []string{"route"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mailsuite_queue_deliveries_total",
			Help: "Outbound delivery attempts per recipient, by result: delivered, deferred (retried later), failed (permanently, or past the queue lifetime).",
		}, []string{"result"}),
		bounces: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mailsuite_queue_bounces_total",
			Help: "Bounces (RFC 3464 delivery status notifications) sent to the senders of failed mail.",
		}),
		suspended: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mailsuite_smtp_suspensions_total",
			Help: "Accounts whose SMTP authority smtpd switched off automatically (relay.suspend_on_limit), by reason: the sending limit reached (messages_per_hour, recipients_per_day, new_recipients_per_day) or bounces_per_hour.",
		}, []string{"reason"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mailsuite_logins_total",
			Help: "Login attempts by protocol (pop3, imap, smtp) and result: ok, failed (wrong password or unknown user), throttled (refused unchecked), error (the store failed).",
		}, []string{"protocol", "result"}),
		sessions: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "mailsuite_sessions_open",
			Help: "Open client connections, by listener (its configuration key).",
		}, []string{"listener"}),
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "mailsuite_store_commit_seconds",
			Help: "Duration of the store's write transactions from BEGIN to the end of COMMIT (with the fsync of a durable write); a group commit of deliveries counts once.",
			// From a fast SSD's fsync to a disk in trouble.
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
	}
	m.reg.MustRegister(m.accepted, m.refused, m.relay, m.deliveries, m.bounces,
		m.suspended, m.logins, m.sessions, m.commit,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is the daemon's registry, for tests and for WatchStore.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// MessageAccepted counts a message stored and answered 250.
func (m *Metrics) MessageAccepted(role string) {
	if m != nil {
		m.accepted.WithLabelValues(role).Inc()
	}
}

// MessageRefused counts a refused MAIL FROM, RCPT TO or message.
func (m *Metrics) MessageRefused(role, reason string) {
	if m != nil {
		m.refused.WithLabelValues(role, reason).Inc()
	}
}

// RelayDecision counts the decision on one remote recipient: RouteAuth,
// RouteGrant or RouteRefused.
func (m *Metrics) RelayDecision(route string) {
	if m != nil {
		m.relay.WithLabelValues(route).Inc()
	}
}

// Delivery counts one recipient's delivery attempt: Delivered, Deferred
// or Failed.
func (m *Metrics) Delivery(result string) {
	if m != nil {
		m.deliveries.WithLabelValues(result).Inc()
	}
}

// Bounce counts a bounce sent.
func (m *Metrics) Bounce() {
	if m != nil {
		m.bounces.Inc()
	}
}

// Suspension counts an account suspended because of reason, the limit
// reached with its words joined by "_" ("messages_per_hour", ...,
// "bounces_per_hour").
func (m *Metrics) Suspension(reason string) {
	if m != nil {
		m.suspended.WithLabelValues(reason).Inc()
	}
}

// Login counts a login attempt of protocol: LoginOK, LoginFailed,
// LoginThrottled or LoginError.
func (m *Metrics) Login(protocol, result string) {
	if m != nil {
		m.logins.WithLabelValues(protocol, result).Inc()
	}
}

// ObserveCommit records one store commit (see store.WithCommitObserver).
func (m *Metrics) ObserveCommit(d time.Duration) {
	if m != nil {
		m.commit.Observe(d.Seconds())
	}
}
