// Package scrape reads a Prometheus /metrics page over HTTP, for tests of
// the daemons' metrics. It imports nothing of mailsuite, so the tests of
// every package (shared/auth and metrics included) can use it.
package scrape

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Get fetches a Prometheus text exposition from url over HTTP and
// returns each sample's value by its series as written, name and labels
// (`mailsuite_logins_total{protocol="pop3",result="ok"}`); the client
// library writes labels sorted by name. A failed fetch fails the test.
func Get(t testing.TB, url string) map[string]float64 {
	t.Helper()
	samples, err := TryGet(url)
	if err != nil {
		t.Fatal(err)
	}
	return samples
}

// TryGet is Get returning its error.
func TryGet(url string) (map[string]float64, error) {
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return nil, fmt.Errorf("scrape: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("scrape %s: %s: %s", url, resp.Status, b)
	}
	samples := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			return nil, fmt.Errorf("scrape %s: line %q has no value", url, line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			return nil, fmt.Errorf("scrape %s: line %q: %w", url, line, err)
		}
		samples[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("scrape %s: %w", url, err)
	}
	return samples, nil
}

// Serve serves h (a daemon's metrics handler) on a loopback port until
// the test ends, and returns the URL to Get.
func Serve(t testing.TB, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL + "/metrics"
}
