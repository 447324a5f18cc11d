package main

import (
	"context"
	"sync"
	"time"

	"mailsuite/shared/resolve"
)

// The inbound checks look up a few TXT records per message (SPF, DKIM
// keys, DMARC), mostly the same ones again and again: the large senders'.
// txtResolver keeps each answer for txtCacheFor, so a burst of mail from
// one domain costs one lookup of each record, not one per message. Only
// answers are kept (records, or "no such record"): a timeout or a server
// failure is asked again by the next message.
const (
	// txtCacheFor is far below the TTL domains give these records
	// (minutes to hours): a changed record is seen at most this late.
	txtCacheFor = 30 * time.Second
	// txtCacheMax bounds the cache; when it is full, expired answers
	// go, and if that frees nothing, all of them.
	txtCacheMax = 4096
)

// txtResolver is the resolver with its TXT answers cached; the other
// lookups (SPF's A, MX and PTR) go straight to it.
type txtResolver struct {
	*resolve.Resolver

	keep    time.Duration // txtCacheFor; 0 keeps nothing (a benchmark's baseline)
	mu      sync.Mutex
	answers map[string]txtAnswer // by name as asked; guarded by mu
	now     func() time.Time
}

type txtAnswer struct {
	txts    []string
	err     error // nil, or a not-found error
	expires time.Time
}

func newTXTResolver(r *resolve.Resolver) *txtResolver {
	return &txtResolver{Resolver: r, keep: txtCacheFor, answers: map[string]txtAnswer{}, now: time.Now}
}

// LookupTXT answers from the cache, or asks the resolver and keeps its
// answer. Callers must not change the slice it returns.
func (r *txtResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	if r.keep == 0 {
		return r.Resolver.LookupTXT(ctx, name)
	}
	now := r.now()
	r.mu.Lock()
	a, ok := r.answers[name]
	r.mu.Unlock()
	if ok && now.Before(a.expires) {
		return a.txts, a.err
	}
	txts, err := r.Resolver.LookupTXT(ctx, name)
	if err != nil && !resolve.IsNotFound(err) {
		return txts, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.answers) >= txtCacheMax {
		for k, a := range r.answers {
			if !now.Before(a.expires) {
				delete(r.answers, k)
			}
		}
		if len(r.answers) >= txtCacheMax {
			clear(r.answers)
		}
	}
	r.answers[name] = txtAnswer{txts: txts, err: err, expires: now.Add(r.keep)}
	return txts, err
}
