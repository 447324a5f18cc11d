package queue

import (
	"context"
	"sync"
	"time"

	"mailsuite/store"
)

// delivery is one queued message with those of its due recipients that
// share a hop.
type delivery struct {
	queueID  int64
	sender   string
	created  time.Time
	isBounce bool
	warned   bool // the sender got the delay notice already
	attempts int  // the most attempts any of rcpts has had
	rcpts    []store.DueRcpt
}

// job is work for one connection: messages to one hop.
type job struct {
	hop  hop
	msgs []*delivery
}

// deliverLoop runs the workers and feeds them due mail until ctx ends,
// then waits for them to stop. A worker in the middle of a transaction
// finishes it, for up to r.grace: once the remote has the data, cutting
// the connection before its reply would leave the message queued, and
// the next runner would send it again (the duplicate of RFC 5321 6.3).
func (r *Runner) deliverLoop(ctx context.Context) {
	work, abort := context.WithCancel(context.WithoutCancel(ctx))
	defer abort()
	context.AfterFunc(ctx, func() { time.AfterFunc(r.grace, abort) })
	jobs := make(chan *job)
	var wg sync.WaitGroup
	for range r.workers {
		wg.Go(func() {
			for j := range jobs {
				r.runJob(ctx, work, j)
			}
		})
	}
	defer func() {
		close(jobs)
		wg.Wait()
	}()
	r.sweep(ctx)
	swept := time.Now()
	for {
		n := r.dispatch(ctx, jobs)
		if ctx.Err() != nil {
			return
		}
		if time.Since(swept) > defaultSweep {
			r.sweep(ctx)
			swept = time.Now()
		}
		if n == 0 && !r.wait(ctx, r.poll) {
			return
		}
	}
}

// dispatch hands the due recipients not already in flight to the
// workers, grouped by message and hop, and returns how many jobs it gave.
func (r *Runner) dispatch(ctx context.Context, jobs chan<- *job) int {
	r.beginScan()
	due, err := r.st.DueRecipients(ctx, r.now(), scanLimit)
	if err != nil {
		if ctx.Err() == nil {
			r.log.Error("queue scan", "err", err)
		}
		return 0
	}
	plan := r.plan(due)
	for i, j := range plan {
		select {
		case jobs <- j:
		case <-ctx.Done():
			for _, rest := range plan[i:] {
				for _, d := range rest.msgs {
					r.release(d)
				}
			}
			return i
		}
	}
	return len(plan)
}

// beginScan starts noting the recipients released from now on. A scan
// can read a recipient as due just before its worker records the result
// and releases it; plan must not hand that recipient out again. One
// released before the scan began had its result committed before the
// scan read, so the scan saw it.
func (r *Runner) beginScan() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.released = map[int64]bool{}
}

// plan groups due recipients into jobs and marks them in flight, leaving
// out those released since the scan began (see beginScan). Each
// hop's messages are split so that up to r.workers connections share
// them, at most r.perConn messages each.
func (r *Runner) plan(due []store.DueRcpt) []*job {
	r.mu.Lock()
	defer r.mu.Unlock()
	type group struct {
		hop  hop
		msgs []*delivery
		byID map[int64]*delivery
	}
	groups := map[string]*group{}
	var order []*group
	for _, d := range due {
		if r.inflight[d.ID] || r.released[d.ID] {
			continue
		}
		h := r.hopFor(d.Rcpt)
		g := groups[h.key()]
		if g == nil {
			g = &group{hop: h, byID: map[int64]*delivery{}}
			groups[h.key()] = g
			order = append(order, g)
		}
		m := g.byID[d.QueueID]
		if m == nil {
			m = &delivery{queueID: d.QueueID, sender: d.Sender, created: d.Created, isBounce: d.IsBounce, warned: d.Warned}
			g.byID[d.QueueID] = m
			g.msgs = append(g.msgs, m)
			r.busy[d.QueueID]++
		}
		m.rcpts = append(m.rcpts, d)
		m.attempts = max(m.attempts, d.Attempts)
		r.inflight[d.ID] = true
	}
	r.released = nil
	var jobs []*job
	for _, g := range order {
		size := min(r.perConn, max(1, (len(g.msgs)+r.workers-1)/r.workers))
		for len(g.msgs) > 0 {
			n := min(size, len(g.msgs))
			jobs = append(jobs, &job{hop: g.hop, msgs: g.msgs[:n]})
			g.msgs = g.msgs[n:]
		}
	}
	return jobs
}

// release forgets that d is in flight.
func (r *Runner) release(d *delivery) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rc := range d.rcpts {
		delete(r.inflight, rc.ID)
		if r.released != nil {
			r.released[rc.ID] = true
		}
	}
	if r.busy[d.queueID]--; r.busy[d.queueID] <= 0 {
		delete(r.busy, d.queueID)
	}
}

// sweep finishes messages that have no pending recipient left but are
// still queued: a bounce is owed (its delivery failed, or a crash came
// between the last attempt and the bounce).
func (r *Runner) sweep(ctx context.Context) {
	ids, err := r.st.FinishedQueued(ctx)
	if err != nil {
		if ctx.Err() == nil {
			r.log.Error("queue sweep", "err", err)
		}
		return
	}
	for _, id := range ids {
		r.mu.Lock()
		busy := r.busy[id] > 0
		r.mu.Unlock()
		if !busy && ctx.Err() == nil {
			r.finish(ctx, id)
		}
	}
}
