package daemon

import (
	"context"
	"errors"
)

// serveMetrics counts the sessions of every listener and serves
// d.Metrics at /metrics on addr, the daemon's "metrics" key. A port in
// use fails the start like any listener's.
func (d *Daemon) serveMetrics(name, addr string) {
	spec := ListenerSpec{Addr: addr, Name: name + ".metrics"}
	lns, err := Listen([]ListenerSpec{spec})
	if err != nil {
		Fatal(d.Log, "cannot listen", err)
	}
	for i, ln := range d.Listeners {
		d.Listeners[i] = d.Metrics.Sessions(ln, d.Specs[i].Name)
	}
	d.metricsServer = d.Metrics.Serve(lns[0], d.Log)
	d.Log.Info("serving metrics", "addr", lns[0].Addr().String(), "path", "/metrics", "role", spec.Name)
}

// stopMetricsAfter is shutdown followed by the end of the metrics server,
// so the last scrapes still see the daemon stopping.
func (d *Daemon) stopMetricsAfter(shutdown func(context.Context) error) func(context.Context) error {
	if d.metricsServer == nil {
		return shutdown
	}
	return func(ctx context.Context) error {
		err := shutdown(ctx)
		return errors.Join(err, d.metricsServer.Shutdown(ctx))
	}
}
