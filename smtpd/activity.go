package main

import "sync"

// activity counts work in progress that shutdown must wait for.
type activity struct {
	mu      sync.Mutex
	n       int           // guarded by mu
	closing bool          // guarded by mu
	idle    chan struct{} // closed when closing and n == 0; guarded by mu
}

// begin registers one unit of work; it reports false once shutdown has
// begun, and the caller must then refuse the work.
func (a *activity) begin() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closing {
		return false
	}
	a.n++
	return true
}

// end finishes a unit registered by a successful begin.
func (a *activity) end() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.n--
	if a.closing && a.n == 0 {
		close(a.idle)
	}
}

// drain refuses new work and returns a channel closed when the work in
// progress is done.
func (a *activity) drain() <-chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.closing {
		a.closing = true
		a.idle = make(chan struct{})
		if a.n == 0 {
			close(a.idle)
		}
	}
	return a.idle
}

// inProgress reports whether any work is registered (for tests).
func (a *activity) inProgress() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.n > 0
}

// draining reports whether drain was called (for tests).
func (a *activity) draining() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.closing
}
