#!/usr/bin/env bash
# signerctl crl offline: two runs give growing CRL numbers; the CRL lists a
# revoked serial with its reason, leaves out a short-lived one, and its
# signature verifies against the CA; PEM with --pem, stdout without --out;
# usage errors exit 2, a broken configuration exits 1.
source "$(dirname "$0")/lib.sh"

d=$T_TMP/demo
if ! t_demo "$d" p256; then t_fail "demo state created"; t_done; exit; fi
ctl() { "$BUILD/signerctl" -c "$d/signerd.conf" "$@"; }
if ! t_start "$d"; then t_fail "signerd starts" "$(tail -n 3 "$T_TMP/signerd.log")"; t_done; exit; fi

# issue NAME PROFILE SAN: serial in NAME.serial.
issue() {
	t_csr "$T_TMP/$1.csr" ec:P-256 "/CN=$1" "$3"
	t_request "$T_TMP/$1.csr" "$2" >"$T_TMP/$1.json"
	[ "$(t_sign issuer "$T_TMP/$1.json")" = 200 ] || return 1
	jq -r .serial_number "$T_TMP/body" >"$T_TMP/$1.serial"
}
issue a server "DNS:a.example.com" && issue w spiffe-workload "URI:spiffe://example.com/w" ||
	t_fail "issue" "$(cat "$T_TMP/body")"
t_stop
sa=$(cat "$T_TMP/a.serial") sw=$(cat "$T_TMP/w.serial")
t_check "signerctl revoke a (keyCompromise)" ctl revoke "$sa" --reason keyCompromise
t_check "signerctl revoke w (superseded)" ctl revoke "$sw" --reason superseded

number() { openssl crl -inform "$2" -in "$1" -noout -crlnumber | sed 's/^crlNumber=0x//'; }
t_check "signerctl crl --out: DER, exit 0" bash -c "'$BUILD/signerctl' -c '$d/signerd.conf' crl --out '$T_TMP/1.der' 2>'$T_TMP/1.err'"
t_check "stderr: number, entries, next update" grep -Eq '^CRL [0-9]+: 1 entries, next update 20[0-9-]+T[0-9:]+Z, written to ' "$T_TMP/1.err"
t_check "signerctl crl again, to stdout" bash -c "'$BUILD/signerctl' -c '$d/signerd.conf' crl >'$T_TMP/2.der' 2>/dev/null"
n1=$(number "$T_TMP/1.der" DER) n2=$(number "$T_TMP/2.der" DER)
t_check "the CRL numbers increase ($n1, $n2)" test "$((16#${n2:-0}))" -gt "$((16#${n1:-0}))"
openssl crl -inform DER -in "$T_TMP/2.der" -noout -text >"$T_TMP/2.txt" 2>&1
t_check "the revoked serial is listed with its reason" bash -c "
	grep -A4 -i 'Serial Number: ${sa^^}\$' '$T_TMP/2.txt' | grep -q 'Key Compromise'"
t_check "the short-lived (spiffe-workload) serial is not listed" bash -c "! grep -qi 'Serial Number: ${sw^^}\$' '$T_TMP/2.txt'"
t_check "the signature verifies against the CA" bash -c "
	openssl crl -inform DER -in '$T_TMP/2.der' -CAfile '$d/ca/chain.pem' -noout 2>&1 | grep -q 'verify OK'"
t_check "--pem: a PEM CRL, the next number" bash -c "'$BUILD/signerctl' -c '$d/signerd.conf' crl --pem --out '$T_TMP/3.pem' 2>/dev/null &&
	head -n1 '$T_TMP/3.pem' | grep -qx -- '-----BEGIN X509 CRL-----'"
n3=$(number "$T_TMP/3.pem" PEM)
t_check "the PEM CRL's number follows ($n3)" test "$((16#${n3:-0}))" -gt "$((16#${n2:-0}))"
t_check "--out replaces an older CRL" bash -c "'$BUILD/signerctl' -c '$d/signerd.conf' crl --out '$T_TMP/1.der' 2>/dev/null"
t_check "the CRLs are in the journal, which verifies" bash -c "ctl() { '$BUILD/signerctl' -c '$d/signerd.conf' \"\$@\"; }
	ctl journal verify | grep -q 'journal verifies'"
t_check "an unknown option: exit 2" bash -c "'$BUILD/signerctl' -c '$d/signerd.conf' crl --bogus 2>/dev/null; test \$? = 2"
t_check "an extra argument: exit 2" bash -c "'$BUILD/signerctl' -c '$d/signerd.conf' crl extra 2>/dev/null; test \$? = 2"
t_check "no configuration: exit 1 naming it" bash -c "'$BUILD/signerctl' -c '$T_TMP/none.conf' crl 2>'$T_TMP/e.err'; test \$? = 1 &&
	grep -q 'configuration' '$T_TMP/e.err'"
# signerd running beside signerctl crl: the journal keeps the numbers apart.
if t_start "$d"; then
	t_check "beside a running signerd: a CRL with a higher number" bash -c "
		'$BUILD/signerctl' -c '$d/signerd.conf' crl --out '$T_TMP/4.der' 2>/dev/null &&
		test \$((16#\$(openssl crl -inform DER -in '$T_TMP/4.der' -noout -crlnumber | sed 's/^crlNumber=0x//'))) -gt $((16#${n3:-0}))"
	t_stop
else
	t_fail "signerd starts again" "$(tail -n 3 "$T_TMP/signerd.log")"
fi
t_done
