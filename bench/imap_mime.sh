#!/usr/bin/env bash
# FETCH BODYSTRUCTURE of a 12 000-level message/rfc822 nesting against the
# built bin/imapd (make build first): time to answer and the server's RSS
# growth, with bench/imap_mime. Data in bench/out/mime (not committed).
# Env: LEVELS (12000), PORT (22243), IMAPD (bin/imapd: the binary to measure).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=bench/out/mime
LEVELS=${LEVELS:-12000} PORT=${PORT:-22243} IMAPD=${IMAPD:-bin/imapd}
rm -rf "$OUT"
mkdir -p "$OUT/data" "$OUT/tls"
go build -o "$OUT/gencert" ./deploy/dev/gencert
go build -o "$OUT/imap_mime" ./bench/imap_mime
"$OUT/gencert" -cert "$OUT/tls/cert.pem" -key "$OUT/tls/key.pem" -host localhost
CONF=$OUT/mailsuite.toml
cat >"$CONF" <<CONF
hostname = "localhost"
data_dir = "data"
[tls]
cert = "tls/cert.pem"
key  = "tls/key.pem"
[auth]
allow_plaintext = true
[imapd]
listen     = ["127.0.0.1:$PORT"]
tls_listen = []
CONF
bin/mailctl -config "$CONF" domain add bench.test
echo pass1 | bin/mailctl -config "$CONF" user add user1@bench.test --password-stdin
"$IMAPD" -config "$CONF" >"$OUT/imapd.log" 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait 2>/dev/null' EXIT
for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done
"$OUT/imap_mime" -addr "127.0.0.1:$PORT" -pid $pid -levels "$LEVELS"
