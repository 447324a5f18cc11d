// Command pop3d serves users' INBOXes over POP3 (RFC 1939) with STLS,
// POP3S, SASL PLAIN/LOGIN, and records a relay grant at every login
// (POP-before-SMTP).
package main

import (
	"log/slog"
	"net"

	"mailsuite/shared/config"
	"mailsuite/shared/daemon"
)

func main() {
	d := daemon.Start("pop3d", listeners)
	cfg, st, log := d.Config, d.Store, d.Log
	srv := newServer(cfg, st, log)
	srv.tls = d.Certs.Config()
	srv.auth.Metrics = d.Metrics
	for i, ln := range d.Listeners {
		go serveLogged(srv, ln, d.Specs[i], log)
	}
	d.Run(srv.shutdown)
}

// listeners lists the configured POP3 (STLS) and POP3S addresses.
func listeners(cfg *config.Config) []daemon.ListenerSpec {
	return append(daemon.Specs("pop3d.listen", cfg.POP3D.Listen, false),
		daemon.Specs("pop3d.tls_listen", cfg.POP3D.TLSListen, true)...)
}

func serveLogged(srv *server, ln net.Listener, spec daemon.ListenerSpec, log *slog.Logger) {
	log.Info("listening", "addr", ln.Addr().String(), "tls", spec.TLS)
	srv.serve(ln, spec.TLS)
}
