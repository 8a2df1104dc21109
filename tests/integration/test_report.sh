#!/usr/bin/env bash
# signerctl audit report --html: a real journal (issuances under three
# profiles by two clients, refusals of two reasons, one carrying markup in
# its detail, a revocation, checkpoints), the page's figures checked against
# counts made here from the export, audit show and the auditor API, its
# escaping, a tampered copy's red verdict, and the page rendered by headless
# Chromium (a screenshot, and the DOM it built).
source "$(dirname "$0")/lib.sh"

chromium=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chromium" ]; then
	t_fail "chromium is installed (make deps installs Debian's chromium): the page cannot be rendered"
	t_done; exit 1
fi

d="$T_TMP/demo"
t_demo "$d" p256 || { t_fail "demo state"; t_done; exit 1; }
T_DIR=$d
conf="$d/signerd.conf"
pub="$d/audit.pem"
sed -i -e 's/^checkpoint_every = .*/checkpoint_every = 5/' -e 's/^checkpoint_interval = .*/checkpoint_interval = 2s/' "$conf"

t_csr "$T_TMP/a.csr" ec:P-256 "/CN=a.example.com" "DNS:a.example.com"
t_request "$T_TMP/a.csr" server >"$T_TMP/server.json"
t_request "$T_TMP/a.csr" client >"$T_TMP/client.json"
t_csr "$T_TMP/sub.csr" ec:P-256 "/CN=Sub CA/O=example" ""
# 20 days: within 30 days of expiring, not within 7.
t_request "$T_TMP/sub.csr" subordinate-ca | jq '.ttl = 1728000' >"$T_TMP/sub.json"
# A name outside policy that is markup: the refusal's detail quotes it.
t_csr "$T_TMP/evil.csr" ec:P-256 "/CN=x.example.com" "DNS:<script>alert(1)</script>.evil.test"
t_request "$T_TMP/evil.csr" server >"$T_TMP/evil.json"
t_request "$T_TMP/a.csr" server | jq '.ttl = 2592000' >"$T_TMP/longttl.json"

t_start "$d" || { t_fail "signerd starts"; t_done; exit 1; }
serials=()
for req in server server server client client; do
	[ "$(t_sign issuer "$T_TMP/$req.json")" = 200 ] && serials+=("$(jq -r .serial_number "$T_TMP/body")")
done
t_check "five issuances by the issuer" test "${#serials[@]}" = 5
t_check "one subordinate CA by the admin" test "$(t_sign admin "$T_TMP/sub.json")" = 200
t_check "a name with markup is refused (400)" test "$(t_sign issuer "$T_TMP/evil.json")" = 400
t_check "a lifetime over max_ttl is refused (400)" test "$(t_sign issuer "$T_TMP/longttl.json")" = 400
t_check "the second longttl refusal (400)" test "$(t_sign issuer "$T_TMP/longttl.json")" = 400
printf '{"serial_number":"%s","reason":"keyCompromise"}' "${serials[0]}" >"$T_TMP/revoke.json"
t_check "the revoker revokes one" test "$(t_post revoker /v1/revoke "$T_TMP/revoke.json")" = 200
sleep 3	# a checkpoint by count and by time

# The certificates figures from the auditor API, at one instant the report is then given with --now.
now=$(date -u +%FT%TZ)
now_s=$(date -u -d "$now" +%s)
st=$(t_get auditor "/v1/certificates?valid_at=$now&limit=1000")
t_check "auditor lists the valid certificates" test "$st" = 200
cp "$T_TMP/body" "$T_TMP/valid.json"
want_valid=$(jq '[.items[] | select(.status != "revoked")] | length' "$T_TMP/valid.json")
want_revoked=$(jq '[.items[] | select(.status == "revoked")] | length' "$T_TMP/valid.json")
want_exp7=$(jq --argjson n "$now_s" '[.items[] | select(.status != "revoked" and (.not_after | fromdateiso8601) < $n + 7 * 86400)] | length' "$T_TMP/valid.json")
want_exp30=$(jq --argjson n "$now_s" '[.items[] | select(.status != "revoked" and (.not_after | fromdateiso8601) < $n + 30 * 86400)] | length' "$T_TMP/valid.json")
declare -A want_profile
for p in server client subordinate-ca; do
	t_get auditor "/v1/certificates?profile=$p&limit=1000" >/dev/null
	want_profile[$p]=$(jq '.items | length' "$T_TMP/body")
done
t_stop

t_audit export >"$T_TMP/export.jsonl"
want_records=$(wc -l <"$T_TMP/export.jsonl")
want_issued=$(jq -s '[.[] | select(.type == "result" or .type == "issuance")] | length' "$T_TMP/export.jsonl")
want_refused=$(jq -s '[.[] | select(.type == "refusal")] | length' "$T_TMP/export.jsonl")
want_revocations=$(jq -s '[.[] | select(.type == "revocation")] | length' "$T_TMP/export.jsonl")
want_tree=$(jq -s '[.[] | select(.type == "checkpoint")] | last | .tree_size' "$T_TMP/export.jsonl")
# Results by client: each result's intent names the client.
jq -s '[.[] | select(.type == "intent" or .type == "intent-tbs") | {key: (.seq | tostring), value: .client}] | from_entries' \
	"$T_TMP/export.jsonl" >"$T_TMP/intents.json"
jq -r --slurpfile m "$T_TMP/intents.json" 'select(.type == "result") | $m[0][.intent_seq | tostring]' \
	"$T_TMP/export.jsonl" | sort | uniq -c >"$T_TMP/by-client.txt"
# Refusals by reason, as audit show prints each record.
for s in $(jq -r 'select(.type == "refusal") | .seq' "$T_TMP/export.jsonl"); do
	t_audit show "$s" | sed -n 's/^reason  *//p'
done | sort | uniq -c >"$T_TMP/by-reason.txt"
t_check "the journal holds what the test made" bash -c "test $want_issued = 6 -a $want_refused = 3 -a $want_revocations = 1 \
	-a ${want_profile[server]} = 3 -a ${want_profile[client]} = 2 -a ${want_profile[subordinate-ca]} = 1 -a $want_tree != null"

out="$T_TMP/report.html"
t_audit report --html "$out" --pubkey "$pub" --now "$now" >"$T_TMP/r.out" 2>&1; rc=$?
t_check "report: exit 0, the verdict on stdout" bash -c "test $rc = 0 && grep -q '^journal verifies: $want_records records' '$T_TMP/r.out' &&
	grep -q 'report written to $out' '$T_TMP/r.out'"
t_check "report: the page's verdict is green" grep -q '<p id="verdict" class="verdict ok">journal verifies: ' "$out"
t_check "report: a self-contained page: charset, a CSP that loads nothing, SVG charts, no script" bash -c "
	grep -q '<meta charset=\"utf-8\">' '$out' &&
	grep -q \"content=\\\"default-src 'none'; style-src 'unsafe-inline'\\\"\" '$out' &&
	grep -q '<svg id=\"by-profile\"' '$out' && grep -q '<svg id=\"by-client\"' '$out' &&
	! grep -qi '<script' '$out'"
t_check "report: nothing fetched (no src=, href=, url(), @import, http(s) URL)" bash -c "
	! grep -Eqi '(src|href|xlink:href|action|srcset)=|url\\(|@import|https?://' '$out'"

fig() { grep -q "id=\"$1\">$2<" "$out"; }
t_check "report: records $want_records" fig records "$want_records"
t_check "report: issued $want_issued" fig issued "$want_issued"
t_check "report: refusals $want_refused" fig refused "$want_refused"
t_check "report: revocations $want_revocations" fig revocations "$want_revocations"
t_check "report: records not covered by a checkpoint $((want_records - want_tree))" fig uncovered "$((want_records - want_tree))"
t_check "report: valid $want_valid, revoked $want_revoked, expiring in 7 days $want_exp7, in 30 days $want_exp30" bash -c "
	grep -q 'id=\"valid\">$want_valid<' '$out' && grep -q 'id=\"valid-revoked\">$want_revoked<' '$out' &&
	grep -q 'id=\"expiring7\">$want_exp7<' '$out' && grep -q 'id=\"expiring30\">$want_exp30<' '$out' &&
	test $want_valid = 5 -a $want_revoked = 1 -a $want_exp7 = 4 -a $want_exp30 = 5"
for p in server client subordinate-ca; do
	t_check "report: profile $p issued ${want_profile[$p]} (today)" grep -qE \
		">$p</td><td class=\"n\">${want_profile[$p]}</td><td class=\"n\">${want_profile[$p]}</td>" "$out"
done
while read -r n who; do
	esc=$(printf '%s' "$who" | sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' -e 's/"/\&quot;/g' -e "s/'/\&#39;/g")
	t_check "report: client '$who' issued $n" grep -qF ">$esc</td><td class=\"n\">$n</td>" "$out"
done <"$T_TMP/by-client.txt"
t_check "report: two client identities" test "$(wc -l <"$T_TMP/by-client.txt")" = 2
while read -r n reason; do
	t_check "report: refusal reason $reason: $n" grep -qF "<td class=\"t\">$reason</td><td class=\"n\">$n</td>" "$out"
done <"$T_TMP/by-reason.txt"
t_check "report: two refusal reasons" test "$(wc -l <"$T_TMP/by-reason.txt")" = 2
t_check "report: the newest checkpoint and no cosignature" bash -c "
	grep -q 'id=\"newest-checkpoint\">record [0-9]*, tree size $want_tree, signed ' '$out' &&
	grep -q 'id=\"cosigned\">cosignatures: none' '$out'"
t_check "report: ceremony and service events listed" bash -c "
	grep -q '<table id=\"ceremony-events\">' '$out' && grep -q '<td class=\"t\">keygen done</td>' '$out' &&
	grep -q '<table id=\"service-events\">' '$out' && grep -q '<td class=\"t\">start</td>' '$out'"
t_check "report: the refusal's markup is escaped, never raw" bash -c "
	grep -qF '&lt;script&gt;alert(1)&lt;/script&gt;.evil.test' '$out' && ! grep -qF '<script>alert' '$out'"

# Headless Chromium: it renders the page, and the DOM it builds holds the figures (as text, not as markup).
prof="$T_TMP/chromium-profile"
timeout 60 "$chromium" --headless --no-sandbox --disable-gpu --user-data-dir="$prof" \
	--screenshot="$T_TMP/report.png" --window-size=1200,2000 "file://$out" >"$T_TMP/chromium.log" 2>&1
t_check "chromium: a PNG screenshot of some size" bash -c "
	file '$T_TMP/report.png' | grep -q 'PNG image data, 1200 x 2000' && test \$(stat -c %s '$T_TMP/report.png') -gt 20000"
timeout 60 "$chromium" --headless --no-sandbox --disable-gpu --user-data-dir="$prof" --dump-dom "file://$out" \
	>"$T_TMP/dom.html" 2>"$T_TMP/chromium.log"
t_check "chromium: the DOM holds the figures" bash -c "
	grep -q 'id=\"issued\">$want_issued<' '$T_TMP/dom.html' && grep -q 'id=\"refused\">$want_refused<' '$T_TMP/dom.html' &&
	grep -q 'id=\"valid\">$want_valid<' '$T_TMP/dom.html' && grep -q '<rect ' '$T_TMP/dom.html' &&
	grep -q 'class=\"verdict ok\"' '$T_TMP/dom.html'"
t_check "chromium: the DOM has no script element (the markup stayed text)" bash -c "
	! grep -qi '<script' '$T_TMP/dom.html' && grep -qF '&lt;script&gt;alert(1)' '$T_TMP/dom.html'"

# From the export: the same verdict and counts, no certificate index.
t_audit report --html "$T_TMP/export.html" --export "$T_TMP/export.jsonl" --pubkey "$pub" --now "$now" >"$T_TMP/r.out" 2>&1
rc=$?
t_check "report --export: exit 0, green, the same counts, certificates not counted" bash -c "
	test $rc = 0 && grep -q '^journal verifies: $want_records records' '$T_TMP/r.out' &&
	grep -q 'class=\"verdict ok\"' '$T_TMP/export.html' && grep -q 'id=\"issued\">$want_issued<' '$T_TMP/export.html' &&
	grep -q 'an export has no certificate index' '$T_TMP/export.html' && ! grep -q 'id=\"valid\"' '$T_TMP/export.html'"

# A tampered copy (a flipped byte in record 10, every copy LMDB left of it): red, naming record 10.
cp -r "$d/journal" "$T_TMP/jcopy"
python3 - "$T_TMP/jcopy/data.mdb" "$(jq -r 'select(.seq==10) | .record' "$T_TMP/export.jsonl")" <<'PY'
import sys, base64
p, rec = sys.argv[1], base64.b64decode(sys.argv[2])
d = bytearray(open(p, "rb").read()); i = d.find(rec); assert i >= 0
while i >= 0:
    d[i + len(rec) - 5] ^= 1; i = d.find(rec, i + 1)
open(p, "wb").write(bytes(d))
PY
t_audit report --html "$T_TMP/bad.html" --journal "$T_TMP/jcopy" --pubkey "$pub" --now "$now" >"$T_TMP/r.out" 2>&1; rc=$?
t_check "tampered: exit 0 (the page is written), stdout names record 10" bash -c "
	test $rc = 0 && grep -q '^journal does NOT verify: first bad record 10' '$T_TMP/r.out'"
t_check "tampered: the page is red and names record 10" bash -c "
	grep -q '<p id=\"verdict\" class=\"verdict bad\">journal does NOT verify: first bad record 10' '$T_TMP/bad.html' &&
	grep -q 'id=\"bad-seq\">10<' '$T_TMP/bad.html'"
timeout 60 "$chromium" --headless --no-sandbox --disable-gpu --user-data-dir="$prof" --dump-dom "file://$T_TMP/bad.html" \
	>"$T_TMP/dom.html" 2>"$T_TMP/chromium.log"
t_check "tampered: rendered, the DOM shows the red verdict" grep -q 'class="verdict bad">journal does NOT verify: first bad record 10' "$T_TMP/dom.html"

# Pinned to another key: red, still written.
t_audit report --html "$T_TMP/pin.html" --pubkey-sha256 "$(printf %064d 0)" --now "$now" >"$T_TMP/r.out" 2>&1; rc=$?
t_check "another pinned key: exit 0, red, names the pin it lacks" bash -c "
	test $rc = 0 && grep -q 'class=\"verdict bad\">audit key: .*not the pinned 0000' '$T_TMP/pin.html'"

# Usage and I/O errors.
t_audit report --pubkey "$pub" >/dev/null 2>&1; rc=$?
t_check "no --html: usage (2)" test $rc = 2
t_audit report --html "$T_TMP/x.html" --now yesterday >/dev/null 2>&1; rc=$?
t_check "a bad --now: usage (2)" test $rc = 2
t_audit report --html "$T_TMP/x.html" --journal "$T_TMP/jcopy" --export "$T_TMP/export.jsonl" >/dev/null 2>&1; rc=$?
t_check "--journal and --export: usage (2)" test $rc = 2
t_audit report --html "$T_TMP/no/such/dir/r.html" --pubkey "$pub" >/dev/null 2>&1; rc=$?
t_check "an unwritable path: exit 1, nothing left behind" bash -c "test $rc = 1 && ! ls '$T_TMP'/no 2>/dev/null"
t_audit report --html "$T_TMP/x.html" --export "$T_TMP/none.jsonl" >/dev/null 2>&1; rc=$?
t_check "a missing export: exit 1" test $rc = 1
t_done
