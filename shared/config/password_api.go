package config

import (
	"fmt"
	"net"
	"strings"
)

// passwordAPI checks imapd.password_api: a listen address, on loopback
// unless imapd.password_api_allow_remote says otherwise, since the
// endpoint reads passwords over plain HTTP and is meant for a webmail on
// the same machine.
func (v *validator) passwordAPI(c *IMAPDConfig) {
	if c.PasswordAPI == "" {
		return
	}
	host, _, err := splitHostPort(c.PasswordAPI)
	if err != nil {
		v.fail("imapd.password_api", err.Error())
		return
	}
	if !c.PasswordAPIAllowRemote && !isLoopbackHost(host) {
		v.fail("imapd.password_api", fmt.Sprintf(
			"%q is not a loopback address; passwords would cross the network in plain HTTP (set imapd.password_api_allow_remote = true to mean it)",
			c.PasswordAPI))
	}
}

// isLoopbackHost reports whether host (from "host:port") is "localhost"
// or a loopback IP address. An empty host (all addresses) is not.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
