package queue

import (
	"context"
	"errors"
	"time"

	"mailsuite/metrics"
	"mailsuite/store"
)

// runJob delivers a job's messages over one connection to its hop,
// opening a new one if the server drops it between messages. Once stop
// ends it begins no further message; ctx ending abandons the one under
// way (see deliverLoop).
func (r *Runner) runJob(stop, ctx context.Context, j *job) {
	defer r.Kick() // what this job leaves behind may be due
	var s *session
	defer func() {
		if s != nil {
			s.quit()
		}
	}()
	retried := false
	for i := 0; i < len(j.msgs); i++ {
		d := j.msgs[i]
		if s == nil && stop.Err() == nil {
			var fail result
			if s, fail = r.connect(ctx, j.hop); s == nil && stop.Err() == nil {
				// The hop is unreachable: the same for every message.
				for _, d := range j.msgs[i:] {
					r.record(ctx, d, repeat(fail, len(d.rcpts)), false)
					r.release(d)
				}
				return
			}
		}
		if stop.Err() != nil {
			// Stopping: the rest is for the next runner.
			r.releaseAll(j.msgs[i:])
			return
		}
		body, err := r.st.QueueBody(ctx, d.queueID)
		if err != nil {
			if !errors.Is(err, store.ErrNotFound) && ctx.Err() == nil {
				r.log.Error("queue read", "queue_id", d.queueID, "err", err)
			}
			r.release(d)
			continue
		}
		res, ok, stale := s.send(d, body, r.timeouts)
		tls := s.tls
		if !ok {
			s.close()
			if stale && s.used > 1 && !retried {
				// The server closed the idle connection we reused.
				s, retried = nil, true
				i--
				continue
			}
			s = nil
		}
		retried = false
		r.record(ctx, d, res, tls)
		r.release(d)
	}
}

func repeat(r result, n int) []result {
	out := make([]result, n)
	for i := range out {
		out[i] = r
	}
	return out
}

func (r *Runner) releaseAll(ds []*delivery) {
	for _, d := range ds {
		r.release(d)
	}
}

// record stores the results of one attempt and, when the message has no
// recipient left to try, finishes it (bounce, then delete); when some
// are left, it may warn the sender of the delay (warnDelayed). Once the
// delivery is abandoned (ctx ended), temporary results are dropped: they
// come from the cut connection, not from the remote server, and the
// recipients stay due.
func (r *Runner) record(ctx context.Context, d *delivery, res []result, tls bool) {
	cancelled := ctx.Err() != nil
	ctx = context.WithoutCancel(ctx) // a result we know must be kept
	now := r.now()
	var outs []store.Outcome
	for i, rc := range d.rcpts {
		if res[i].kind == resTemp && cancelled {
			continue
		}
		o := r.outcome(rc, d.created, res[i], now)
		r.logOutcome(d, rc, res[i], o, tls)
		outs = append(outs, o)
	}
	if len(outs) == 0 {
		return
	}
	p, err := r.st.RecordAttempts(ctx, d.queueID, outs)
	if err != nil {
		// Not recorded: the recipients are tried again (at least once).
		r.log.Error("queue record", "queue_id", d.queueID, "err", err)
		return
	}
	if p.Pending > 0 {
		r.warnDelayed(ctx, d, now)
	}
	if p.Pending == 0 && !p.Deleted {
		r.finish(ctx, d.queueID)
	} else if p.Deleted && p.Failed > 0 {
		r.log.Warn("not bounced", "queue_id", d.queueID, "from", d.sender, "bounce", d.isBounce,
			"reason", "a bounce, or from the null sender: dropped")
	}
}

// outcome turns a result into what the store keeps: sent, failed, or
// pending until the next retry. A temporary failure after the lifetime
// is final; the last retry is moved up to the lifetime's end so the
// sender hears in time.
func (r *Runner) outcome(rc store.DueRcpt, created time.Time, x result, now time.Time) store.Outcome {
	o := store.Outcome{RcptID: rc.ID, Next: now, Error: x.text, RemoteMTA: x.mta, DSNStatus: x.status}
	switch x.kind {
	case resSent:
		o.Status = store.RcptSent
	case resPerm:
		o.Status = store.RcptFailed
	default:
		expiry := created.Add(r.lifetime())
		if !now.Before(expiry) {
			o.Status, o.DSNStatus = store.RcptFailed, "5.4.7"
			if x.mta == "" {
				o.Error = "delivery time expired: " + x.text
			}
			return o
		}
		o.Status = store.RcptPending
		o.Next = now.Add(r.retryAfter(rc.Attempts + 1))
		if o.Next.After(expiry) {
			o.Next = expiry
		}
	}
	return o
}

// retryAfter is the wait after the n-th attempt: the n-th interval of
// the schedule, then the last one again and again.
func (r *Runner) retryAfter(n int) time.Duration {
	sched := r.cfg.SMTPD.Queue.Retry
	if len(sched) == 0 {
		return defaultRetry
	}
	return sched[min(n, len(sched))-1].Duration
}

func (r *Runner) lifetime() time.Duration {
	if l := r.cfg.SMTPD.Queue.Lifetime.Duration; l > 0 {
		return l
	}
	return defaultLifetime
}

// logOutcome writes the mail log line for one recipient.
func (r *Runner) logOutcome(d *delivery, rc store.DueRcpt, x result, o store.Outcome, tls bool) {
	args := []any{"queue_id", d.queueID, "from", d.sender, "to", rc.Rcpt, "attempt", rc.Attempts + 1}
	if x.mta != "" {
		args = append(args, "relay", x.mta, "tls", tls)
	}
	switch o.Status {
	case store.RcptSent:
		r.log.Info("delivered", append(args, "reply", x.text)...)
		r.metrics.Delivery(metrics.Delivered)
	case store.RcptPending:
		r.log.Info("deferred", append(args, "err", x.text, "next", o.Next.UTC().Format(time.RFC3339))...)
		r.metrics.Delivery(metrics.Deferred)
	default:
		r.log.Warn("failed", append(args, "status", o.DSNStatus, "err", o.Error)...)
		r.metrics.Delivery(metrics.Failed)
	}
}
