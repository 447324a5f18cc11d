package queue

import (
	"context"
	"errors"
	"fmt"

	"mailsuite/store"
)

// finish ends a queued message with no pending recipient: it sends the
// bounce owed for its failed recipients, then deletes it. When the
// bounce cannot be queued (the store failed) the message stays, and the
// next sweep tries again; a crash in between may bounce twice, never
// lose the bounce.
func (r *Runner) finish(ctx context.Context, id int64) {
	m, err := r.st.QueuedMessageByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return
	}
	if err != nil {
		r.log.Error("queue finish", "queue_id", id, "err", err)
		return
	}
	var failed []store.QueuedRcpt
	for _, rc := range m.Rcpts {
		switch rc.Status {
		case store.RcptPending:
			return // not finished after all
		case store.RcptFailed:
			failed = append(failed, rc)
		}
	}
	if len(failed) > 0 && m.Sender != "" && !m.IsBounce {
		if err := r.notify(ctx, m, failed, notice{}); err != nil {
			r.log.Error("bounce", "queue_id", id, "to", m.Sender, "err", err)
			return
		}
	}
	if err := r.st.DeleteQueued(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
		r.log.Error("queue delete", "queue_id", id, "err", err)
	}
}

// notify composes the DSN (a bounce, or a delay notice) about rcpts and
// delivers it like any message from <>: into the sender's mailbox when
// the sender is local, else into the queue, marked as a bounce so that it
// is never bounced itself. A local sender that no longer exists gets
// nothing (logged).
func (r *Runner) notify(ctx context.Context, m store.QueuedMessage, rcpts []store.QueuedRcpt, n notice) error {
	body, err := r.st.QueueBody(ctx, m.ID)
	if err != nil {
		return err
	}
	dsn, err := composeDSN(r.cfg.Hostname, m, rcpts, body, r.now(), n)
	if err != nil {
		return err
	}
	env, err := r.bounceEnvelope(ctx, m.Sender)
	if err != nil {
		return err
	}
	what := "bounce"
	if n.delayed {
		what = "delay notice"
	}
	if len(env.Local) == 0 && len(env.Remote) == 0 {
		r.log.Warn(what+" dropped", "queue_id", m.ID, "to", m.Sender, "reason", "no mailbox for the sender")
		return nil
	}
	if err := r.st.Accept(ctx, env, dsn); err != nil {
		return err
	}
	if n.delayed {
		r.log.Info("delay notified", "queue_id", m.ID, "to", m.Sender, "delayed", len(rcpts))
	} else {
		r.log.Info("bounced", "queue_id", m.ID, "to", m.Sender, "failed", len(rcpts))
		r.metrics.Bounce()
	}
	if len(env.Remote) > 0 {
		r.Kick()
	}
	if len(env.Local) > 0 && r.bounced != nil {
		r.bounced(ctx, env.Local)
	}
	return nil
}

// bounceReturnPath is what the final delivery of a bounce adds (RFC 5321
// section 4.4): filters tell a DSN from other mail by it.
var bounceReturnPath = []byte("Return-Path: <>\r\n")

// bounceEnvelope addresses a bounce to sender where a RCPT TO of sender
// would take it (store.Route): its users and alias targets when local,
// else the queue. An address that cannot be routed (no longer valid, or
// an alias loop) gets nothing: the bounce is dropped.
func (r *Runner) bounceEnvelope(ctx context.Context, sender string) (store.Envelope, error) {
	env := store.Envelope{From: "", IsBounce: true, LocalPrefix: bounceReturnPath}
	res, err := r.st.Route(ctx, sender, r.cfg.Hostname)
	if errors.Is(err, store.ErrInvalidAddress) || errors.Is(err, store.ErrAliasLoop) {
		return env, nil
	}
	if err != nil {
		return env, fmt.Errorf("bounce to %s: %w", sender, err)
	}
	for _, u := range res.Users {
		env.Local = append(env.Local, u.ID)
	}
	env.Remote = res.Remote
	return env, nil
}
