# mailsuite: make build | make test | make run | make install
GO      ?= go
PREFIX  ?= /usr/local
DESTDIR ?=
DAEMONS := smtpd pop3d imapd
BINS    := $(DAEMONS) mailctl

.PHONY: build test run install clean bench fmt

build:
	@mkdir -p bin
	@for b in $(BINS); do \
		if [ -d $$b ]; then $(GO) build -o bin/$$b ./$$b || exit 1; fi; \
	done

test: build
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { gofmt -l .; echo "gofmt: files above need formatting"; exit 1; }
	$(GO) test -race ./...

run: build
	./deploy/dev/run.sh

clean:
	rm -rf bin
