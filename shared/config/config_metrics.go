package config

// MetricsAddr is the address daemon ("smtpd", "pop3d" or "imapd") serves
// its Prometheus /metrics on, from the daemon's "metrics" key; empty when
// metrics are off.
func (c *Config) MetricsAddr(daemon string) string {
	switch daemon {
	case "smtpd":
		return c.SMTPD.Metrics
	case "pop3d":
		return c.POP3D.Metrics
	case "imapd":
		return c.IMAPD.Metrics
	}
	return ""
}
