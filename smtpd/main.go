// Command smtpd receives mail for the local domains (MX), takes mail from
// the suite's users for relaying (SMTP AUTH or POP/IMAP-before-SMTP
// grants), commits every accepted message durably to the store, and runs
// the outbound queue.
package main

import (
	"context"

	"mailsuite/shared/config"
	"mailsuite/shared/daemon"
	"mailsuite/smtpd/policy"
	"mailsuite/smtpd/queue"
)

func main() {
	d := daemon.Start("smtpd", listeners)
	cfg, st, log := d.Config, d.Store, d.Log

	srv := newServer(cfg, st, log, d.Certs.Config())
	if err := cleanSpoolDir(srv.spoolDir); err != nil {
		daemon.Fatal(log, "cannot start", err)
	}
	runner := queue.New(cfg, st, log, queue.WithMetrics(d.Metrics), queue.WithBounced(srv.bounceStorms))
	d.Metrics.WatchStore(st)
	ctx, stopQueue := context.WithCancel(context.Background())
	queueDone := make(chan struct{})
	go func() {
		defer close(queueDone)
		if err := runner.Run(ctx); err != nil && ctx.Err() == nil {
			log.Error("queue runner stopped", "err", err)
		}
	}()

	srv.kick = runner.Kick
	srv.metrics, srv.auth.Metrics = d.Metrics, d.Metrics
	for i, ln := range d.Listeners {
		spec := d.Specs[i]
		log.Info("listening", "addr", ln.Addr().String(), "role", spec.Name, "tls", spec.TLS)
		srv.serve(ln, roleOf(spec), spec.TLS)
	}
	d.Run(func(ctx context.Context) error {
		err := srv.shutdown(ctx)
		stopQueue()
		<-queueDone
		return err
	})
}

// listeners lists the configured MX, submission and submissions addresses.
func listeners(cfg *config.Config) []daemon.ListenerSpec {
	specs := daemon.Specs("smtpd.listen", cfg.SMTPD.Listen, false)
	specs = append(specs, daemon.Specs("smtpd.submission", cfg.SMTPD.Submission, false)...)
	return append(specs, daemon.Specs("smtpd.submissions", cfg.SMTPD.Submissions, true)...)
}

func roleOf(l daemon.ListenerSpec) policy.Role {
	if l.Name == "smtpd.listen" {
		return policy.RoleMX
	}
	return policy.RoleSubmission
}
