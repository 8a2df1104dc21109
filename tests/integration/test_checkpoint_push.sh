#!/usr/bin/env bash
# Checkpoints leaving the box ([journal] checkpoint_url, README "Pushing
# checkpoints"): a receiver in Python on 127.0.0.1 that keeps each POST body
# by its Checkpoint-Tree-Size and can answer 503; signerd with a 1 s
# checkpoint interval and a 1 s back-off ceiling, so that it all takes seconds.
source "$(dirname "$0")/lib.sh"

d="$T_TMP/demo"
t_demo "$d" p256 || { t_fail "demo state"; t_done; exit 1; }
T_DIR=$d
conf="$d/signerd.conf"
spool="$d/journal/checkpoint-spool"
cpfile="$d/outside/checkpoints.txt"
rdir="$T_TMP/receiver"
mkdir -p "$rdir/notes"

# The receiver: one file per tree size (so a note sent twice is kept once), a log line per 2xx answered.
cat >"$T_TMP/receiver.py" <<'PY'
import http.server, os, sys
root, port = sys.argv[1], int(sys.argv[2])
class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if os.path.exists(os.path.join(root, "down")):
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        size = self.headers.get("Checkpoint-Tree-Size", "")
        if not size.isdigit():
            self.send_response(400)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        with open(os.path.join(root, "notes", size), "wb") as f:
            f.write(body)
        with open(os.path.join(root, "log"), "a") as f:
            f.write("%s %s\n" % (size, self.headers.get("Content-Type", "")))
        self.send_response(204)
        self.end_headers()
    def log_message(self, *args):
        pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), Receiver)
if len(sys.argv) > 4:  # https: certificate and key
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[3], sys.argv[4])
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
open(os.path.join(root, "ready"), "w").close()
srv.serve_forever()
PY
rport=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$rport/checkpoints"
R_PID=
receiver_up() {
	rm -f "$rdir/ready"
	python3 "$T_TMP/receiver.py" "$rdir" "$rport" 2>>"$T_TMP/receiver.err" &
	R_PID=$!
	for _ in $(seq 1 50); do [ -f "$rdir/ready" ] && return 0; sleep 0.1; done
	return 1
}
receiver_down() { [ -z "$R_PID" ] || { kill "$R_PID"; wait "$R_PID" 2>/dev/null; R_PID=; }; }
T_RPID=
trap 'receiver_down; [ -z "$T_RPID" ] || kill "$T_RPID" 2>/dev/null; t_cleanup' EXIT

# Tree sizes: of the notes in the checkpoint file, received (in arrival order), and spooled.
file_sizes() { awk 'prev ~ /^signerd.demo\/journal$/ && /^[0-9]+$/ { print } { prev = $0 }' "$cpfile"; }
received_sizes() { [ -f "$rdir/log" ] && cut -d' ' -f1 "$rdir/log"; }
spooled() { find "$spool" -name '*.note' 2>/dev/null | wc -l; }
wait_spool_empty() { for _ in $(seq 1 "${1:-150}"); do [ "$(spooled)" = 0 ] && return 0; sleep 0.1; done; return 1; }
issue() { # issue N: N certificates a little more than a checkpoint interval apart, each timed
	local i t0 t1
	for i in $(seq 1 "$1"); do
		t0=$(date +%s%N)
		st=$(t_sign issuer "$T_TMP/a.json")
		t1=$(date +%s%N)
		echo "issuance $st in $(((t1 - t0) / 1000000)) ms" >>"$T_TMP/issue-times"
		[ "$st" = 200 ] || return 1
		sleep 1.2
	done
}
# The checks below, each a function (t_check runs it in this shell).
all_arrived() { # a checkpoint made meanwhile (a CRL is journaled too) gets a few seconds to arrive
	for _ in $(seq 1 30); do
		diff <(file_sizes | sort -n) <(received_sizes | sort -n) >/dev/null && return 0
		sleep 0.1
	done
	diff <(file_sizes | sort -n) <(received_sizes | sort -n)
}
once_each() { test -z "$(received_sizes | sort | uniq -d)"; }
oldest_first() { diff <(received_sizes) <(received_sizes | sort -n); }
all_text_plain() { ! grep -v ' text/plain; charset=utf-8$' "$rdir/log"; }
spooled_are_notes() {
	local f
	for f in "$spool"/*/*.note; do file_sizes | grep -qxF "$(sed -n 2p "$f")" || return 1; done
}
bodies_are_notes() { # each note of the checkpoint file, split by awk, is what the receiver got for its tree size
	local f
	rm -rf "$T_TMP/split" && mkdir -p "$T_TMP/split"
	awk -v dir="$T_TMP/split" '{ n = n $0 "\n" } /^— / { printf "%s", n > (dir "/" ++i); n = "" }' "$cpfile"
	for f in "$T_TMP"/split/*; do cmp "$f" "$rdir/notes/$(sed -n 2p "$f")" || return 1; done
}
newest_verifies() {
	local f
	f="$rdir/notes/$(received_sizes | tail -n 1)"
	head -n 4 "$f" >"$T_TMP/b.txt" && tail -n 1 "$f" | awk '{print $3}' | base64 -d | tail -c 64 >"$T_TMP/s.bin" &&
		openssl pkeyutl -verify -pubin -inkey "$d/audit.pem" -rawin -in "$T_TMP/b.txt" -sigfile "$T_TMP/s.bin"
}
start_checkpointed() { # after the (only) start record, a checkpoint comes before the first intent
	"$BUILD/signerctl" -c "$conf" audit export | jq -r .type |
		awk '/^service$/ { s = 1; next } s && /^checkpoint$/ { ok = 1; exit } s && /^intent(-tbs)?$/ { exit } END { exit !ok }'
}
dropped_never_arrived() {
	test "$(file_sizes | wc -l)" -gt "$(received_sizes | wc -l)" && received_sizes | grep -qx "$(file_sizes | tail -n 1)"
}
metric() { grep -F "$1{receiver=\"$url\"}" "$T_TMP/metrics" | awk '{ print $2 }'; }
scrape() { [ "$(t_get auditor /metrics)" = 200 ] && cp "$T_TMP/body" "$T_TMP/metrics"; }

t_csr "$T_TMP/a.csr" ec:P-256 "/CN=a.example.com" "DNS:a.example.com"
t_request "$T_TMP/a.csr" >"$T_TMP/a.json"

# Configuration refusals, each before anything starts.
refuse() { # refuse NAME EXPECTED-DETAIL SED-SCRIPT
	sed "$3" "$conf" >"$d/bad.conf" && chmod 600 "$d/bad.conf"
	timeout 10 "$BUILD/signerd" -c "$d/bad.conf" --port 0 >"$T_TMP/bad.out" 2>&1
	t_check "refused: $1" bash -c "test $? != 0 && grep -q '$2' '$T_TMP/bad.out'"
}
refuse "an ftp:// checkpoint_url" "is not an http:// or https:// URL" "/^checkpoint_file/a checkpoint_url = ftp://127.0.0.1/x"
refuse "a checkpoint_url with a password" "carries a user name or password" \
	"/^checkpoint_file/a checkpoint_url = http://me:secret@127.0.0.1/x"
refuse "the same checkpoint_url twice" "is given twice" \
	"/^checkpoint_file/a checkpoint_url = http://127.0.0.1/x\ncheckpoint_url = http://127.0.0.1/x"
refuse "checkpoint_spool_max 0" "checkpoint_spool_max" \
	"/^checkpoint_file/a checkpoint_url = http://127.0.0.1/x\ncheckpoint_spool_max = 0"
refuse "checkpoint_ca without a checkpoint_url" "checkpoint_ca needs checkpoint_url" \
	"/^checkpoint_file/a checkpoint_ca = tls/ca.pem"
refuse "checkpoint_ca with only http:// receivers" "no checkpoint_url or witness is https://" \
	"/^checkpoint_file/a checkpoint_url = http://127.0.0.1/x\ncheckpoint_ca = tls/ca.pem"
refuse "checkpoint_url without audit_key" "checkpoint_url needs audit_key" \
	"/^audit_key/d;/^checkpoint_file/a checkpoint_url = http://127.0.0.1/x"
rm -f "$d/bad.conf"

t_check "signerd does not link libcurl" bash -c "! readelf -d '$BUILD/signerd' | grep -q libcurl"
t_check "signerd-push links libcurl, and no HSM, LMDB or TLS-front library" bash -c "
	readelf -d '$BUILD/signerd-push' | grep -q libcurl && ! readelf -d '$BUILD/signerd-push' | grep -Eq 'p11-kit|liblmdb|microhttpd|gnutls'"

sed -i -e 's/^checkpoint_interval = .*/checkpoint_interval = 1s/' \
	-e "/^checkpoint_file/a checkpoint_url = $url\ncheckpoint_retry_max = 1s" "$conf"

# (a) The receiver is down (nothing listens): checkpoints are spooled, issuance goes on.
t_start "$d" || { t_fail "signerd starts with a checkpoint_url"; t_done; exit 1; }
push=$(pgrep -P "$T_PID" -x signerd-push)
t_check "signerd started signerd-push" test -n "$push"
t_check "signerd-push maps no PKCS#11 module and has no HSM environment" bash -c "
	! grep -qiE 'softhsm|/pkcs11/' /proc/$push/maps && ! tr '\\0' '\\n' </proc/$push/environ | grep -q '^SOFTHSM2_CONF='"
t_check "signerd-push holds no journal file" bash -c "! ls -l /proc/$push/fd | grep -q '\.mdb'"
t_check "signerd-push runs as signerd's user" test "$(ps -o uid= -p "$push")" = "$(ps -o uid= -p "$T_PID")"
t_check "issuance goes on while the receiver is down" issue 3
sed 's/^/  /' "$T_TMP/issue-times"
t_check "every issuance while the receiver is down took under 5 s" \
	awk '{ if ($4 > 5000) bad = 1 } END { exit bad }' "$T_TMP/issue-times"
t_check "a checkpoint at start, covering the start record" start_checkpointed
t_check "the checkpoints are spooled (the start's and more)" test "$(spooled)" -ge 3
t_check "each spooled note is a note of the checkpoint file" spooled_are_notes
t_check "the failures are logged with the next retry" grep -q '"msg":"checkpoint push: not acknowledged, retrying later"' "$T_TMP/signerd.log"
scrape
t_check "/metrics: the spooled gauge counts them" test "$(metric signerd_checkpoint_push_spooled)" -ge 3
t_check "/metrics: no acked age before the first acknowledgement" test -z "$(metric signerd_checkpoint_push_acked_age_seconds)"

# The receiver comes up: everything arrives, once each, oldest first.
receiver_up || t_fail "the receiver starts"
t_check "the spool empties once the receiver is up" wait_spool_empty
sleep 1.5	# one more interval: nothing new, so no new checkpoint; let a last acknowledgement land
wait_spool_empty
t_check "every checkpoint so far arrived" all_arrived
t_check "each arrived once" once_each
t_check "they arrived oldest first" oldest_first
t_check "as text/plain; charset=utf-8" all_text_plain
t_check "each body is the note, byte for byte" bodies_are_notes
t_check "the newest received note verifies with openssl" newest_verifies
t_check "each acknowledgement is logged" grep -q '"msg":"checkpoint push: acknowledged"' "$T_TMP/signerd.log"
scrape
age=$(metric signerd_checkpoint_push_acked_age_seconds)
echo "  acked age ${age:-none} s, acked tree size $(metric signerd_checkpoint_push_acked_tree_size)"
t_check "/metrics: the acked age is there and small" awk -v a="$age" 'BEGIN { exit !(a != "" && a >= 0 && a < 30) }'
t_check "/metrics: the acked tree size is the newest checkpoint's" \
	test "$(metric signerd_checkpoint_push_acked_tree_size)" = "$(file_sizes | tail -n 1)"
t_check "/metrics: nothing spooled" test "$(metric signerd_checkpoint_push_spooled)" = 0

# (b) The receiver goes down, signerd restarts meanwhile: the stop's and the start's checkpoints wait in the spool.
receiver_down
t_stop
t_check "signerd stops cleanly with the receiver down" test "$T_RC" = 0
t_check "signerd-push ended with it" bash -c "! kill -0 $push 2>/dev/null"
t_check "the stop's checkpoint stays spooled" test -f "$(ls -d "$spool"/*/)$(printf '%020d' "$(file_sizes | tail -n 1)").note"
t_start "$d" || { t_fail "signerd starts again"; t_done; exit 1; }
issue 1 || t_fail "issuance after the restart"
t_check "the spool kept them across the restart (the stop's, the start's)" test "$(spooled)" -ge 2
receiver_up || t_fail "the receiver starts again"
t_check "after the restart the spool empties" wait_spool_empty
t_check "every checkpoint arrived, the stop's and the start's among them" all_arrived
t_check "still once each" once_each
t_check "still oldest first" oldest_first

# (c) The receiver answers 503 and the spool is bounded at two notes: the oldest go, with a warning.
t_stop
sed -i -e "/^checkpoint_url/a checkpoint_spool_max = 2" "$conf"
touch "$rdir/down"
t_start "$d" || { t_fail "signerd starts with checkpoint_spool_max = 2"; t_done; exit 1; }
issue 3 || t_fail "issuance while the receiver answers 503"
t_check "a 503 is logged as not acknowledged" grep -q '"error":"HTTP status 503"' "$T_TMP/signerd.log"
t_check "the spool holds no more than checkpoint_spool_max" test "$(spooled)" -le 2
t_check "the oldest were dropped with a warning" grep -q '"level":"warn".*checkpoint_spool_max 2: dropped the oldest' "$T_TMP/signerd.log"
scrape
t_check "/metrics: dropped_total counts them" test "$(metric signerd_checkpoint_push_dropped_total)" -ge 1
rm -f "$rdir/down"
t_check "the rest arrives once the receiver answers" wait_spool_empty
t_check "the dropped notes never arrived; the newest did" dropped_never_arrived

# (e) An https:// receiver (the demo's TLS server certificate): refused unverified, taken with checkpoint_ca.
t_stop
tdir="$T_TMP/receiver-tls"
mkdir -p "$tdir/notes"
tport=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
turl="https://127.0.0.1:$tport/checkpoints"
python3 "$T_TMP/receiver.py" "$tdir" "$tport" "$d/tls/server.pem" "$d/tls/server.key" 2>>"$T_TMP/receiver.err" &
T_RPID=$!
for _ in $(seq 1 50); do [ -f "$tdir/ready" ] && break; sleep 0.1; done
sed -i -e "s|^checkpoint_url = .*|checkpoint_url = $turl|" -e '/^checkpoint_spool_max/d' "$conf"
tls_refused() {
	for _ in $(seq 1 50); do
		grep -q "\"receiver\":\"$turl\".*\"error\":\"[^\"]*certificate" "$T_TMP/signerd.log" && return 0
		sleep 0.1
	done
	return 1
}
t_start "$d" || { t_fail "signerd starts with an https:// receiver"; t_done; exit 1; }
t_check "https:// without checkpoint_ca: the demo's certificate is not trusted, nothing acknowledged" tls_refused
t_check "https:// unverified: nothing arrived" test ! -s "$tdir/log"
t_stop
sed -i "/^checkpoint_url = /a checkpoint_ca = tls/ca.pem" "$conf"
t_start "$d" || { t_fail "signerd starts with checkpoint_ca"; t_done; exit 1; }
t_check "https:// with checkpoint_ca: the spool empties" wait_spool_empty
t_check "https:// with checkpoint_ca: what waited unverified (start, stop) and the new start's arrived" \
	test "$(wc -l <"$tdir/log")" -ge 3
kill "$T_RPID"; wait "$T_RPID" 2>/dev/null; T_RPID=

# signerd killed: signerd-push does not outlive it.
push=$(pgrep -P "$T_PID" -x signerd-push)
kill -9 "$T_PID"; wait "$T_PID" 2>/dev/null; T_PID=
for _ in $(seq 1 30); do kill -0 "$push" 2>/dev/null || break; sleep 0.1; done
t_check "signerd killed: signerd-push ends too" bash -c "! kill -0 $push 2>/dev/null"
t_check "the journal verifies" t_audit verify --pubkey "$d/audit.pem" --checkpoint "$cpfile"
t_done
