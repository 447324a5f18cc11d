#!/usr/bin/env bash
# Development run for `make run`: a config, a self-signed certificate and a
# demo account under ./var, then the daemons (bin/mailsuite-smtpd, -pop3d,
# -imapd, whichever are built) on high loopback ports with their logs
# prefixed, and a catch-all SMTP sink (deploy/dev/sink) that receives every
# message for a remote domain into var/sink/, so nothing leaves the machine.
# Ctrl-C stops all of them cleanly; so does SIGTERM to this script or to
# make (which passes SIGTERM on). From a script use SIGTERM: a background
# job starts with SIGINT ignored, and bash cannot trap it then. A second run
# reuses ./var; `rm -rf var` starts afresh.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
BIN=$ROOT/bin
VAR=$ROOT/var
CONF=$VAR/mailsuite.toml
GO=${GO:-go}

DOMAIN=example.test
USER_ADDR=demo@$DOMAIN
SINK_ADDR=127.0.0.1:2526

mkdir -p "$VAR/data" "$VAR/tls" "$VAR/sink"
chmod 700 "$VAR"

# The config: loopback only, so plaintext logins are safe enough for a
# development run. Relative paths are resolved against this file's folder.
if [ ! -e "$CONF" ]; then
	cat >"$CONF" <<'EOF'
# Development configuration written by `make run` (deploy/dev/run.sh).
# Every listener is on loopback; see deploy/mailsuite.toml for all keys.
hostname = "localhost"
data_dir = "data"

[tls]
cert = "tls/cert.pem"
key  = "tls/key.pem"

[auth]
allow_plaintext = true   # loopback only

[smtpd]
listen      = ["127.0.0.1:2525"]
submission  = ["127.0.0.1:2587"]
submissions = ["127.0.0.1:2465"]

[pop3d]
listen     = ["127.0.0.1:2110"]
tls_listen = ["127.0.0.1:2995"]

[imapd]
listen     = ["127.0.0.1:2143"]
tls_listen = ["127.0.0.1:2993"]

# Every remote message goes to the catch-all sink that make run starts
# (deploy/dev/sink), never to real DNS: it lands in var/sink/, one file each.
[smtpd.queue]
smarthost = "127.0.0.1:2526"
retry     = ["10s", "30s", "1m"]
EOF
	echo "run: wrote $CONF"
fi
if ! grep -q '^smarthost = "127.0.0.1:2526"' "$CONF"; then
	echo "run: $CONF predates the sink: remote mail goes to real DNS (rm -rf var to start afresh)" >&2
fi

# The certificate, generated once by a small Go helper (no openssl needed).
if [ ! -s "$VAR/tls/cert.pem" ] || [ ! -s "$VAR/tls/key.pem" ]; then
	"$GO" build -o "$BIN/gencert" ./deploy/dev/gencert
	"$BIN/gencert" -cert "$VAR/tls/cert.pem" -key "$VAR/tls/key.pem" -host localhost
fi

mailctl() { "$BIN/mailctl" -config "$CONF" "$@"; }

# The demo account, created only if absent. Its password is printed once
# and never stored; the marker file records only that it was created.
demo_account() {
	if [ ! -x "$BIN/mailctl" ]; then
		echo "run: bin/mailctl not built yet; no demo account" >&2
		return
	fi
	if ! mailctl domain list | cut -f1 | grep -qx "$DOMAIN"; then
		mailctl domain add "$DOMAIN"
	fi
	if mailctl user list "$DOMAIN" | cut -f1 | grep -qx "$USER_ADDR"; then
		echo "run: demo account $USER_ADDR exists (its password was shown at the first start;"
		echo "     reset it: bin/mailctl -config var/mailsuite.toml user passwd $USER_ADDR)"
		return
	fi
	local pw
	pw=$(head -c 12 /dev/urandom | base64 | tr -d '/+=' | head -c 16)
	printf '%s\n' "$pw" | mailctl user add "$USER_ADDR" --password-stdin
	date -u +"created %Y-%m-%dT%H:%M:%SZ" >"$VAR/demo-user"
	cat <<EOF

==================== demo account (shown only this once) ====================
  username: $USER_ADDR
  password: $pw
  Reset it: bin/mailctl -config var/mailsuite.toml user passwd $USER_ADDR --password-stdin
==============================================================================
EOF
}
demo_account

cat <<EOF

Client settings (host 127.0.0.1 or localhost, username = full address,
self-signed certificate in var/tls/cert.pem: accept it or trust that file):
  IMAP  127.0.0.1:2143 (STARTTLS or plain)   IMAPS 127.0.0.1:2993 (TLS)
  POP3  127.0.0.1:2110 (STLS or plain)       POP3S 127.0.0.1:2995 (TLS)
  SMTP  127.0.0.1:2587 submission, AUTH PLAIN/LOGIN (or check mail first:
        POP/IMAP-before-SMTP), 127.0.0.1:2465 implicit TLS, MX on 127.0.0.1:2525
  Remote mail: every message to a domain other than $DOMAIN goes to the
        sink on $SINK_ADDR and lands in var/sink/ (one .eml file each,
        one "sink |" log line each); nothing leaves this machine.
  Data: var/data/mail.db   Config: var/mailsuite.toml   Stop: Ctrl-C

EOF

# Each daemon runs in its own process group (set -m), so a Ctrl-C from the
# terminal reaches only this script, which then sends exactly one SIGTERM to
# each daemon: a second signal would cut their graceful shutdown short. The
# log prefixers ignore the signals so they drain the last lines.
set -m
prefix() {
	trap '' INT TERM HUP
	sed -u "s/^/$1 | /"
}
pids=()
names=()
"$GO" build -o "$BIN/sink" ./deploy/dev/sink
"$BIN/sink" -addr "$SINK_ADDR" -dir var/sink > >(prefix "sink ") 2>&1 &
pids+=($!)
names+=(sink)
for d in smtpd pop3d imapd; do
	if [ ! -x "$BIN/mailsuite-$d" ]; then
		echo "run: bin/mailsuite-$d not built yet; skipping" >&2
		continue
	fi
	"$BIN/mailsuite-$d" -config "$CONF" > >(prefix "$(printf '%-5s' "$d")") 2>&1 &
	pids+=($!)
	names+=("$d")
done
if [ ${#pids[@]} = 1 ]; then
	echo "run: no daemon in bin/ yet" >&2
	exit 1
fi

stopping=0
stop() {
	[ "$stopping" = 1 ] && return
	stopping=1
	echo "run: stopping ${names[*]}" >&2
	for p in "${pids[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
}
trap stop INT TERM HUP

# Wait until one daemon exits or a signal arrives, then stop the rest.
rc=0
wait -n "${pids[@]}" || rc=$?
if [ "$stopping" = 0 ]; then
	echo "run: a daemon exited (status $rc); stopping the others" >&2
else
	rc=0
fi
stop
for p in "${pids[@]}"; do
	wait "$p" 2>/dev/null || true
done
wait 2>/dev/null || true
echo "run: stopped" >&2
exit "$rc"
