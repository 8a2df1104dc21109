#!/usr/bin/env bash
# The audit journal end to end: intents and results around real issuances,
# signed checkpoints leaving the box, offline verification with only the
# exported public key, tampering on copies, kill -9 under load, a full map,
# proofs, and the auditor API.
source "$(dirname "$0")/lib.sh"

d="$T_TMP/demo"
t_demo "$d" p256 || { t_fail "demo state"; t_done; exit 1; }
T_DIR=$d
conf="$d/signerd.conf"
sed -i -e 's/^checkpoint_every = .*/checkpoint_every = 5/' -e 's/^checkpoint_interval = .*/checkpoint_interval = 2s/' "$conf"
t_csr "$T_TMP/a.csr" ec:P-256 "/CN=a.example.com" "DNS:a.example.com"
t_request "$T_TMP/a.csr" >"$T_TMP/a.json"
t_csr "$T_TMP/bad.csr" ec:P-256 "/CN=evil.test" "DNS:evil.test"
t_request "$T_TMP/bad.csr" >"$T_TMP/bad.json"

t_start "$d" || { t_fail "signerd starts"; t_done; exit 1; }
serials=()
for i in 1 2 3 4 5 6; do
	st=$(t_sign issuer "$T_TMP/a.json")
	[ "$st" = 200 ] && serials+=("$(jq -r .serial_number "$T_TMP/body")")
done
t_check "six issuances" test "${#serials[@]}" = 6
st=$(t_sign issuer "$T_TMP/bad.json")
t_check "a refused name is 400" test "$st" = 400

# Auditor API: auditor 200, issuer 403, nobody 401.
sleep 3	# a checkpoint by count (5) and by time (2 s)
st=$(t_get auditor /v1/audit/checkpoint)
t_check "auditor reads the checkpoint" test "$st" = 200
t_check "checkpoint is C2SP text signed by the audit key" grep -q "^— signerd.demo/journal " "$T_TMP/body"
st=$(t_get issuer /v1/audit/checkpoint); t_check "issuer may not read the checkpoint (403)" test "$st" = 403
st=$(t_get none /v1/audit/checkpoint); t_check "no client certificate: 401" test "$st" = 401
st=$(t_get auditor "/v1/audit/records?from=1&limit=3")
t_check "records: 200, three of them" test "$st" = 200 -a "$(jq '.records | length' "$T_TMP/body")" = 3
st=$(t_get auditor "/v1/audit/records?limit=1000"); t_check "records: limit over 100 is 400" test "$st" = 400
st=$(t_get issuer "/v1/audit/records"); t_check "records: issuer 403" test "$st" = 403
st=$(t_get auditor "/v1/audit/proof?serial=${serials[0]}")
t_check "proof for an issued serial: 200" test "$st" = 200
t_check "proof names the result record" test "$(jq -r .seq "$T_TMP/body")" -gt 0
st=$(t_get auditor "/v1/audit/proof?serial=00ff"); t_check "proof for an unknown serial: 404" test "$st" = 404
st=$(t_get auditor "/v1/audit/proof?serial=zz"); t_check "proof for a non-hex serial: 400" test "$st" = 400
cp "$d/checkpoints.txt" "$T_TMP/old-checkpoints.txt"
t_stop
t_check "signerd stops cleanly" test "$T_RC" = 0

# Offline: only the journal (or its export) and the exported public key.
pub="$d/audit.pem"
t_check "audit verify with the exported key" t_audit verify --pubkey "$pub"
t_audit verify --pubkey "$pub" >"$T_TMP/v.out"
t_check "verify counted signed checkpoints" grep -qE "[1-9][0-9]* checkpoints \(roots and signatures\)" "$T_TMP/v.out"
t_check "saved checkpoints are consistent with today's journal" \
	t_audit verify --pubkey "$pub" --checkpoint "$T_TMP/old-checkpoints.txt"
t_audit export >"$T_TMP/export.jsonl"
t_check "export verifies offline" t_audit verify --export "$T_TMP/export.jsonl" --pubkey "$pub" --checkpoint "$d/checkpoints.txt"
t_check "export: one JSON object per record with leaf hashes" \
	bash -c "jq -e 'has(\"leaf_hash\") and has(\"record\")' '$T_TMP/export.jsonl' >/dev/null"
t_check "the refusal is journaled" grep -q '"type":"refusal"' "$T_TMP/export.jsonl"
t_check "start and stop are journaled" bash -c "grep -c '\"type\":\"service\"' '$T_TMP/export.jsonl' | grep -qx 2"
t_check "ceremony records from signerctl" grep -q '"type":"ceremony"' "$T_TMP/export.jsonl"
t_check "audit find names intent and result" bash -c "'$BUILD/signerctl' -c '$conf' audit find --serial ${serials[2]} | grep -q 'result record [1-9]'"
t_check "audit prove verifies and prints the path" bash -c "'$BUILD/signerctl' -c '$conf' audit prove --serial ${serials[1]} | jq -e '.inclusion_path | length > 0' >/dev/null"
n=$(wc -l <"$T_TMP/export.jsonl")
t_check "audit consistency 3 N" bash -c "'$BUILD/signerctl' -c '$conf' audit consistency 3 $n | jq -e '.consistency_path' >/dev/null"
t_check "audit show a checkpoint" bash -c "'$BUILD/signerctl' -c '$conf' audit show $n | grep -q 'checkpoint:'"
t_check "journal backup (compacted copy) verifies" bash -c "'$BUILD/signerctl' -c '$conf' journal backup '$T_TMP/backup' && '$BUILD/signerctl' -c '$conf' audit verify --journal '$T_TMP/backup' --pubkey '$pub'"
t_check "checkpoint lines verify with openssl alone" bash -c "
	tail -n 6 '$d/checkpoints.txt' >'$T_TMP/cp' && head -n 4 '$T_TMP/cp' >'$T_TMP/body.txt' &&
	tail -n 1 '$T_TMP/cp' | awk '{print \$3}' | base64 -d | tail -c 64 >'$T_TMP/sig.bin' &&
	openssl pkeyutl -verify -pubin -inkey '$pub' -rawin -in '$T_TMP/body.txt' -sigfile '$T_TMP/sig.bin' >/dev/null"

# Tampering on copies: each is detected and named.
tamper() { # label expected-seq-regex python-snippet(export lines in L)
	local label=$1 want=$2 code=$3
	python3 - "$T_TMP/export.jsonl" "$T_TMP/t.jsonl" "$code" <<'PY'
import sys, json, base64
L = open(sys.argv[1]).read().splitlines()
exec(sys.argv[3])
open(sys.argv[2], "w").write("\n".join(L) + "\n")
PY
	t_audit verify --export "$T_TMP/t.jsonl" --pubkey "$pub" --checkpoint "$d/checkpoints.txt" >"$T_TMP/t.out" 2>&1
	local rc=$?
	if [ $rc = 1 ] && grep -qE "$want" "$T_TMP/t.out"; then t_ok "tamper: $label"; else t_fail "tamper: $label" "rc $rc: $(head -c 300 "$T_TMP/t.out")"; fi
}
flip='o = json.loads(L[9]); r = bytearray(base64.b64decode(o["record"])); r[-3] ^= 1; o["record"] = base64.b64encode(bytes(r)).decode(); L[9] = json.dumps(o, separators=(",", ":"))'
tamper "flip one byte in record 10" "record 10 modified|record 10 " "$flip"
tamper "delete record 12" "record 12 missing|position 12" 'del L[11]'
tamper "swap records 13 and 14" "position 13" 'L[12], L[13] = L[13], L[12]'
tamper "truncate the tail" "saved checkpoint of tree size [0-9]+, but the journal holds" 'del L[-3:]'
sig='
for i in range(len(L) - 1, -1, -1):
    o = json.loads(L[i])
    if o["type"] == "checkpoint":
        r = bytearray(base64.b64decode(o["record"])); r[-10] ^= 0x10; o["record"] = base64.b64encode(bytes(r)).decode(); L[i] = json.dumps(o); break'
tamper "replace a checkpoint signature" "checkpoint: (the signature does not verify|signature is not base64)" "$sig"

# The same on a copy of the LMDB journal: a flipped byte in record 10.
cp -r "$d/journal" "$T_TMP/jcopy"
python3 - "$T_TMP/jcopy/data.mdb" "$(jq -r 'select(.seq==10) | .record' "$T_TMP/export.jsonl")" <<'PY'
import sys, base64
p, rec = sys.argv[1], base64.b64decode(sys.argv[2])
d = bytearray(open(p, "rb").read()); i = d.find(rec); assert i >= 0
# Copy-on-write leaves stale copies of pages behind: change every copy.
while i >= 0:
    d[i + len(rec) - 5] ^= 1; i = d.find(rec, i + 1)
open(p, "wb").write(bytes(d))
PY
t_audit verify --journal "$T_TMP/jcopy" --pubkey "$pub" >"$T_TMP/t.out" 2>&1
t_check "tamper in LMDB: flipped byte names record 10" grep -q "first bad record 10" "$T_TMP/t.out"

# Crash consistency: kill -9 under load, several times; every released certificate is journaled with its intent.
T_BURST_MAX_TIME=10
for round in 1 2 3; do
	t_start "$d" || { t_fail "restart $round"; break; }
	t_burst "$T_TMP/burst$round" 8 "$T_TMP/a.json" &
	bp=$!
	sleep "0.$((RANDOM % 6 + 2))"
	kill -9 "$T_PID"; wait "$T_PID" 2>/dev/null; T_PID=
	wait "$bp"
done
t_start "$d" && t_stop
ok=1; got=0
for f in "$T_TMP"/burst*/*.code; do
	# Released: a whole 200 answer. One cut off by the kill (curl failed) was never delivered.
	[ "$(cat "$f")" = 200 ] && [ "$(cat "${f%.code}.rc")" = 0 ] || continue
	got=$((got + 1))
	s=$(jq -r .serial_number "${f%.code}.body")
	"$BUILD/signerctl" -c "$conf" audit find --serial "$s" 2>/dev/null | grep -q "result record [1-9]" || { ok=0; echo "missing $s"; }
done
t_check "crash: each of $got released certificates has its intent and result" test $ok = 1
t_audit verify --pubkey "$pub" >"$T_TMP/v.out" 2>&1; rc=$?
t_check "crash: journal verifies (intents without result are a warning, exit 0 or 3)" test $rc = 0 -o $rc = 3
grep WARNING "$T_TMP/v.out" || true

# A tiny map with a small maximum: clean 503 refusals, and the journal still verifies.
sed -i -e 's/^map_size_mb = .*/map_size_mb = 1/' -e 's/^map_max_mb = .*/map_max_mb = 1/' -e '/^checkpoint_file/d' "$conf"
mv "$d/journal" "$d/journal.old"
if t_start "$d"; then
	codes=""
	for i in $(seq 1 1500); do
		st=$(t_sign issuer "$T_TMP/a.json"); codes="$codes $st"
		[ "$st" = 503 ] && break
	done
	t_check "full map: issuance refused with 503" test "$st" = 503
	t_check "full map: $((i - 1)) issued before the refusal" test "$i" -gt 1
	t_check "full map: problem type journal-full" test "$(t_problem_type)" = "urn:signerd:problem:journal-full"
	st=$(t_curl "$T_TMP/body" "$T_URL/readyz")
	t_check "full map: /readyz is 503" test "$st" = 503
	t_check "full map: /healthz stays 200 (liveness)" test "$(t_curl "$T_TMP/live" "$T_URL/healthz")" = 200
	st=$(t_get auditor /metrics)
	t_check "full map: /metrics says the journal passed 80%" \
		bash -c "test '$st' = 200 && grep -qx 'signerd_journal_fill_warning 1' '$T_TMP/body'"
	for _ in $(seq 1 30); do grep -q 'of its map is used' "$T_TMP/signerd.log" && break; sleep 0.1; done
	t_check "full map: the log warned once, before it was full" \
		test "$(grep -c '"level":"warn".*journal: [0-9]*% of its map is used' "$T_TMP/signerd.log")" = 1
	t_stop
	t_audit verify --pubkey "$pub" >"$T_TMP/v.out" 2>&1; rc=$?
	t_check "full map: journal still verifies" test $rc = 0 -o $rc = 3
fi
t_done
