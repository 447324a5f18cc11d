package queue

import (
	"context"
	"time"

	"mailsuite/store"
)

// warnDelayed sends the sender of a message still queued after
// smtpd.queue.delay_warning one delay notice (RFC 3464 Action: delayed)
// about its pending recipients, at the first attempt past that time.
// Never for the null sender or a bounce, and once per message: the store
// claims the notice before it is sent, and gives the claim back when it
// could not be sent, so the next attempt tries again.
func (r *Runner) warnDelayed(ctx context.Context, d *delivery, now time.Time) {
	after := r.cfg.SMTPD.Queue.DelayWarning.Duration
	if after <= 0 || d.warned || d.sender == "" || d.isBounce || now.Sub(d.created) < after {
		return
	}
	claimed, err := r.st.ClaimDelayWarning(ctx, d.queueID)
	if err != nil || !claimed {
		if err != nil {
			r.log.Error("delay notice", "queue_id", d.queueID, "err", err)
		}
		return
	}
	m, err := r.st.QueuedMessageByID(ctx, d.queueID)
	if err != nil {
		r.log.Error("delay notice", "queue_id", d.queueID, "err", err)
		r.unclaim(ctx, d.queueID)
		return
	}
	var pending []store.QueuedRcpt
	for _, rc := range m.Rcpts {
		if rc.Status == store.RcptPending {
			pending = append(pending, rc)
		}
	}
	if len(pending) == 0 {
		return
	}
	if err := r.notify(ctx, m, pending, notice{delayed: true, until: m.Created.Add(r.lifetime())}); err != nil {
		r.log.Error("delay notice", "queue_id", d.queueID, "to", d.sender, "err", err)
		r.unclaim(ctx, d.queueID)
	}
}

func (r *Runner) unclaim(ctx context.Context, id int64) {
	if err := r.st.UnclaimDelayWarning(ctx, id); err != nil {
		r.log.Error("delay notice", "queue_id", id, "err", err)
	}
}
