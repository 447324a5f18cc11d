#!/usr/bin/env bash
# make bench: runs ../shared/bench against mailsuite (bin/, on high loopback
# ports, data in bench/out) and, in the same run, against the Postfix/Dovecot
# anchor, then writes both figures and their ratio into bench/RESULTS.md.
# Env: BENCH (default ../shared/bench), RUNS (3), DURATION (15 s per POP3
# phase), N (200 idle IMAP connections), ANCHOR_DOVECOT_CONF (as for
# anchor/start.sh; default dovecot-perf.conf, the fairer anchor for one
# process). The SMTP protocol bound (smtp-sink) is measured in the same run.
# Only the part of RESULTS.md between its make-bench markers is rewritten
# (bench/results.sh); the sections written by hand around it are kept.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BENCH=${BENCH:-$ROOT/../shared/bench}
OUT=$ROOT/bench/out
RESULTS=$ROOT/bench/RESULTS.md
GENERATED=$OUT/results.md
# rel prints a path relative to the repository, so RESULTS.md and the
# messages name no folder of the machine the bench ran on.
rel() { realpath -m --relative-to="$ROOT" "$1"; }
export RUNS=${RUNS:-3} DURATION=${DURATION:-15} N=${N:-200} HOST=127.0.0.1
export ANCHOR_DOVECOT_CONF=${ANCHOR_DOVECOT_CONF:-dovecot-perf.conf}
[ -d "$BENCH" ] || {
	echo "bench: no measurement scripts at $(rel "$BENCH") (they live outside this repository, with the Postfix/Dovecot anchor: set BENCH=DIR)" >&2
	exit 1
}
for t in smtp-source python3; do
	command -v $t >/dev/null || { echo "bench: $t not installed" >&2; exit 1; }
done

# --- mailsuite on its own ports, users user1..user12@bench.test/passN ---
rm -rf "$OUT"
mkdir -p "$OUT/data" "$OUT/tls" "$OUT/anchor" "$OUT/mailsuite"
go build -o "$OUT/gencert" ./deploy/dev/gencert
"$OUT/gencert" -cert "$OUT/tls/cert.pem" -key "$OUT/tls/key.pem" -host localhost
CONF=$OUT/mailsuite.toml
cat >"$CONF" <<'EOF'
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
listen      = ["127.0.0.1:22525"]
submission  = ["127.0.0.1:22587"]
submissions = ["127.0.0.1:22465"]
[pop3d]
listen     = ["127.0.0.1:22110"]
tls_listen = ["127.0.0.1:22995"]
[imapd]
listen     = ["127.0.0.1:22143"]
tls_listen = ["127.0.0.1:22993"]
# The idle measure holds N connections from 127.0.0.1.
max_connections_per_ip = 20000
EOF
bin/mailctl -config "$CONF" domain add bench.test
for i in $(seq 1 12); do
	echo "pass$i" | bin/mailctl -config "$CONF" user add "user$i@bench.test" --password-stdin
done
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	wait 2>/dev/null
	[ "$anchor_started" = 1 ] && "$BENCH/anchor/stop.sh" >/dev/null 2>&1
}
anchor_started=0
trap cleanup EXIT
for d in smtpd pop3d imapd; do
	bin/mailsuite-$d -config "$CONF" >"$OUT/$d.log" 2>&1 &
	pids+=($!)
	eval "${d}_pid=$!"
done
for p in 22525 22110 22143; do
	for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null && break; sleep 0.1; done
done

# --- the anchor ---
dpid=/tmp/anchor/run/dovecot/master.pid
if [ -s "$dpid" ] && kill -0 "$(cat "$dpid")" 2>/dev/null; then
	echo "bench: using the anchor already running"
else
	"$BENCH/anchor/start.sh" >"$OUT/anchor/start.log" 2>&1 || { echo "bench: anchor did not start: see $(rel "$OUT")/anchor/start.log" >&2; exit 1; }
	anchor_started=1
fi

# One target: SMTP accept (+E2E via POP3), POP3 RETR/sessions, idle IMAP.
measure() { # name smtp pop3 imap user_fmt pid_env
	local name=$1 smtp=$2 pop=$3 imap=$4 ufmt=$5 pidenv=$6 o=$OUT/$1
	echo "== $name: smtp accept + e2e"
	PORT=$smtp E2E=1 POP_PORT=$pop TO=user10@bench.test POP_USER=$(printf "$ufmt" 10) POP_PASS=pass10 \
		"$BENCH/smtp_accept.sh" | tee "$o/smtp_accept.txt"
	echo "== $name: pop3"
	PORT=$pop SMTP_PORT=$smtp USER_FMT=$ufmt "$BENCH/pop3_retr.py" | tee "$o/pop3_retr.txt"
	echo "== $name: idle imap"
	env PORT=$imap USER_FMT=$ufmt $pidenv "$BENCH/idle_rss.py" | tee "$o/idle_rss.txt"
}
measure mailsuite 22525 22110 22143 "user%d@bench.test" "SERVER_PID=$imapd_pid"
echo "== protocol bound: smtp-sink"
SINK=1 SINK_PORT=22526 MSGS=${SINK_MSGS:-10000} "$BENCH/smtp_accept.sh" | tee "$OUT/sink.txt"
# The yardsticks for the accept rate: a bare go-smtp server storing each
# message in one SQLite table (bench/smtp_ref), same run, same script.
go build -o "$OUT/smtp_ref" ./bench/smtp_ref
for mode in nodb full group; do
	echo "== reference: smtp_ref -mode $mode"
	"$OUT/smtp_ref" -mode $mode -addr 127.0.0.1:22625 2>"$OUT/smtp_ref.$mode.log" &
	ref=$!
	for _ in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/22625) 2>/dev/null && break; sleep 0.1; done
	PORT=22625 "$BENCH/smtp_accept.sh" | tee "$OUT/ref_$mode.txt"
	kill -TERM $ref; wait $ref 2>/dev/null
done
measure anchor 12525 11110 11143 "user%d" "PIDFILE=/tmp/anchor/run/dovecot/master.pid"

# --- RESULTS.md ---
field() { # file pattern key
	grep -h "$2" "$1" 2>/dev/null | tail -1 | tr ' ' '\n' | sed -n "s/^$3=//p" | head -1
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a == "" || b == "" || b+0 == 0) print "n/a"; else printf "%.2f", a/b }'; }
row() { # label key-file pattern key
	local m a
	m=$(field "$OUT/mailsuite/$2" "$3" "$4")
	a=$(field "$OUT/anchor/$2" "$3" "$4")
	echo "| $1 | ${m:-n/a} | ${a:-n/a} | $(ratio "$m" "$a") |"
}
B=$(rel "$BENCH")
{
	echo "# Benchmark results: mailsuite next to Postfix/Dovecot"
	echo
	echo "Written by \`make bench\` (bench/run.sh) on $(date -u +%Y-%m-%dT%H:%MZ)."
	echo "Machine: $(nproc) CPUs, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, $(uname -sr);"
	echo "load generator and servers share the machine (see $B/README.md)."
	echo "Anchor: Postfix + Dovecot (${ANCHOR_DOVECOT_CONF:-dovecot.conf}). Medians of RUNS=$RUNS."
	echo "Ratio = mailsuite / anchor (higher is better, except memory)."
	echo
	echo "| measure | mailsuite | anchor | ratio |"
	echo "| --- | --- | --- | --- |"
	row "SMTP accept, msg/s (smtp-source -s 8 -m 2000 -l 4096)" smtp_accept.txt "MEDIAN smtp_accept" msgs_per_s
	sink=$(field "$OUT/sink.txt" "MEDIAN smtp_accept" msgs_per_s)
	macc=$(field "$OUT/mailsuite/smtp_accept.txt" "MEDIAN smtp_accept" msgs_per_s)
	echo "| SMTP protocol bound, msg/s (smtp-source -> smtp-sink, same run) | ${sink:-n/a} | | mailsuite/bound $(ratio "$macc" "$sink") |"
	for mode in nodb full group; do
		ref=$(field "$OUT/ref_$mode.txt" "MEDIAN smtp_accept" msgs_per_s)
		echo "| SMTP reference \`bench/smtp_ref -mode $mode\`, msg/s (bound $(ratio "$ref" "$sink")) | ${ref:-n/a} | | mailsuite/reference $(ratio "$macc" "$ref") |"
	done
	row "SMTP end to end, msg/s (accepted and visible in POP3)" smtp_accept.txt "MEDIAN smtp_e2e" msgs_per_s
	row "POP3 RETR, msg/s (4 workers)" pop3_retr.txt "MEDIAN pop3_retr" msgs_per_s
	row "POP3 RETR, MB/s" pop3_retr.txt "MEDIAN pop3_retr" MB_per_s
	row "POP3 sessions/s (USER/PASS+STAT+QUIT)" pop3_retr.txt "MEDIAN pop3_sessions" login_stat_quit_per_s
	row "idle IMAP, KB RSS per connection (N=$N)" idle_rss.txt "MEDIAN idle_rss" rss_per_conn_KB
	row "idle IMAP, KB PSS per connection (N=$N)" idle_rss.txt "MEDIAN idle_rss" pss_per_conn_KB
	perr() { grep -h "$2" "$1" 2>/dev/null | tail -1 | sed -n 's/.*(errors=\([0-9]*\)).*/\1/p'; }
	echo
	echo "POP3 client errors, mailsuite/anchor: RETR phase" \
		"$(perr "$OUT/mailsuite/pop3_retr.txt" "MEDIAN pop3_retr")/$(perr "$OUT/anchor/pop3_retr.txt" "MEDIAN pop3_retr"), sessions phase" \
		"$(perr "$OUT/mailsuite/pop3_retr.txt" "MEDIAN pop3_sessions")/$(perr "$OUT/anchor/pop3_retr.txt" "MEDIAN pop3_sessions")." \
		"mailsuite refuses a second concurrent session on one maildrop (-ERR [IN-USE], docs/ARCHITECTURE.md:" \
		"one POP3 session per maildrop at a time); Dovecot allows it. The bench's workers share 8 users, so they collide."
	echo
	echo "Commands (each against both targets; mailsuite on 22525/22110/22143, anchor on 12525/11110/11143):"
	echo
	echo '```'
	echo "PORT=<smtp> E2E=1 POP_PORT=<pop3> TO=user10@bench.test $B/smtp_accept.sh"
	echo "SINK=1 SINK_PORT=22526 MSGS=10000 $B/smtp_accept.sh"
	echo "bench/smtp_ref -mode nodb|full|group -addr 127.0.0.1:22625 & PORT=22625 $B/smtp_accept.sh"
	echo "PORT=<pop3> SMTP_PORT=<smtp> USER_FMT=<user%d[@bench.test]> $B/pop3_retr.py"
	echo "PORT=<imap> USER_FMT=... SERVER_PID=<imapd>|PIDFILE=<dovecot> $B/idle_rss.py"
	echo '```'
	echo
	echo "smtp_ref modes: nodb = go-smtp reading the data and storing nothing; full = one"
	echo "INSERT and one durable commit (WAL, synchronous=FULL) per message; group = the same"
	echo "with the messages of all waiting sessions committed together (group commit)."
	echo
	echo "Raw output: bench/out/{mailsuite,anchor}/*.txt (not committed)."
} >"$GENERATED"
bench/results.sh "$GENERATED" "$RESULTS"
cat "$GENERATED"
echo "bench: results written to $(rel "$RESULTS") (between its make-bench markers)"
