// Package daemon is what smtpd, pop3d and imapd do around their protocol:
// start-up, listeners and connection limits, logging, systemd readiness,
// reload and shutdown, exit codes.
package daemon

import (
	"context"
	"flag"
	"log/slog"
	"net"
	"os"

	"mailsuite/metrics"
	"mailsuite/shared/config"
	"mailsuite/shared/tlsconf"
	"mailsuite/store"
)

// Daemon is what every daemon has before it serves: its logger, the
// configuration, the certificate, the store and its open listeners.
type Daemon struct {
	Log       *slog.Logger
	Config    *config.Config
	Certs     *tlsconf.CertStore
	Store     *store.Store
	Specs     []ListenerSpec // what each listener is, in config order
	Listeners []net.Listener // open, in the order of Specs
	// Metrics counts what the daemon does; nil when its "metrics" key is
	// empty. Each listener above already counts its open sessions.
	Metrics *metrics.Metrics

	metricsServer *metrics.Server
}

// Start does the start-up common to smtpd, pop3d and imapd: it parses
// -config, checks the build for cgo, loads the configuration and the TLS
// certificate, opens the store and every listener. Whatever fails is
// logged in one line and the process exits with ExitConfig, before
// systemd is told the daemon is ready.
func Start(name string, listeners func(*config.Config) []ListenerSpec) *Daemon {
	configPath := flag.String("config", config.DefaultPath, "configuration file")
	flag.Parse()
	d := &Daemon{Log: NewLogger(name)}
	if err := CheckCgo(); err != nil {
		Fatal(d.Log, "cannot start", err)
	}
	var err error
	if d.Config, err = config.Load(*configPath); err != nil {
		Fatal(d.Log, "cannot load configuration", err)
	}
	if d.Certs, err = tlsconf.NewCertStore(d.Config.TLS.Cert, d.Config.TLS.Key); err != nil {
		Fatal(d.Log, "cannot load TLS certificate", err)
	}
	metricsAddr := d.Config.MetricsAddr(name)
	if metricsAddr != "" {
		d.Metrics = metrics.New()
	}
	driver, source, err := d.Config.StoreSource()
	if err != nil {
		Fatal(d.Log, "cannot open store", err)
	}
	if d.Store, err = store.OpenDriver(driver, source, store.WithLimits(d.Config.Quota.Limits()),
		store.WithCommitObserver(d.Metrics.ObserveCommit)); err != nil {
		Fatal(d.Log, "cannot open store", err)
	}
	d.Specs = listeners(d.Config)
	if d.Listeners, err = Listen(d.Specs); err != nil {
		Fatal(d.Log, "cannot listen", err)
	}
	if metricsAddr != "" {
		d.serveMetrics(name, metricsAddr)
	}
	return d
}

// Run serves until SIGTERM or SIGINT (see the package-level Run: systemd
// readiness, SIGHUP reloads the certificate), then closes the store. A
// shutdown that failed exits 1.
func (d *Daemon) Run(shutdown func(context.Context) error) {
	err := Run(d.Log, d.Certs.Reload, d.stopMetricsAfter(shutdown))
	d.Store.Close()
	if err != nil {
		d.Log.Error("shutdown", "err", err)
		os.Exit(1)
	}
}

// Specs names listeners after their config key: key (e.g. "pop3d.listen")
// for addrs, plain TCP unless implicitTLS.
func Specs(key string, addrs []string, implicitTLS bool) []ListenerSpec {
	specs := make([]ListenerSpec, 0, len(addrs))
	for _, a := range addrs {
		specs = append(specs, ListenerSpec{Addr: a, TLS: implicitTLS, Name: key})
	}
	return specs
}
