//go:build memstats

package main

// Built with -tags memstats for bench/imap_idle: SIGUSR1 writes heap
// figures to $MEMSTATS_FILE. The daemon built without the tag is unchanged.
import _ "mailsuite/bench/imap_idle/memstats"
