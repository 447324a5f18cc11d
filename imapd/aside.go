package main

// aside runs f on a goroutine of its own and waits for it to finish.
//
// An idle connection's memory is mostly its goroutines' stacks. Store
// calls (database/sql and the SQLite driver) and password hashing need
// deep stacks; made on the connection's own goroutine, which lives as long
// as the client stays connected, they would grow that stack for good (Go
// shrinks a stack only by half per GC, and not while a quarter of it is in
// use). Run aside, the deep stack is freed as soon as the call returns.
// A panic in f is raised again in the caller, where go-imap recovers it.
func aside(f func()) {
	var p any
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() { p = recover() }()
		f()
	}()
	<-done
	if p != nil {
		panic(p)
	}
}
