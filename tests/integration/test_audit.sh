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
st=$(t_curl "$T_TMP/health" "$T_URL/healthz")
t_check "with an audit key: /healthz is {\"status\":\"ok\"}, no details" bash -c "test '$st' = 200 && test \"\$(cat '$T_TMP/health')\" = '{\"status\":\"ok\"}'"
t_check "with an audit key: no warning about checkpoints at start-up" bash -c "! grep -q 'checkpoints are disabled' '$T_TMP/signerd.log'"
st=$(t_get none /v1/audit/checkpoint); t_check "no client certificate: 401" test "$st" = 401
st=$(t_get auditor "/v1/audit/records?from=1&limit=3")
t_check "records: 200, three of them" test "$st" = 200 -a "$(jq '.records | length' "$T_TMP/body")" = 3
st=$(t_get auditor "/v1/audit/records?limit=1000"); t_check "records: limit over 100 is 400" test "$st" = 400
st=$(t_get issuer "/v1/audit/records"); t_check "records: issuer 403" test "$st" = 403
st=$(t_get auditor "/v1/audit/proof?serial=${serials[0]}")
t_check "proof for an issued serial: 200" test "$st" = 200
t_check "proof names the result record" test "$(jq -r .seq "$T_TMP/body")" -gt 0
t_check "proof names the serial as serial_number" test "$(jq -r .serial_number "$T_TMP/body")" = "${serials[0]}"
st=$(t_get auditor "/v1/audit/proof?serial=00ff"); t_check "proof for an unknown serial: 404" test "$st" = 404
st=$(t_get auditor "/v1/audit/proof?serial=zz"); t_check "proof for a non-hex serial: 400" test "$st" = 400
cp "$d/outside/checkpoints.txt" "$T_TMP/old-checkpoints.txt"
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
t_check "export verifies offline" t_audit verify --export "$T_TMP/export.jsonl" --pubkey "$pub" --checkpoint "$d/outside/checkpoints.txt"
t_check "export: one JSON object per record with leaf hashes" \
	bash -c "jq -e 'has(\"leaf_hash\") and has(\"record\")' '$T_TMP/export.jsonl' >/dev/null"
t_check "the refusal is journaled" grep -q '"type":"refusal"' "$T_TMP/export.jsonl"
# The front's account: its seven 4xx answers (400 name-refused, 403 twice, 401, 400 twice, 404) in one
# summary at stop, by problem type, besides the core's own refusal record.
for s in $(jq -r 'select(.type == "refusal-summary") | .seq' "$T_TMP/export.jsonl"); do t_audit show "$s"; done \
	>"$T_TMP/summaries.txt"
grep -B7 '^detail  *api https: ' "$T_TMP/summaries.txt" >"$T_TMP/api-summary.txt"
t_check "the API's refusals: one summary of the front's, at stop" test "$(grep -c '^detail' "$T_TMP/api-summary.txt")" = 1
t_check "the API's refusals: seven, by problem type" bash -c "
	grep -qE '^answered +7 since [0-9]+\$' '$T_TMP/api-summary.txt' && grep -q ' forbidden=2' '$T_TMP/api-summary.txt' &&
	grep -q ' unauthenticated=1' '$T_TMP/api-summary.txt' && grep -q ' name-refused=1' '$T_TMP/api-summary.txt' &&
	grep -q ' not-found=1' '$T_TMP/api-summary.txt'"
t_check "start and stop are journaled" bash -c "grep -c '\"type\":\"service\"' '$T_TMP/export.jsonl' | grep -qx 2"
t_check "ceremony records from signerctl" grep -q '"type":"ceremony"' "$T_TMP/export.jsonl"
t_check "audit find names intent and result" bash -c "'$BUILD/signerctl' -c '$conf' audit find --serial ${serials[2]} | grep -q 'result record [1-9]'"
t_check "audit prove verifies and prints the path" bash -c "'$BUILD/signerctl' -c '$conf' audit prove --serial ${serials[1]} | jq -e '.serial_number == \"${serials[1]}\" and (.inclusion_path | length > 0)' >/dev/null"
n=$(wc -l <"$T_TMP/export.jsonl")
t_check "audit consistency 3 N" bash -c "'$BUILD/signerctl' -c '$conf' audit consistency 3 $n | jq -e '.consistency_path' >/dev/null"
t_check "audit show a checkpoint" bash -c "'$BUILD/signerctl' -c '$conf' audit show $n | grep -q 'checkpoint:'"
t_check "journal backup (compacted copy) verifies" bash -c "'$BUILD/signerctl' -c '$conf' journal backup '$T_TMP/backup' && '$BUILD/signerctl' -c '$conf' audit verify --journal '$T_TMP/backup' --pubkey '$pub'"
t_check "checkpoint lines verify with openssl alone" bash -c "
	tail -n 6 '$d/outside/checkpoints.txt' >'$T_TMP/cp' && head -n 4 '$T_TMP/cp' >'$T_TMP/body.txt' &&
	tail -n 1 '$T_TMP/cp' | awk '{print \$3}' | base64 -d | tail -c 64 >'$T_TMP/sig.bin' &&
	openssl pkeyutl -verify -pubin -inkey '$pub' -rawin -in '$T_TMP/body.txt' -sigfile '$T_TMP/sig.bin' >/dev/null"
# README "Auditing": one note of a checkpoint_file of several, the newest or the N-th, with awk alone.
cp_newest() { awk '{n = n $0 "\n"} /^— /{last = n; n = ""} END{printf "%s", last}' "$1"; }
cp_nth() { awk -v N="$2" '{n = n $0 "\n"} /^— /{if (++i == N) printf "%s", n; n = ""}' "$1"; }
cp_verifies() {
	head -n 4 "$1" >"$T_TMP/body.txt" && tail -n 1 "$1" | awk '{print $3}' | base64 -d | tail -c 64 >"$T_TMP/sig.bin" &&
	openssl pkeyutl -verify -pubin -inkey "$pub" -rawin -in "$T_TMP/body.txt" -sigfile "$T_TMP/sig.bin" >/dev/null
}
cp_is() { cmp -s "$1" "$2" && cp_verifies "$1"; }
cp_newest "$d/outside/checkpoints.txt" >"$T_TMP/cp-newest"
cp_nth "$d/outside/checkpoints.txt" 2 >"$T_TMP/cp-second"
t_check "checkpoint file: several notes, six lines each, nothing between them" bash -c "
	n=\$(grep -c '^— ' '$d/outside/checkpoints.txt') && test \$n -ge 2 && test \$(wc -l <'$d/outside/checkpoints.txt') = \$((6 * n))"
t_check "checkpoint file: the newest note by awk is the last six lines, and its signature verifies" \
	cp_is "$T_TMP/cp-newest" <(tail -n 6 "$d/outside/checkpoints.txt")
t_check "checkpoint file: the second note by awk is lines 7 to 12, and its signature verifies" \
	cp_is "$T_TMP/cp-second" <(sed -n 7,12p "$d/outside/checkpoints.txt")

# Pinning the audit key: its fingerprint (SHA-256 of the DER SubjectPublicKeyInfo) as keygen printed and
# journaled it and as audit pubkey --sha256 prints it; verify --pubkey-sha256 takes the key from the journal.
fp=$("$BUILD/signerctl" -c "$conf" audit pubkey --sha256)
kid=$("$BUILD/signerctl" -c "$conf" audit pubkey --key-id)
t_check "audit pubkey --sha256 is SHA-256 of the key's DER SPKI" \
	test "$fp" = "$(openssl pkey -pubin -in "$pub" -outform DER | openssl dgst -sha256 -r | cut -c1-64)"
t_check "the audit key's keygen printed the fingerprint and the checkpoint key id" bash -c "
	grep -qx 'SHA-256 fingerprint (of its DER SubjectPublicKeyInfo): $fp' '$T_TMP/demo.log' &&
	grep -qx 'checkpoint key id (C2SP note key hash, name signerd.demo/journal): $kid' '$T_TMP/demo.log'"
t_check "each checkpoint's signature starts with that key id" bash -c "
	test \"\$(tail -n 1 '$d/outside/checkpoints.txt' | awk '{print \$3}' | base64 -d | head -c 4 | xxd -p)\" = '$kid'"
cer=""
for s in $(jq -r 'select(.type == "ceremony") | .seq' "$T_TMP/export.jsonl"); do
	t_audit show "$s" | grep -q "^detail .*spki_sha256=$fp; checkpoint_key_id=$kid; role=audit-key\$" && cer=$s
done
t_check "the journal's keygen record of the audit key carries the fingerprint" test -n "$cer"
t_audit verify --pubkey-sha256 "$fp" --checkpoint "$T_TMP/old-checkpoints.txt" >"$T_TMP/v.out" 2>&1
t_check "verify --pubkey-sha256 of the real key: accepted, the key from its ceremony record" bash -c "
	test $? = 0 && grep -q 'made by the key ceremony in record $cer' '$T_TMP/v.out' &&
	grep -q 'audit key: SHA-256 $fp (pinned)' '$T_TMP/v.out' && grep -q 'roots and signatures' '$T_TMP/v.out'"
t_check "export verify --pubkey-sha256 (upper case): accepted" \
	t_audit verify --export "$T_TMP/export.jsonl" --pubkey-sha256 "${fp^^}" --checkpoint "$d/outside/checkpoints.txt"
t_audit verify --export "$T_TMP/export.jsonl" --pubkey "$pub" >"$T_TMP/v.out" 2>&1
t_check "export verify claims only what it checked" bash -c "
	! grep -q 'Merkle nodes and indexes match' '$T_TMP/v.out' && grep -q 'indexes not checked (an export has none)' '$T_TMP/v.out'"
for bad in "${fp:0:63}" "${fp}0" "${fp:0:62}zz" ""; do
	t_audit verify --pubkey-sha256 "$bad" >"$T_TMP/u.out" 2>&1; rc=$?
	t_check "--pubkey-sha256 '${bad:0:8}…' (${#bad} characters): usage error" bash -c "
		test $rc = 2 && grep -qE 'pubkey-sha256: (a SHA-256 fingerprint is 64 hex digits|fingerprint: character 63 is not)' '$T_TMP/u.out'"
done
t_audit verify --pubkey "$pub" --pubkey-sha256 "$(printf %064d 0)" >"$T_TMP/u.out" 2>&1; rc=$?
t_check "--pubkey with another fingerprint pinned: refused" bash -c "test $rc = 1 && grep -q 'not the pinned 0000' '$T_TMP/u.out'"

# A forgery on a copy: a fresh Ed25519 key in the token, made the copy's audit key with its own ceremony
# record, signs the checkpoints from there on. Pinned to the real key, verify refuses it and names the first.
cp "$conf" "$T_TMP/conf.real"
mv "$d/journal" "$T_TMP/journal.real"
cp -a "$T_TMP/journal.real" "$d/journal"
sed -i -e 's/object=audit-key$/object=audit-key-2/' -e "s|^checkpoint_file = .*|checkpoint_file = $T_TMP/forged-checkpoints.txt|" "$conf"
"$BUILD/signerctl" -c "$conf" keygen --type ed25519 --key 'pkcs11:token=signerd-demo;object=audit-key-2' >"$T_TMP/keygen2.out" 2>&1
fp2=$(sed -n 's/^SHA-256 fingerprint (of its DER SubjectPublicKeyInfo): //p' "$T_TMP/keygen2.out")
t_check "the second key's keygen: another fingerprint, and it says it is the audit key" bash -c "
	test -n '$fp2' -a '$fp2' != '$fp' && grep -q 'this is the \[journal\] audit_key' '$T_TMP/keygen2.out'"
if t_start "$d"; then
	t_sign issuer "$T_TMP/a.json" >/dev/null
	t_stop
fi
mv "$d/journal" "$T_TMP/forged"
mv "$T_TMP/journal.real" "$d/journal"
cp "$T_TMP/conf.real" "$conf"
first=$("$BUILD/signerctl" -c "$conf" audit export --journal "$T_TMP/forged" | jq -r "select(.type == \"checkpoint\" and .seq > $n) | .seq" | head -n 1)
t_check "the forged copy has checkpoints of its own" test -n "$first"
t_audit verify --journal "$T_TMP/forged" --pubkey-sha256 "$fp" >"$T_TMP/f.out" 2>&1; rc=$?
t_check "forged: refused with the real key's fingerprint, naming checkpoint record $first" bash -c "
	test $rc = 1 && grep -q 'first bad record $first: record $first: checkpoint: signed by another key' '$T_TMP/f.out'"
t_check "forged: the ceremony of the other audit key is reported" \
	grep -q "audit key ceremony does NOT match: record $((n + 2)) made the \[journal\] audit_key pkcs11:token=signerd-demo;object=audit-key-2 with the fingerprint $fp2" "$T_TMP/f.out"
t_audit verify --journal "$T_TMP/forged" --pubkey "$pub" >"$T_TMP/f.out" 2>&1; rc=$?
t_check "forged: --pubkey FILE refuses it too" bash -c "test $rc = 1 && grep -q 'first bad record $first: .*signed by another key' '$T_TMP/f.out'"
"$BUILD/signerctl" -c "$conf" audit export --journal "$T_TMP/forged" >"$T_TMP/forged.jsonl"
t_audit verify --export "$T_TMP/forged.jsonl" --pubkey-sha256 "$fp" >"$T_TMP/f.out" 2>&1; rc=$?
t_check "forged export: refused with the real key's fingerprint" bash -c "test $rc = 1 && grep -q 'first bad record $first: ' '$T_TMP/f.out'"
t_audit verify --pubkey-sha256 "$fp" --checkpoint "$T_TMP/forged-checkpoints.txt" >"$T_TMP/f.out" 2>&1; rc=$?
t_check "a saved checkpoint file signed by the other key: refused, naming the first" bash -c "
	test $rc = 1 && grep -q 'saved checkpoint 1 in $T_TMP/forged-checkpoints.txt (tree size [0-9]*): checkpoint: signed by another key' '$T_TMP/f.out'"
t_check "the real journal still verifies pinned" t_audit verify --pubkey-sha256 "$fp" --checkpoint "$d/outside/checkpoints.txt"

# The newest record deleted from a copy (an LMDB dump without it, loaded again): named, not "record 0".
mdb_dump -a "$d/journal" | awk '/^database=/ { db = substr($0, 10) }
	db == "records" && /^ / { if (n++ % 2 == 0) k = $0; else { if (pk != "") print pk; if (pv != "") print pv; pk = k; pv = $0 }; next }
	db == "records" && /^DATA=END/ { n = 0; pk = pv = "" }
	{ print }' >"$T_TMP/cut.dump"
mkdir -m 700 "$T_TMP/cut" && mdb_load -f "$T_TMP/cut.dump" "$T_TMP/cut" 2>/dev/null
t_audit verify --journal "$T_TMP/cut" --pubkey "$pub" >"$T_TMP/c.out" 2>&1; rc=$?
t_check "the last record deleted: verify names record $n, the first missing" bash -c "
	test $rc = 1 && grep -q 'first bad record $n: record $n is missing' '$T_TMP/c.out'"

# Tampering on copies: each is detected and named.
tamper() { # label expected-seq-regex python-snippet(export lines in L)
	local label=$1 want=$2 code=$3
	python3 - "$T_TMP/export.jsonl" "$T_TMP/t.jsonl" "$code" <<'PY'
import sys, json, base64
L = open(sys.argv[1]).read().splitlines()
exec(sys.argv[3])
open(sys.argv[2], "w").write("\n".join(L) + "\n")
PY
	t_audit verify --export "$T_TMP/t.jsonl" --pubkey "$pub" --checkpoint "$d/outside/checkpoints.txt" >"$T_TMP/t.out" 2>&1
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

# Crash consistency: kill -9 under load, several times ([journal] result = next-commit, the default).
# Every released certificate's TBS is byte for byte a durable intent's, and after the restart each
# intent has a result or an unresolved record.
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
got=0
: >"$T_TMP/released.txt"
for f in "$T_TMP"/burst*/*.code; do
	# Released: a whole 200 answer. One cut off by the kill (curl failed) was never delivered.
	[ "$(cat "$f")" = 200 ] && [ "$(cat "${f%.code}.rc")" = 0 ] || continue
	got=$((got + 1))
	jq -r .certificate "${f%.code}.body" | openssl x509 -outform DER | base64 -w0 >>"$T_TMP/released.txt"
	echo >>"$T_TMP/released.txt"
done
t_audit export >"$T_TMP/crash.jsonl"
python3 - "$T_TMP/crash.jsonl" "$T_TMP/released.txt" >"$T_TMP/crash.out" 2>&1 <<'PY'
import base64, json, sys

def fields(rec):  # the type's fields after the 54-byte header, each a u32 length and its bytes
    out, i = [], 54
    while i < len(rec):
        n = int.from_bytes(rec[i:i + 4], "big"); out.append(rec[i + 4:i + 4 + n]); i += 4 + n
    return out

def tlv(b, i):  # (start of content, end) of the DER TLV at i
    n = b[i + 1]
    if n < 0x80:
        return i + 2, i + 2 + n
    k = n & 0x7f
    return i + 2 + k, i + 2 + k + int.from_bytes(b[i + 2:i + 2 + k], "big")

tbs_of, intents, closed, unresolved = {}, set(), set(), 0
for line in open(sys.argv[1]):
    o = json.loads(line); rec = base64.b64decode(o["record"]); t = rec[5]; f = fields(rec)
    if t in (2, 13):
        intents.add(o["seq"])
    if t == 13:
        tbs_of[f[4]] = f[5]
    if t in (3, 14):
        closed.add(int.from_bytes(f[0], "big"))
    unresolved += t == 14
bad = 0
for line in open(sys.argv[2]):
    der = base64.b64decode(line.strip())
    c0, _ = tlv(der, 0)
    tbs = der[c0:tlv(der, c0)[1]]
    i = tlv(tbs, 0)[0]
    if tbs[i] == 0xa0:  # the version, then the serial: its content octets are the journal's serial
        i = tlv(tbs, i)[1]
    s0, s1 = tlv(tbs, i)
    serial = tbs[s0:s1]
    if tbs_of.get(serial) != tbs:
        bad += 1; print("released", serial.hex(), "has no intent with its TBS")
print("open", len(intents - closed), "unresolved", unresolved, "bad", bad)
PY
t_check "crash: each of $got released certificates has a durable intent with exactly its TBS" grep -q " bad 0$" "$T_TMP/crash.out"
t_check "crash: after the restart every intent has a result or an unresolved record" grep -q "^open 0 " "$T_TMP/crash.out"
cat "$T_TMP/crash.out"
t_audit verify --pubkey "$pub" >"$T_TMP/v.out" 2>&1; rc=$?
t_check "crash: journal verifies (unresolved intents are a warning, exit 0 or 3)" test $rc = 0 -o $rc = 3
grep WARNING "$T_TMP/v.out" || true

# Without [journal] audit_key: a warning at start-up, and /healthz (still 200, liveness) says so in its details.
cp "$conf" "$T_TMP/conf.real"
sed -i '/^audit_key = /d' "$conf"
if t_start "$d"; then
	st=$(t_curl "$T_TMP/health" "$T_URL/healthz")
	t_check "no audit_key: /healthz 200 and its details say the journal is unprotected" bash -c "test '$st' = 200 &&
		jq -e '.status == \"ok\" and .details.checkpoints == \"disabled: the journal is unprotected against rewriting\"' \
			'$T_TMP/health' >/dev/null"
	t_check "no audit_key: the start-up log warns" grep -q \
		'"level":"warn".*no \[journal\] audit_key: checkpoints are disabled, the journal is unprotected against rewriting' \
		"$T_TMP/signerd.log"
	t_stop
else
	t_fail "no audit_key: signerd starts" "$(tail -n 3 "$T_TMP/signerd.log")"
fi
cp "$T_TMP/conf.real" "$conf"

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
