// Command imapd serves users' mailboxes over IMAP (IMAP4rev1 and
// IMAP4rev2, go-imap's imapserver over the shared store), pushes changes
// made by other processes to selected and IDLE sessions, and records a
// relay grant at every login (IMAP-before-SMTP).
package main

import (
	"context"
	"errors"
	"net/http"

	"mailsuite/shared/config"
	"mailsuite/shared/daemon"
)

func main() {
	d := daemon.Start("imapd", listeners)
	cfg, st, log := d.Config, d.Store, d.Log
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := newServer(ctx, cfg, st, log)
	if err != nil {
		daemon.Fatal(log, "cannot read the store", err)
	}
	go srv.hub.run(ctx)
	srv.auth.Metrics = d.Metrics
	tlsConfig := d.Certs.Config()
	imap := srv.imapServer(tlsConfig, cfg.Auth.AllowPlaintext)
	for i, ln := range d.Listeners {
		if d.Specs[i].TLS {
			ln = srv.listen(ln, tlsConfig)
		} else {
			ln = srv.listen(ln, nil)
		}
		log.Info("listening", "addr", ln.Addr().String(), "tls", d.Specs[i].TLS)
		go func() {
			if err := imap.Serve(ln); err != nil {
				log.Error("serve", "addr", ln.Addr().String(), "err", err)
			}
		}()
	}
	var passwords *http.Server
	if addr := cfg.IMAPD.PasswordAPI; addr != "" {
		passwords = srv.servePasswordAPI(addr, cfg.Auth.MinPasswordLength)
	}
	d.Run(func(ctx context.Context) error {
		cancel()
		srv.conns.byeAll("server shutting down, reconnect shortly")
		err := imap.Close()
		if passwords != nil {
			err = errors.Join(err, passwords.Shutdown(ctx))
		}
		return err
	})
}

// listeners lists the configured IMAP (STARTTLS) and IMAPS addresses.
func listeners(cfg *config.Config) []daemon.ListenerSpec {
	return append(daemon.Specs("imapd.listen", cfg.IMAPD.Listen, false),
		daemon.Specs("imapd.tls_listen", cfg.IMAPD.TLSListen, true)...)
}
