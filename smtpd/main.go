// Command smtpd receives mail for the local domains (MX), takes mail from
// the suite's users for relaying (SMTP AUTH or POP/IMAP-before-SMTP
// grants), commits every accepted message durably to the store, and runs
// the outbound queue.
package main

import (
	"context"
	"flag"
	"os"

	"mailsuite/shared"
	"mailsuite/smtpd/queue"
	"mailsuite/store"
)

func main() {
	configPath := flag.String("config", shared.DefaultConfigPath, "configuration file")
	flag.Parse()
	log := shared.NewLogger("smtpd")
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

	runner := queue.New(cfg, st, log)
	ctx, stopQueue := context.WithCancel(context.Background())
	queueDone := make(chan struct{})
	go func() {
		defer close(queueDone)
		if err := runner.Run(ctx); err != nil && ctx.Err() == nil {
			log.Error("queue runner stopped", "err", err)
		}
	}()

	srv := newServer(cfg, st, log, certs.Config())
	srv.kick = runner.Kick
	for i, ln := range lns {
		log.Info("listening", "addr", ln.Addr().String(), "role", specs[i].Name, "tls", specs[i].TLS)
		srv.serve(ln, roleOf(specs[i]), specs[i].TLS)
	}
	err = shared.Run(log, certs.Reload, func(ctx context.Context) error {
		err := srv.shutdown(ctx)
		stopQueue()
		<-queueDone
		return err
	})
	st.Close()
	if err != nil {
		log.Error("shutdown", "err", err)
		os.Exit(1)
	}
}

// listeners lists the configured MX, submission and submissions addresses.
func listeners(cfg *shared.Config) []shared.Listener {
	var specs []shared.Listener
	for _, a := range cfg.SMTPD.Listen {
		specs = append(specs, shared.Listener{Addr: a, Name: "smtpd.listen"})
	}
	for _, a := range cfg.SMTPD.Submission {
		specs = append(specs, shared.Listener{Addr: a, Name: "smtpd.submission"})
	}
	for _, a := range cfg.SMTPD.Submissions {
		specs = append(specs, shared.Listener{Addr: a, TLS: true, Name: "smtpd.submissions"})
	}
	return specs
}

func roleOf(l shared.Listener) Role {
	if l.Name == "smtpd.listen" {
		return RoleMX
	}
	return RoleSubmission
}
