package shared

import (
	"sync"
	"testing"
)

func TestConnLimiter(t *testing.T) {
	l := NewConnLimiter(2)
	first, second := l.Acquire(), l.Acquire()
	if !first || !second {
		t.Fatal("could not take two slots of two")
	}
	if l.Acquire() {
		t.Fatal("took a third slot of two")
	}
	l.Release()
	if !l.Acquire() {
		t.Fatal("slot not returned by Release")
	}
	if l.InUse() != 2 {
		t.Errorf("InUse = %d, want 2", l.InUse())
	}
}

func TestConnLimiterUnlimited(t *testing.T) {
	l := NewConnLimiter(0)
	for range 1000 {
		if !l.Acquire() {
			t.Fatal("limit 0 refused a connection")
		}
	}
}

func TestConnLimiterConcurrent(t *testing.T) {
	const max = 5
	l := NewConnLimiter(max)
	var wg sync.WaitGroup
	var mu sync.Mutex
	granted := 0
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if l.Acquire() {
				mu.Lock()
				granted++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if granted != max || l.InUse() != max {
		t.Errorf("granted %d, in use %d; want %d", granted, l.InUse(), max)
	}
}
