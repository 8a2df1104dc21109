#!/usr/bin/env bash
# What an operator runs signerd by: JSON log lines with request ids,
# /healthz and /readyz, /metrics read by a real Prometheus text parser,
# and per-client issuance quotas, shown by an attack: an issuer hammering
# /v1/sign from 127.0.0.2 gets 429 with Retry-After once its bucket is
# empty, while another issuer is served as before.
source "$(dirname "$0")/lib.sh"

d=$T_TMP/demo
if ! t_demo "$d" p256; then t_fail "demo state created"; t_done; exit; fi

# A second issuer, the victim: same client CA, its own key and [client] section.
cat >"$T_TMP/victim.tmpl" <<TMPL
cn = "victim"
organization = "signerd demo"
serial = 4343
expiration_days = 2
tls_www_client
signing_key
TMPL
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T_TMP/victim.key" \
	-out "$T_TMP/victim.csr" -subj "/O=signerd demo/CN=victim" 2>/dev/null
certtool --generate-certificate --load-request "$T_TMP/victim.csr" --load-ca-certificate "$d/tls/client-ca.pem" \
	--load-ca-privkey "$d/tls/client-ca.key" --template "$T_TMP/victim.tmpl" --outfile "$T_TMP/victim.pem" \
	>"$T_TMP/certtool.log" 2>&1
# The attacker's quota: a bucket of 3, refilled at one a second.
sed -i -e '/^\[client issuer\]/a quota_per_minute = 60\nquota_burst = 3' "$d/signerd.conf"
printf '\n[client victim]\nroles = issuer\nprofiles = server\n' >>"$d/signerd.conf"
if ! t_start "$d"; then t_fail "signerd starts" "$(tail -n 3 "$T_TMP/signerd.log")"; t_done; exit; fi

# Liveness, readiness, request ids.
t_check "GET /healthz: 200" test "$(t_get none /healthz)" = 200
t_check "GET /readyz: 200 (HSM and journal usable)" test "$(t_get none /readyz)" = 200
ids=()
for i in 1 2 3; do
	curl -sS --max-time 10 --cacert "$d/tls/ca.pem" -D "$T_TMP/h$i" -o /dev/null "$T_URL/v1/ca"
	ids+=("$(tr -d '\r' <"$T_TMP/h$i" | sed -n 's/^[Xx]-[Rr]equest-[Ii]d: //p')")
done
t_check "every response has an X-Request-Id of 16 hex digits" \
	bash -c "printf '%s\n' ${ids[*]} | grep -cxE '[0-9a-f]{16}' | grep -qx 3"
t_check "request ids differ" test "$(printf '%s\n' "${ids[@]}" | sort -u | wc -l)" = 3
t_check "the log line of a request carries its id" \
	bash -c "jq -c 'select(.request_id == \"${ids[1]}\")' '$T_TMP/signerd.log' | grep -q '\"path\":\"/v1/ca\"'"

# The attack: 12 requests as fast as curl goes, from 127.0.0.2.
t_csr "$T_TMP/a.csr" ec:P-256 "/CN=a.example.com" "DNS:a.example.com"
t_request "$T_TMP/a.csr" >"$T_TMP/a.json"
codes=()
for i in $(seq 1 12); do
	codes+=("$(t_sign issuer "$T_TMP/a.json" --interface 127.0.0.2 -D "$T_TMP/q$i.hdr")")
	cp "$T_TMP/body" "$T_TMP/q$i.body"
done
n200=$(printf '%s\n' "${codes[@]}" | grep -cx 200)
n429=$(printf '%s\n' "${codes[@]}" | grep -cx 429)
t_check "attacker: the burst (3, and at most a refill more) is served: got $n200" test "$n200" -ge 3 -a "$n200" -le 5
t_check "attacker: the rest is refused 429: got $n429 of 12" test $((n200 + n429)) = 12
# The last refused request: under a slow build (ASan) a refill can serve the 12th.
last=0
for i in $(seq 1 12); do if [ "${codes[i-1]}" = 429 ]; then last=$i; fi; done
t_check "at least one request was refused" test "$last" -gt 0
t_check "429: problem type quota-exceeded" test "$(jq -r .type "$T_TMP/q$last.body")" = urn:signerd:problem:quota-exceeded
t_check "429: the detail names the limit" grep -q 'limited to 60 issuance requests a minute (burst 3)' "$T_TMP/q$last.body"
retry=$(tr -d '\r' <"$T_TMP/q$last.hdr" | sed -n 's/^[Rr]etry-[Aa]fter: //p')
t_check "429: Retry-After is a number of seconds (1 or 2): '$retry'" bash -c "[[ '$retry' =~ ^[12]$ ]]"
t_check "victim, meanwhile: served (200)" test "$(t_sign "$T_TMP/victim" "$T_TMP/a.json")" = 200
sleep "${retry:-1}"
t_check "attacker, after Retry-After: served again" test "$(t_sign issuer "$T_TMP/a.json" --interface 127.0.0.2)" = 200

# /metrics: auditor and admin only, in the Prometheus text format.
t_check "GET /metrics without a certificate: 401" test "$(t_get none /metrics)" = 401
t_check "GET /metrics as issuer: 403" test "$(t_get issuer /metrics)" = 403
st=$(t_get auditor /metrics); cp "$T_TMP/body" "$T_TMP/metrics.txt"
t_check "GET /metrics as auditor: 200" test "$st" = 200
t_check "GET /metrics as admin: 200" test "$(t_get admin /metrics)" = 200
t_check "a Prometheus text parser reads every family" /usr/bin/python3 - "$T_TMP/metrics.txt" <<'PY'
import sys
from prometheus_client.parser import text_string_to_metric_families
fams = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}
need = ["signerd_http_requests", "signerd_http_request_duration_seconds", "signerd_issued",
        "signerd_issue_failures", "signerd_quota_refusals", "signerd_issue_duration_seconds",
        "signerd_hsm_sign_duration_seconds", "signerd_journal_commit_duration_seconds", "signerd_hsm_sessions",
        "signerd_hsm_up", "signerd_journal_records", "signerd_journal_fill_ratio", "signerd_journal_used_bytes",
        "signerd_certificates_expiring", "signerd_certificate_index_lag_records",
        "signerd_certificate_index_failures", "signerd_crl_number", "signerd_crl_failures"]
missing = [n for n in need if n not in fams]
if missing:
    sys.exit("missing families: %s" % missing)
PY
metric() { # NAME{LABELS} -> value, from the scrape
	awk -v k="$1" '$1 == k { print $2 }' "$T_TMP/metrics.txt"
}
t_check "signerd_issued_total: the attacker's issuances" \
	test "$(metric 'signerd_issued_total{profile="server",client="issuer"}')" = $((n200 + 1))
t_check "signerd_issued_total: the victim's" test "$(metric 'signerd_issued_total{profile="server",client="victim"}')" = 1
t_check "signerd_quota_refusals_total{client=\"issuer\"} = $n429" \
	test "$(metric 'signerd_quota_refusals_total{client="issuer"}')" = "$n429"
t_check "signerd_http_requests_total: the 429s by route" \
	test "$(metric 'signerd_http_requests_total{route="/v1/sign",method="POST",status="429"}')" = "$n429"
t_check "signerd_hsm_up 1" test "$(metric signerd_hsm_up)" = 1
t_check "HSM sign latency histogram counted every signature" \
	test "$(metric signerd_hsm_sign_duration_seconds_count)" = $((n200 + 2))
t_check "journal fill below the warning" test "$(metric signerd_journal_fill_warning)" = 0
t_check "certificates expiring within 7 days: each one issued (the server profile's are short)" \
	test "$(metric 'signerd_certificates_expiring{within="7d"}')" = $((n200 + 2))
t_check "and within 30 days" test "$(metric 'signerd_certificates_expiring{within="30d"}')" = $((n200 + 2))
t_check "no certificate index batch failed" test "$(metric signerd_certificate_index_failures_total)" = 0

t_stop
t_check "signerd stopped cleanly" test "$T_RC" = 0
# Every line signerd and its front wrote is one JSON object with time, level, process and msg.
t_check "the log is JSON lines" jq -e 'has("time") and has("level") and has("process") and has("msg")' \
	"$T_TMP/signerd.log"
t_check "both processes log" bash -c "jq -r .process '$T_TMP/signerd.log' | sort -u | tr '\n' ' ' | grep -qx 'signerd signerd-front '"
t_check "no PIN in the log" bash -c "! grep -qF \"\$(cat '$d/hsm/user.pin')\" '$T_TMP/signerd.log'"
"$BUILD/signerctl" -c "$d/signerd.conf" audit export >"$T_TMP/export.jsonl" 2>/dev/null
refusals=$(jq -r 'select(.type == "refusal") | .seq' "$T_TMP/export.jsonl")
t_check "quota refusals are journaled one by one (under refusals_per_minute)" test "$(wc -w <<<"$refusals")" = "$n429"
"$BUILD/signerctl" -c "$d/signerd.conf" audit show "$(head -n 1 <<<"$refusals")" >"$T_TMP/show.txt" 2>&1
t_check "a journaled refusal names the reason and the client" \
	bash -c "grep -qE '^reason +quota-exceeded' '$T_TMP/show.txt' && grep -q 'CN=issuer' '$T_TMP/show.txt'"

# SIGTERM under load: the front stops accepting, the requests in flight finish (within its 10 s bound),
# the signer journals its stop and a last checkpoint, and exits 0. Every certificate released is journaled.
sed -i -e '/^quota_per_minute = 60$/d' -e '/^quota_burst = 3$/d' "$d/signerd.conf"
if t_start "$d"; then
	T_BURST_MAX_TIME=30 t_burst "$T_TMP/stop" 32 "$T_TMP/a.json" &
	burst=$!
	# Stop once the first answers are in: the rest are in flight or not yet accepted.
	for _ in $(seq 1 100); do
		[ "$(grep -lx 200 "$T_TMP"/stop/*.code 2>/dev/null | wc -l)" -ge 2 ] && break
		sleep 0.05
	done
	t_stop
	wait "$burst"
	t_check "SIGTERM under load: signerd exits 0" test "$T_RC" = 0
	served=0 missing=0
	for f in "$T_TMP"/stop/*.code; do
		[ "$(cat "$f")" = 200 ] || continue
		served=$((served + 1))
		serial=$(jq -r .serial_number "${f%.code}.body")
		"$BUILD/signerctl" -c "$d/signerd.conf" audit find --serial "$serial" >/dev/null 2>&1 || missing=$((missing + 1))
	done
	t_check "SIGTERM under load: each of the $served certificates released is journaled" test "$missing" = 0
	t_check "SIGTERM under load: some requests were served before the stop" test "$served" -ge 2
	"$BUILD/signerctl" -c "$d/signerd.conf" audit export >"$T_TMP/export2.jsonl" 2>/dev/null
	t_check "SIGTERM: the stop record, then a last checkpoint that covers it" \
		test "$(tail -n 2 "$T_TMP/export2.jsonl" | jq -r .type | tr '\n' ' ')" = "service checkpoint "
	t_check "SIGTERM: the journal verifies" "$BUILD/signerctl" -c "$d/signerd.conf" audit verify --pubkey "$d/audit.pem"
fi
t_done
