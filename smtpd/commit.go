package main

import (
	"context"
	"errors"
	"sync"

	"mailsuite/store"
)

// maxBatch bounds how many messages share one transaction.
const maxBatch = 64

var errCommitterClosed = errors.New("smtpd: shutting down")

// committer is the single writer of accepted messages. Sessions hand it
// their message and wait; while one transaction is being made durable
// (the fsync dominates), the messages that arrive meanwhile queue up and
// go together into the next transaction: group commit. Every session still
// gets its 250 only after the transaction holding its message committed.
type committer struct {
	st   *store.Store
	reqs chan *commitReq

	closeOnce sync.Once
	quit      chan struct{}
	done      chan struct{}
}

type commitReq struct {
	d   store.Delivery
	err chan error
}

func newCommitter(st *store.Store) *committer {
	c := &committer{
		st:   st,
		reqs: make(chan *commitReq),
		quit: make(chan struct{}),
		done: make(chan struct{}),
	}
	go c.loop()
	return c
}

// accept commits one delivery (in a batch with others) and returns when it
// is durable, or with an error when nothing of it was written.
func (c *committer) accept(ctx context.Context, d store.Delivery) error {
	req := &commitReq{d: d, err: make(chan error, 1)}
	select {
	case c.reqs <- req:
	case <-c.quit:
		return errCommitterClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once handed over, wait for the outcome even if ctx ends: the
	// transaction may commit, and the answer must say what happened.
	return <-req.err
}

func (c *committer) loop() {
	defer close(c.done)
	for {
		var batch []*commitReq
		select {
		case r := <-c.reqs:
			batch = append(batch, r)
		case <-c.quit:
			return
		}
	more:
		for len(batch) < maxBatch {
			select {
			case r := <-c.reqs:
				batch = append(batch, r)
			default:
				break more
			}
		}
		c.run(batch)
	}
}

func (c *committer) run(batch []*commitReq) {
	ds := make([]store.Delivery, len(batch))
	for i, r := range batch {
		ds[i] = r.d
	}
	errs := c.st.AcceptBatch(context.Background(), ds)
	for i, r := range batch {
		r.err <- errs[i]
	}
}

// close stops the loop after the batch in progress; later accepts fail.
func (c *committer) close() {
	c.closeOnce.Do(func() { close(c.quit) })
	<-c.done
}
