// Command memserver is go-imap v2's in-memory reference server
// (imapmemserver) with N users, the yardstick for imapd's memory per idle
// connection: run both under bench/imap_idle's client in the same session.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	_ "mailsuite/bench/imap_idle/memstats"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:42243", "listening address")
	users := flag.Int("users", 10, "number of users")
	userFmt := flag.String("user-fmt", "user%d@bench.test", "login of user i (from 1)")
	passFmt := flag.String("pass-fmt", "pass%d", "password of user i")
	flag.Parse()

	mem := imapmemserver.New()
	for i := 1; i <= *users; i++ {
		u := imapmemserver.NewUser(fmt.Sprintf(*userFmt, i), fmt.Sprintf(*passFmt, i))
		if err := u.Create("INBOX", nil); err != nil {
			log.Fatal(err)
		}
		mem.AddUser(u)
	}
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
		InsecureAuth: true,
	})
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("listening on %v", ln.Addr())
	log.Fatal(srv.Serve(ln))
}
