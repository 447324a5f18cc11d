package config

import "testing"

// TestMetricsAddresses: the metrics keys are off by default, take a
// "host:port", and a bad one stops the start naming its key and line.
func TestMetricsAddresses(t *testing.T) {
	c := Default()
	for _, d := range []string{"smtpd", "pop3d", "imapd"} {
		if a := c.MetricsAddr(d); a != "" {
			t.Errorf("%s.metrics defaults to %q, want off", d, a)
		}
	}
	c, err := Load(writeConfig(t, "[smtpd]\nmetrics = \"127.0.0.1:9135\"\n[pop3d]\nmetrics = \"[::1]:9136\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.MetricsAddr("smtpd") != "127.0.0.1:9135" || c.MetricsAddr("pop3d") != "[::1]:9136" || c.MetricsAddr("imapd") != "" {
		t.Errorf("metrics = %q %q %q", c.SMTPD.Metrics, c.POP3D.Metrics, c.IMAPD.Metrics)
	}
	_, msg := loadErr(t, "[smtpd]\nmetrics = \"9135\"\n[imapd]\nmetrics = \"localhost:http\"\n")
	wantContains(t, msg, "smtpd.metrics: \"9135\": want \"host:port\"", "(line 2)", "imapd.metrics:", "port must be a number", "(line 4)")
}
