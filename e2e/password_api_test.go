package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestPasswordAPIDaemon: imapd serves imapd.password_api from its
// configuration; a change there takes effect at IMAP LOGIN, and imapd
// still stops cleanly with the endpoint open.
func TestPasswordAPIDaemon(t *testing.T) {
	s := newSuite(t)
	pwAPI := addr(freePort(t))
	s.extra = fmt.Sprintf("password_api = %q\n", pwAPI)
	s.writeConfig()
	const user, oldPass, newPass = "carol@example.test", "carol-old-pass", "carol-new-password"
	s.addUser(user, oldPass)
	s.start("imapd")
	if !strings.Contains(s.logOf("imapd"), "role=imapd.password_api") {
		t.Errorf("imapd does not say it serves the endpoint:\n%s", s.logOf("imapd"))
	}
	c := &http.Client{Timeout: 2 * time.Minute}
	resp, err := c.PostForm("http://"+pwAPI+"/", url.Values{"user": {user}, "curpass": {oldPass}, "newpass": {newPass}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "ok\n" {
		t.Fatalf("change: %d %q", resp.StatusCode, body)
	}
	login := func(pass string) (string, int) {
		return python(t, "imap_login.py", "HOST=127.0.0.1", fmt.Sprintf("PORT=%d", s.ports.IMAP), "USER="+user, "PASS="+pass)
	}
	if out, code := login(oldPass); code != 3 {
		t.Errorf("LOGIN with the old password: %d %s", code, out)
	}
	if out, code := login(newPass); code != 0 {
		t.Errorf("LOGIN with the new password: %d %s", code, out)
	}
}
