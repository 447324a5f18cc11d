# mailsuite: make build | make test | make run | make install | make bench
GO      ?= go
# staticcheck runs through the module proxy at a pinned version, so make
# test needs nothing installed beyond Go and a C compiler.
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2
PREFIX  ?= /usr/local
DESTDIR ?=
SYSCONFDIR  ?= /etc
BINDIR      ?= $(PREFIX)/bin
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
DOCDIR      ?= $(PREFIX)/share/doc/mailsuite
# The daemons' source folders keep their short names; the binaries and
# units are prefixed (mailsuite-smtpd), since Debian's OpenSMTPD installs an
# smtpd of its own.
DAEMONS := smtpd pop3d imapd
BINS    := $(addprefix mailsuite-,$(DAEMONS)) mailctl

.PHONY: build test e2e run install clean bench fmt

# One line per binary, so a cold build (cgo SQLite, about 2 minutes for
# the first) shows where it is.
build:
	@mkdir -p bin
	@echo "go build: $(BINS) into bin/ (the first build compiles SQLite, about 2 minutes)"
	@for b in $(BINS); do \
		src=$${b#mailsuite-}; \
		if [ -d $$src ]; then echo "  bin/$$b <- ./$$src"; $(GO) build -o bin/$$b ./$$src || exit 1; fi; \
	done

test: build
	@$(GO) mod tidy -diff >/dev/null || { $(GO) mod tidy -diff; echo "go.mod/go.sum: run go mod tidy"; exit 1; }
	$(GO) vet ./...
	$(STATICCHECK) ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { gofmt -l .; echo "gofmt: files above need formatting"; exit 1; }
	$(GO) test -race -timeout 30m ./...   # e2e drives a browser and two hosts: past the 10-minute default on a loaded machine
	MAILSUITE_TEST_STORE=postgres $(GO) test -race ./store ./imapd ./pop3d   # again on a throw-away PostgreSQL (internal/pgtest): the store suite, and the IMAP and POP3 daemons over it
	cd third_party/go-smtp && $(GO) test -race ./...   # the marked copy's own tests (a module of its own)
	cd third_party/go-imap && $(GO) test -race ./...   # the marked copy's own tests (a module of its own)

# The end-to-end client matrix alone (make test runs it too).
e2e:
	$(GO) test -count=1 -v ./e2e/

run: build
	./deploy/dev/run.sh

# Installs binaries, systemd units (ExecStart follows BINDIR), the
# sysusers.d file, the fail2ban filter, the README and the example config;
# an existing $(SYSCONFDIR)/mailsuite/mailsuite.toml is never overwritten.
install: build
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) \
		$(DESTDIR)$(DOCDIR) $(DESTDIR)$(SYSCONFDIR)/mailsuite \
		$(DESTDIR)$(SYSCONFDIR)/fail2ban/filter.d
	@for b in $(BINS); do \
		if [ -x bin/$$b ]; then echo "install bin/$$b"; install -m 0755 bin/$$b $(DESTDIR)$(BINDIR)/$$b || exit 1; fi; \
	done
	@for d in $(DAEMONS); do \
		u=mailsuite-$$d.service; \
		sed -e 's|/usr/local/bin/|$(BINDIR)/|' -e 's|/usr/local/share/doc/mailsuite|$(DOCDIR)|' \
			-e 's|/etc/mailsuite/|$(SYSCONFDIR)/mailsuite/|' deploy/$$u >bin/$$u && \
		install -m 0644 bin/$$u $(DESTDIR)$(UNITDIR)/$$u || exit 1; \
	done
	install -m 0644 deploy/mailsuite.sysusers $(DESTDIR)$(SYSUSERSDIR)/mailsuite.conf
	install -m 0644 deploy/fail2ban/filter.d/mailsuite.conf $(DESTDIR)$(SYSCONFDIR)/fail2ban/filter.d/mailsuite.conf
	install -m 0644 README.md $(DESTDIR)$(DOCDIR)/README.md
	install -m 0644 deploy/mailsuite.toml $(DESTDIR)$(DOCDIR)/mailsuite.toml.example
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/mailsuite/mailsuite.toml ]; then \
		echo "keeping existing $(DESTDIR)$(SYSCONFDIR)/mailsuite/mailsuite.toml"; \
	else \
		install -m 0644 deploy/mailsuite.toml $(DESTDIR)$(SYSCONFDIR)/mailsuite/mailsuite.toml; \
	fi
	@echo "next: systemd-sysusers; systemctl daemon-reload; edit $(SYSCONFDIR)/mailsuite/mailsuite.toml;"
	@echo "      systemctl enable --now mailsuite-smtpd mailsuite-pop3d mailsuite-imapd   (see README.md, Operator guide)"

# Side-by-side measurements against the Postfix/Dovecot anchor.
bench: build
	./bench/run.sh

clean:
	rm -rf bin
