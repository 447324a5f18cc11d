// Command imap_idle measures the memory an IMAP server spends per idle
// connection. It opens N connections, each LOGIN, SELECT INBOX and IDLE
// (until the "+" continuation), holds them, and reports the change in RSS
// and PSS of the server process (as ../../shared/bench/idle_rss.py does)
// and, if the server was built with bench/imap_idle/memstats, in its Go
// heap and stacks. Then DONE and LOGOUT on every connection.
//
// Loopback only. Logins are spread over -users accounts and over -srcs
// source addresses 127.0.0.1, 127.0.0.2, ... so that neither per-account
// nor per-IP limits, nor the ephemeral port range, get in the way.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

var (
	addr     = flag.String("addr", "127.0.0.1:42143", "server address (loopback)")
	n        = flag.Int("n", 100, "connections to hold in IDLE")
	nusers   = flag.Int("users", 10, "accounts to log in as")
	userFmt  = flag.String("user-fmt", "user%d@bench.test", "login of account i (from 1)")
	passFmt  = flag.String("pass-fmt", "pass%d", "password of account i")
	pid      = flag.Int("pid", 0, "server process to measure")
	statFile = flag.String("memstats", "", "server's $MEMSTATS_FILE (empty: no heap figures)")
	hold     = flag.Duration("hold", 5*time.Second, "pause before measuring")
	workers  = flag.Int("workers", 8, "connections opened at once")
	srcs     = flag.Int("srcs", 4, "source addresses 127.0.0.1..N")
	timeout  = flag.Duration("timeout", 10*time.Minute, "give up opening connections after this")
	gcs      = flag.Int("gcs", 1, "full GCs the server runs before its heap is read (stacks shrink by half per GC)")
)

func main() {
	flag.Parse()
	host, _, err := net.SplitHostPort(*addr)
	if err != nil || !net.ParseIP(host).IsLoopback() {
		log.Fatalf("refusing non-loopback address %q", *addr)
	}
	if *pid == 0 {
		log.Fatal("-pid is required")
	}
	baseMem := procMem(*pid)
	baseHeap := heapStats()

	start := time.Now()
	conns, errs := openAll()
	opened := time.Since(start)
	time.Sleep(*hold)

	mem := procMem(*pid)
	var heap map[string]int64
	for i := 0; i < *gcs; i++ {
		heap = heapStats()
	}
	report(len(conns), errs, opened, baseMem, mem, baseHeap, heap)
	closeAll(conns)
}

// openAll opens the connections with a few workers and returns those
// that reached IDLE.
func openAll() ([]*conn, int) {
	deadline := time.Now().Add(*timeout)
	var (
		mu    sync.Mutex
		conns []*conn
		errs  int
		wg    sync.WaitGroup
	)
	next := make(chan int)
	for w := 0; w < *workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				c, err := open(i, deadline)
				mu.Lock()
				if err != nil {
					errs++
					if errs <= 3 {
						log.Printf("conn %d: %v", i, err)
					}
				} else {
					conns = append(conns, c)
				}
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < *n && time.Now().Before(deadline); i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	return conns, errs
}

type conn struct {
	c net.Conn
	r *bufio.Reader
}

func open(i int, deadline time.Time) (*conn, error) {
	src := &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+i%*srcs))}
	d := net.Dialer{LocalAddr: src, Deadline: deadline}
	nc, err := d.Dial("tcp", *addr)
	if err != nil {
		return nil, err
	}
	nc.SetDeadline(deadline)
	c := &conn{c: nc, r: bufio.NewReaderSize(nc, 512)}
	u := i%*nusers + 1
	err = c.greeting()
	if err == nil {
		err = c.cmd(fmt.Sprintf("a1 LOGIN %s %s", fmt.Sprintf(*userFmt, u), fmt.Sprintf(*passFmt, u)))
	}
	if err == nil {
		err = c.cmd("a2 SELECT INBOX")
	}
	if err == nil {
		err = c.idle()
	}
	if err != nil {
		nc.Close()
		return nil, err
	}
	nc.SetDeadline(time.Time{})
	return c, nil
}

// greeting reads the server's greeting.
func (c *conn) greeting() error {
	line, err := c.r.ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "* OK") {
		return fmt.Errorf("greeting %q", line)
	}
	return nil
}

// cmd sends a tagged command and waits for its OK.
func (c *conn) cmd(cmd string) error {
	tag, _, _ := strings.Cut(cmd, " ")
	if _, err := fmt.Fprintf(c.c, "%s\r\n", cmd); err != nil {
		return err
	}
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			return err
		}
		if rest, ok := strings.CutPrefix(line, tag+" "); ok {
			if !strings.HasPrefix(rest, "OK") {
				return fmt.Errorf("%s: %q", tag, line)
			}
			return nil
		}
	}
}

func (c *conn) idle() error {
	if _, err := c.c.Write([]byte("a3 IDLE\r\n")); err != nil {
		return err
	}
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			return err
		}
		if strings.HasPrefix(line, "+") {
			return nil
		}
		if strings.HasPrefix(line, "a3 ") {
			return fmt.Errorf("IDLE refused: %q", line)
		}
	}
}

func closeAll(conns []*conn) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for _, c := range conns {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			c.c.SetDeadline(time.Now().Add(5 * time.Second))
			c.c.Write([]byte("DONE\r\na4 LOGOUT\r\n"))
			for {
				line, err := c.r.ReadString('\n')
				if err != nil || strings.HasPrefix(line, "a4 ") {
					break
				}
			}
			c.c.Close()
		}()
	}
	wg.Wait()
}

// mem is a process's resident memory in KiB: RSS, and PSS which splits
// shared pages fairly between processes.
type mem struct{ rss, pss int64 }

func procMem(pid int) mem {
	return mem{
		rss: kbField(fmt.Sprintf("/proc/%d/status", pid), "VmRSS:"),
		pss: kbField(fmt.Sprintf("/proc/%d/smaps_rollup", pid), "Pss:"),
	}
}

func kbField(path, name string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == name {
			v, _ := strconv.ParseInt(f[1], 10, 64)
			return v
		}
	}
	log.Fatalf("%s: no %s", path, name)
	return 0
}

// heapStats asks the server (SIGUSR1) for its runtime/metrics and reads
// them back: name → value.
func heapStats() map[string]int64 {
	if *statFile == "" {
		return nil
	}
	os.Remove(*statFile)
	if err := syscall.Kill(*pid, syscall.SIGUSR1); err != nil {
		log.Fatal(err)
	}
	for wait := time.Now().Add(30 * time.Second); time.Now().Before(wait); time.Sleep(50 * time.Millisecond) {
		b, err := os.ReadFile(*statFile)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			log.Fatal(err)
		}
		out := make(map[string]int64)
		for _, line := range bytes.Split(b, []byte("\n")) {
			if name, v, ok := strings.Cut(string(line), " "); ok {
				out[name], _ = strconv.ParseInt(v, 10, 64)
			}
		}
		return out
	}
	log.Fatal("no memstats from the server (built with -tags memstats, MEMSTATS_FILE set?)")
	return nil
}

func report(conns, errs int, opened time.Duration, base, loaded mem, baseHeap, heap map[string]int64) {
	per := func(d int64) float64 {
		if conns == 0 {
			return 0
		}
		return float64(d) / float64(conns)
	}
	fmt.Printf("idle_conns=%d errors=%d open_secs=%.1f\n", conns, errs, opened.Seconds())
	fmt.Printf("rss_KB base=%d loaded=%d per_conn=%.1f\n", base.rss, loaded.rss, per(loaded.rss-base.rss))
	fmt.Printf("pss_KB base=%d loaded=%d per_conn=%.1f\n", base.pss, loaded.pss, per(loaded.pss-base.pss))
	if heap == nil {
		return
	}
	for _, k := range []string{
		"/gc/heap/live:bytes",
		"/memory/classes/heap/stacks:bytes",
		"/memory/classes/total:bytes",
		"/sched/goroutines:goroutines",
	} {
		d := heap[k] - baseHeap[k]
		unit := "KB"
		v := per(d) / 1024
		if strings.HasSuffix(k, "goroutines") {
			unit, v = "", per(d)
		}
		fmt.Printf("%s base=%d loaded=%d per_conn=%.2f%s\n", k, baseHeap[k], heap[k], v, unit)
	}
}
