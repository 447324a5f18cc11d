// Package memstats lets a load client read a server's Go heap figures,
// which RSS does not show: imported (blank) by a server built for
// measurement, it writes runtime/metrics to $MEMSTATS_FILE after a full
// GC each time the process receives SIGUSR1. Without $MEMSTATS_FILE it
// does nothing.
package memstats

import (
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"syscall"

	"os/signal"
)

// Names are the runtime/metrics samples written, one "name value" a line.
var Names = []string{
	"/gc/heap/live:bytes",                 // live heap after the last GC
	"/memory/classes/heap/objects:bytes",  // objects, live and not yet swept
	"/memory/classes/heap/stacks:bytes",   // goroutine stacks
	"/memory/classes/heap/unused:bytes",   // heap spans' free space
	"/memory/classes/heap/free:bytes",     // free, not yet returned to the OS
	"/memory/classes/heap/released:bytes", // returned to the OS
	"/memory/classes/total:bytes",         // all memory mapped by the runtime
	"/sched/goroutines:goroutines",
}

func init() {
	path := os.Getenv("MEMSTATS_FILE")
	if path == "" {
		return
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGUSR1)
	go func() {
		for range sigs {
			if err := write(path); err != nil {
				fmt.Fprintln(os.Stderr, "memstats:", err)
			}
		}
	}()
}

// write runs a full GC so live heap is exact, then replaces path
// atomically, so a reader never sees half a file.
func write(path string) error {
	runtime.GC()
	samples := make([]metrics.Sample, len(Names))
	for i, n := range Names {
		samples[i].Name = n
	}
	metrics.Read(samples)
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	for _, s := range samples {
		if s.Value.Kind() == metrics.KindUint64 {
			fmt.Fprintf(f, "%s %d\n", s.Name, s.Value.Uint64())
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
