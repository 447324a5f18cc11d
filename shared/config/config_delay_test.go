package config

import (
	"testing"
	"time"
)

// smtpd.queue.delay_warning: "4h" by default, "" never warns, negative
// is refused.
func TestLoadDelayWarning(t *testing.T) {
	if d := Default().SMTPD.Queue.DelayWarning.Duration; d != 4*time.Hour {
		t.Errorf("default delay_warning = %v, want 4h", d)
	}
	c, err := Load(writeConfig(t, "[smtpd.queue]\ndelay_warning = \"\"\n"))
	if err != nil || c.SMTPD.Queue.DelayWarning.Duration != 0 {
		t.Errorf("delay_warning = \"\": %v, %v; want 0 (never)", c, err)
	}
	_, msg := loadErr(t, "[smtpd.queue]\ndelay_warning = \"-1h\"\n")
	wantContains(t, msg, "smtpd.queue.delay_warning: must not be negative", "line 2")
	_, msg = loadErr(t, "[relay]\nwindow = \"\"\n")
	wantContains(t, msg, "relay.window: must be positive")
}
