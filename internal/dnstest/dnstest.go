// Package dnstest runs a real authoritative DNS server on loopback for
// tests: answers go over the wire (UDP, and TCP for truncated answers), so
// the code under test uses its real resolver pointed at Server.Addr
// (dns.resolver in the configuration). Records are given in zone-file
// syntax; a name can be made slow or failing to test timeouts and
// SERVFAIL.
package dnstest

import (
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Server is a DNS server on 127.0.0.1, UDP and TCP on one port.
type Server struct {
	// Addr is "127.0.0.1:port", the value for dns.resolver.
	Addr string

	mu      sync.Mutex
	records map[string][]dns.RR      // by lower-case FQDN; guarded by mu
	delays  map[string]time.Duration // by lower-case FQDN; guarded by mu
	rcodes  map[string]int           // forced answer codes; guarded by mu
	queries map[string]int           // "name TYPE" -> count; guarded by mu
	servers []*dns.Server
}

// Start starts a server with the given records (zone-file lines, e.g.
// "example.test. 300 IN MX 10 mx.example.test.") and stops it when the
// test ends.
func Start(t testing.TB, records ...string) *Server {
	t.Helper()
	s := &Server{
		records: map[string][]dns.RR{},
		delays:  map[string]time.Duration{},
		rcodes:  map[string]int{},
		queries: map[string]int{},
	}
	for _, r := range records {
		s.Add(t, r)
	}
	pc, ln := listenPair(t)
	s.Addr = pc.LocalAddr().String()
	h := dns.HandlerFunc(s.serve)
	s.servers = []*dns.Server{
		{PacketConn: pc, Handler: h},
		{Listener: ln, Handler: h},
	}
	for _, srv := range s.servers {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go func() { _ = srv.ActivateAndServe() }()
		<-started
	}
	t.Cleanup(func() {
		for _, srv := range s.servers {
			_ = srv.Shutdown()
		}
	})
	return s
}

// listenPair opens UDP and TCP on the same loopback port.
func listenPair(t testing.TB) (net.PacketConn, net.Listener) {
	t.Helper()
	for range 50 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("dnstest: listen udp: %v", err)
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, ln
		}
		pc.Close()
	}
	t.Fatal("dnstest: no port free for both UDP and TCP")
	return nil, nil
}

// Add adds one record in zone-file syntax.
func (s *Server) Add(t testing.TB, record string) {
	t.Helper()
	rr, err := dns.NewRR(record)
	if err != nil {
		t.Fatalf("dnstest: record %q: %v", record, err)
	}
	s.AddRR(rr)
}

// AddRR adds a record built in code (e.g. a TXT record of many strings).
func (s *Server) AddRR(rr dns.RR) {
	name := strings.ToLower(rr.Header().Name)
	s.mu.Lock()
	s.records[name] = append(s.records[name], rr)
	s.mu.Unlock()
}

// Remove drops every record of name.
func (s *Server) Remove(name string) {
	s.mu.Lock()
	delete(s.records, key(name))
	s.mu.Unlock()
}

// Delay makes every answer for name wait d (longer than the client's
// timeout tests a timeout).
func (s *Server) Delay(name string, d time.Duration) {
	s.mu.Lock()
	s.delays[key(name)] = d
	s.mu.Unlock()
}

// Fail makes every answer for name carry rcode (e.g. dns.RcodeServerFailure).
func (s *Server) Fail(name string, rcode int) {
	s.mu.Lock()
	s.rcodes[key(name)] = rcode
	s.mu.Unlock()
}

// Queries returns how many queries for name of type qtype (e.g. "TXT")
// the server answered.
func (s *Server) Queries(name, qtype string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queries[key(name)+" "+qtype]
}

func key(name string) string { return strings.ToLower(dns.Fqdn(name)) }

func (s *Server) serve(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	if len(req.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		_ = w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	name := strings.ToLower(q.Name)
	s.mu.Lock()
	s.queries[name+" "+dns.TypeToString[q.Qtype]]++
	delay := s.delays[name]
	rcode, forcedCode := s.rcodes[name]
	rrs, exists := s.records[name]
	var answer []dns.RR
	for _, rr := range rrs {
		if rr.Header().Rrtype == q.Qtype || rr.Header().Rrtype == dns.TypeCNAME {
			answer = append(answer, dns.Copy(rr))
		}
	}
	s.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
	switch {
	case forcedCode:
		m.Rcode = rcode
	case !exists:
		m.Rcode = dns.RcodeNameError
	default:
		for _, rr := range answer {
			rr.Header().Name = q.Name // keep the asker's case
		}
		m.Answer = answer
	}
	size := dns.MinMsgSize
	if opt := req.IsEdns0(); opt != nil {
		size = int(opt.UDPSize())
	}
	if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
		m.Truncate(size)
	}
	_ = w.WriteMsg(m)
}
