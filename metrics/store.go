package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"mailsuite/store"
)

// storeTimeout bounds the store reads of one scrape, so a store stuck
// behind a lock delays a scrape by that much at most.
const storeTimeout = 2 * time.Second

var (
	queueMessagesDesc = prometheus.NewDesc("mailsuite_queue_messages",
		"Messages in the outbound queue (pending, or awaiting their bounce).", nil, nil)
	queueOldestDesc = prometheus.NewDesc("mailsuite_queue_oldest_age_seconds",
		"Age of the oldest message in the outbound queue; 0 when it is empty.", nil, nil)
	grantsLiveDesc = prometheus.NewDesc("mailsuite_grants_live",
		"Unexpired POP/IMAP-before-SMTP relay grants.", nil, nil)
)

// WatchStore adds the queue and grant gauges, read from st at each
// scrape. smtpd calls it: the figures are the store's, the same from every
// daemon, so one endpoint serves them.
func (m *Metrics) WatchStore(st *store.Store) {
	if m != nil {
		m.reg.MustRegister(storeCollector{st})
	}
}

// storeCollector reads the store at scrape time. A read that fails or
// times out is reported as an invalid metric: the scrape still serves the
// other metrics (promhttp.ContinueOnError), and the gap shows.
type storeCollector struct{ st *store.Store }

func (c storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queueMessagesDesc
	ch <- queueOldestDesc
	ch <- grantsLiveDesc
}

func (c storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	q, err := c.st.QueueSummary(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(queueMessagesDesc, err)
	} else {
		age := 0.0
		if !q.Oldest.IsZero() {
			age = max(c.st.Now().Sub(q.Oldest).Seconds(), 0)
		}
		ch <- prometheus.MustNewConstMetric(queueMessagesDesc, prometheus.GaugeValue, float64(q.Messages))
		ch <- prometheus.MustNewConstMetric(queueOldestDesc, prometheus.GaugeValue, age)
	}
	n, err := c.st.LiveGrantCount(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(grantsLiveDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(grantsLiveDesc, prometheus.GaugeValue, float64(n))
}
