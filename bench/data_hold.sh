#!/usr/bin/env bash
# Many clients holding large messages open: starts bin/mailsuite-smtpd (or $SMTPD)
# on loopback ports 23525/23587 with a config and data folder of its own
# under bench/out-hold, runs bench/data_hold against it, and stops it.
# Env: CONNS (100), SIZE (25000000 bytes of DATA each, no final dot),
# SMTPD (bin/mailsuite-smtpd), MAILCTL (bin/mailctl).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT=$ROOT/bench/out-hold
SMTPD=${SMTPD:-$ROOT/bin/mailsuite-smtpd}
MAILCTL=${MAILCTL:-$ROOT/bin/mailctl}
CONNS=${CONNS:-100} SIZE=${SIZE:-25000000}
rm -rf "$OUT"
mkdir -p "$OUT/data" "$OUT/tls"
go build -o "$OUT/gencert" ./deploy/dev/gencert
go build -o "$OUT/data_hold" ./bench/data_hold
"$OUT/gencert" -cert "$OUT/tls/cert.pem" -key "$OUT/tls/key.pem" -host localhost
CONF=$OUT/mailsuite.toml
cat >"$CONF" <<'TOML'
hostname = "localhost"
data_dir = "data"
[tls]
cert = "tls/cert.pem"
key  = "tls/key.pem"
[auth]
allow_plaintext = true
min_password_length = 5  # the benchmark clients log in as userN/passN
[relay]
sender_check = "off"
[smtpd]
listen      = ["127.0.0.1:23525"]
submission  = ["127.0.0.1:23587"]
submissions = ["127.0.0.1:23465"]
max_connections_per_ip = 1000
TOML
"$MAILCTL" -config "$CONF" domain add bench.test
for i in 1 2; do
	echo "pass$i" | "$MAILCTL" -config "$CONF" user add "user$i@bench.test" --password-stdin
done
"$SMTPD" -config "$CONF" >"$OUT/smtpd.log" 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT
for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/23525) 2>/dev/null && break; sleep 0.1; done
"$OUT/data_hold" -mx 127.0.0.1:23525 -submission 127.0.0.1:23587 -pid $pid -conns "$CONNS" -size "$SIZE"
