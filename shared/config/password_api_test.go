package config

import "testing"

// TestPasswordAPIAddress: the webmail's password endpoint is off by
// default, takes a loopback "host:port", and refuses any other address
// unless imapd.password_api_allow_remote says so.
func TestPasswordAPIAddress(t *testing.T) {
	if a := Default().IMAPD.PasswordAPI; a != "" {
		t.Errorf("imapd.password_api defaults to %q, want off", a)
	}
	for _, a := range []string{"127.0.0.1:8143", "[::1]:8143", "localhost:8143", "127.0.0.2:1"} {
		c, err := Load(writeConfig(t, "[imapd]\npassword_api = \""+a+"\"\n"))
		if err != nil {
			t.Errorf("%s: %v", a, err)
		} else if c.IMAPD.PasswordAPI != a {
			t.Errorf("password_api = %q, want %q", c.IMAPD.PasswordAPI, a)
		}
	}
	for _, a := range []string{"0.0.0.0:8143", ":8143", "192.0.2.1:8143", "mail.example.com:8143"} {
		_, msg := loadErr(t, "[imapd]\npassword_api = \""+a+"\"\n")
		wantContains(t, msg, "imapd.password_api:", "not a loopback address", "(line 2)")
	}
	_, msg := loadErr(t, "[imapd]\npassword_api = \"8143\"\n")
	wantContains(t, msg, "imapd.password_api:", "want \"host:port\"")
	if _, err := Load(writeConfig(t, "[imapd]\npassword_api = \"192.0.2.1:8143\"\npassword_api_allow_remote = true\n")); err != nil {
		t.Errorf("allowed remote address refused: %v", err)
	}
}
