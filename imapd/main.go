// Command imapd serves users' mailboxes over IMAP (IMAP4rev1 and
// IMAP4rev2, go-imap's imapserver over the shared store), pushes changes
// made by other processes to selected and IDLE sessions, and records a
// relay grant at every login (IMAP-before-SMTP).
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"os"

	"mailsuite/shared"
	"mailsuite/store"
)

func main() {
	configPath := flag.String("config", shared.DefaultConfigPath, "configuration file")
	flag.Parse()
	log := shared.NewLogger("imapd")
	if err := shared.CheckCgo(); err != nil {
		shared.Fatal(log, "cannot start", err)
	}
	cfg, err := shared.Load(*configPath)
	if err != nil {
		shared.Fatal(log, "cannot load configuration", err)
	}
	certs, err := shared.NewCertStore(cfg.TLS.Cert, cfg.TLS.Key)
	if err != nil {
		shared.Fatal(log, "cannot load TLS certificate", err)
	}
	st, err := store.Open(cfg.DBPath())
	if err != nil {
		shared.Fatal(log, "cannot open store", err)
	}
	specs := listeners(cfg)
	lns, err := shared.Listen(specs)
	if err != nil {
		shared.Fatal(log, "cannot listen", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := newServer(ctx, cfg, st, log)
	if err != nil {
		shared.Fatal(log, "cannot read the store", err)
	}
	go srv.hub.run(ctx)
	tlsConfig := certs.Config()
	imap := srv.imapServer(tlsConfig, cfg.Auth.AllowPlaintext)
	for i, ln := range lns {
		ln = limitListener{Listener: ln, limit: srv.limit}
		if specs[i].TLS {
			ln = tls.NewListener(ln, tlsConfig)
		}
		log.Info("listening", "addr", ln.Addr().String(), "tls", specs[i].TLS)
		go func() {
			if err := imap.Serve(ln); err != nil {
				log.Error("serve", "addr", ln.Addr().String(), "err", err)
			}
		}()
	}
	err = shared.Run(log, certs.Reload, func(context.Context) error {
		cancel()
		return imap.Close()
	})
	st.Close()
	if err != nil {
		log.Error("shutdown", "err", err)
		os.Exit(1)
	}
}

// listeners lists the configured IMAP (STARTTLS) and IMAPS addresses.
func listeners(cfg *shared.Config) []shared.Listener {
	var specs []shared.Listener
	for _, a := range cfg.IMAPD.Listen {
		specs = append(specs, shared.Listener{Addr: a, Name: "imapd.listen"})
	}
	for _, a := range cfg.IMAPD.TLSListen {
		specs = append(specs, shared.Listener{Addr: a, TLS: true, Name: "imapd.tls_listen"})
	}
	return specs
}
