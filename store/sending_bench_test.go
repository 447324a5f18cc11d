package store

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// BenchmarkAcceptCounted measures what counting a relayed message costs
// the store's writer: 8 goroutines accept 4 KB messages to one remote
// recipient, without and with Envelope.Sending, in alternating rounds of
// the same run.
//
//	go test -run '^$' -bench AcceptCounted -benchtime 8000x ./store/
func BenchmarkAcceptCounted(b *testing.B) {
	stores := map[string]*Store{"plain": openTest(b), "counted": openTest(b)}
	for _, s := range stores {
		seed(b, s)
	}
	body := make([]byte, 4096)
	elapsed := map[string]time.Duration{}
	const round = 64
	b.ResetTimer()
	for done := 0; done < b.N; done += round {
		for _, mode := range []string{"plain", "counted"} {
			start := time.Now()
			var wg sync.WaitGroup
			for g := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := g; i < round; i += 8 {
						rcpt := fmt.Sprintf("r%d@remote.test", (done+i)%500)
						env := Envelope{From: "a@example.com", Remote: []string{rcpt}}
						if mode == "counted" {
							env.Sending = &Sending{Account: "a@example.com", IP: "192.0.2.1", Subject: "bench", Rcpts: env.Remote}
						}
						if err := stores[mode].Accept(context.Background(), env, body); err != nil {
							b.Error(err)
						}
					}
				}()
			}
			wg.Wait()
			elapsed[mode] += time.Since(start)
		}
	}
	b.ReportMetric(elapsed["counted"].Seconds()/elapsed["plain"].Seconds(), "counted/plain-time")
}
