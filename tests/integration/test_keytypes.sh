#!/usr/bin/env bash
# Every CA key type end to end: a demo state whose root and intermediate keys
# are generated in SoftHSM (CA_KEY_TYPE=...), signerd issues a leaf, and the
# chain verifies under OpenSSL (-x509_strict) and GnuTLS (certtool
# --verify-chain). The signature algorithm follows the CA key. Then
# RSASSA-PSS chains (signerctl --signature pss, [ca] signature = pss), and
# the same issuance through p11-kit's proxy module instead of SoftHSM.
set -u
. "$(dirname "$0")/lib.sh"

t_csr "$T_TMP/leaf.csr" ec:P-256 "/CN=svc.example.com" "DNS:svc.example.com"
t_request "$T_TMP/leaf.csr" >"$T_TMP/req.json"

# Issue a leaf from the running signerd and verify its chain both ways.
# issue LABEL WANT_SIGALG [CHAIN_GREP...]: extra args are patterns the leaf's text must hold.
issue() {
	local label=$1 want=$2 status
	shift 2
	status=$(t_sign issuer "$T_TMP/req.json")
	if [ "$status" != 200 ]; then
		t_fail "$label: issued" "status $status: $(head -c 300 "$T_TMP/body")"; return
	fi
	t_ok "$label: issued"
	jq -r .certificate "$T_TMP/body" >"$T_TMP/leaf.pem"
	t_check "$label: openssl verify -x509_strict" openssl verify -x509_strict -purpose sslserver \
		-CAfile "$T_DIR/ca/root.pem" -untrusted "$T_DIR/ca/chain.pem" "$T_TMP/leaf.pem"
	cat "$T_TMP/leaf.pem" "$T_DIR/ca/chain.pem" >"$T_TMP/full.pem"
	t_check "$label: certtool --verify-chain" \
		bash -c "certtool --verify-chain --infile '$T_TMP/full.pem' | grep -q 'Chain verification output: Verified'"
	t_check "$label: certtool --verify against the root" \
		bash -c "certtool --verify --load-ca-certificate '$T_DIR/ca/root.pem' --infile '$T_TMP/full.pem' | grep -q 'Chain verification output: Verified'"
	openssl x509 -in "$T_TMP/leaf.pem" -noout -text >"$T_TMP/leaf.txt"
	t_check "$label: leaf signed with $want" grep -q "Signature Algorithm: $want" "$T_TMP/leaf.txt"
	local pat
	for pat in "$@"; do
		t_check "$label: leaf signature parameters have '$pat'" grep -q "$pat" "$T_TMP/leaf.txt"
	done
}

declare -A SIGALG=(
	[rsa2048]=sha256WithRSAEncryption [rsa3072]=sha384WithRSAEncryption [rsa4096]=sha512WithRSAEncryption
	[p256]=ecdsa-with-SHA256 [p384]=ecdsa-with-SHA384 [p521]=ecdsa-with-SHA512 [ED25519]=ED25519
	[ed25519]=ED25519
)

for type in rsa2048 rsa3072 rsa4096 p256 p384 p521 ed25519; do
	d="$T_TMP/demo-$type"
	if ! t_demo "$d" "$type"; then
		t_fail "$type: demo state"; continue
	fi
	t_start "$d" || { t_fail "$type: signerd starts"; continue; }
	issue "$type" "${SIGALG[$type]}"
	t_check "$type: intermediate signed by the root with ${SIGALG[$type]}" \
		bash -c "openssl x509 -in '$d/ca/intermediate.pem' -noout -text | grep -q 'Signature Algorithm: ${SIGALG[$type]}'"
	t_stop
	t_check "$type: signerd stops cleanly (exit 0; under ASan: no leak)" test "$T_RC" -eq 0
done

# --- RSASSA-PSS: root and intermediate made again with --signature pss, signerd with signature = pss ---
pss() { # type hash salt
	local type=$1 hash=$2 salt=$3 d="$T_TMP/demo-$1" tok=pkcs11:token=signerd-demo
	[ -f "$d/.complete" ] || { t_fail "$type PSS: no demo state"; return; }
	"$BUILD/signerctl" -c "$d/signerd.conf" root --signature pss --key "$tok;object=root-ca" \
		--subject "/O=signerd demo/CN=PSS root $type" --days 3650 --out "$d/ca/pss-root.pem" >"$T_TMP/ctl.log" 2>&1 &&
		"$BUILD/signerctl" -c "$d/signerd.conf" intermediate --signature pss --key "$tok;object=intermediate-ca" \
			--issuer-key "$tok;object=root-ca" --issuer-cert "$d/ca/pss-root.pem" \
			--subject "/O=signerd demo/CN=PSS issuing $type" --days 1825 --path-len 0 \
			--out "$d/ca/pss-intermediate.pem" >>"$T_TMP/ctl.log" 2>&1 ||
		{ t_fail "$type PSS: ceremony" "$(tail -n 2 "$T_TMP/ctl.log")"; return; }
	cp "$d/ca/pss-root.pem" "$d/ca/root.pem"
	cp "$d/ca/pss-intermediate.pem" "$d/ca/intermediate.pem"
	cat "$d/ca/intermediate.pem" "$d/ca/root.pem" >"$d/ca/chain.pem"
	t_check "$type PSS: root self-signed with RSASSA-PSS" \
		bash -c "openssl x509 -in '$d/ca/root.pem' -noout -text | grep -q 'Signature Algorithm: rsassaPss'"
	t_check "$type PSS: root verifies (openssl, self-signed)" openssl verify -x509_strict -CAfile "$d/ca/root.pem" "$d/ca/root.pem"
	sed -i 's|^chain = .*|&\nsignature = pss|' "$d/signerd.conf"
	t_start "$d" || { t_fail "$type PSS: signerd starts"; return; }
	issue "$type PSS" rsassaPss "Hash Algorithm: $hash" "Mask Algorithm: mgf1 with $hash" "Salt Length: $salt"
	t_stop
	t_check "$type PSS: signerd stops cleanly" test "$T_RC" -eq 0
}
pss rsa2048 sha256 0x20
pss rsa3072 sha384 0x30

# Refusals: PSS with a key that is not RSA, an unknown signature value.
d="$T_TMP/demo-p256"
"$BUILD/signerctl" -c "$d/signerd.conf" root --signature pss --key "pkcs11:token=signerd-demo;object=root-ca" \
	--subject "/CN=x" --days 1 --out "$T_TMP/x.pem" >"$T_TMP/ctl.log" 2>&1
t_check "PSS with an EC key: signerctl exits 1" test $? -eq 1
t_check "PSS with an EC key: signerctl says why" grep -q 'RSASSA-PSS needs an RSA key' "$T_TMP/ctl.log"
t_check "PSS with an EC key: no certificate written" test ! -e "$T_TMP/x.pem"
cp "$d/signerd.conf" "$d/bad.conf"
sed -i 's|^chain = .*|&\nsignature = pss|' "$d/bad.conf"
"$BUILD/signerd" -c "$d/bad.conf" --port 0 2>"$T_TMP/bad.log" >/dev/null
t_check "signature = pss with an EC CA key: signerd exits 1" test $? -eq 1
t_check "signature = pss with an EC CA key: says why" grep -q "signature = pss: RSASSA-PSS needs an RSA key" "$T_TMP/bad.log"
sed -i 's|^signature = pss|signature = rsa|' "$d/bad.conf"
"$BUILD/signerd" -c "$d/bad.conf" --port 0 2>"$T_TMP/bad.log" >/dev/null
t_check "signature = rsa: refused at load" grep -q "'signature' must be pkcs1 or pss" "$T_TMP/bad.log"

# --- the same issuance through p11-kit's proxy (another slot layout) ---
proxy=$(t_p11kit_proxy)
if [ -z "$proxy" ]; then
	t_fail "p11-kit proxy module found" "pkg-config --variable=proxy_module p11-kit-1 gave nothing"
elif ! grep -rqs 'libsofthsm2' /usr/share/p11-kit/modules/; then
	t_fail "SoftHSM registered with p11-kit" "no /usr/share/p11-kit/modules/*.module names libsofthsm2"
else
	d="$T_TMP/demo-p256"
	cp "$d/signerd.conf" "$T_TMP/softhsm.conf"
	t_conf_module "$d/signerd.conf" "$proxy"
	"$BUILD/signerctl" -c "$d/signerd.conf" hsm slots >"$T_TMP/slots.txt" 2>&1
	t_check "proxy: signerctl hsm slots lists the demo token" grep -q 'label "signerd-demo"' "$T_TMP/slots.txt"
	t_check "proxy: the demo token is in another slot than SoftHSM gives it" bash -c \
		"'$BUILD/signerctl' -c '$T_TMP/softhsm.conf' hsm slots | grep -B1 'label \"signerd-demo\"' | head -n1 >'$T_TMP/s1'; grep -B1 'label \"signerd-demo\"' '$T_TMP/slots.txt' | head -n1 >'$T_TMP/s2'; ! cmp -s '$T_TMP/s1' '$T_TMP/s2'"
	t_check "proxy: signerctl hsm keys through the proxy" bash -c \
		"'$BUILD/signerctl' -c '$d/signerd.conf' hsm keys | grep -q 'intermediate-ca.*CA key: yes'"
	if t_start "$d"; then
		issue "p256 via p11-kit-proxy" ecdsa-with-SHA256
		t_check "proxy: /healthz 200" test "$(t_curl "$T_TMP/h.json" "$T_URL/healthz")" = 200
		t_stop
		t_check "proxy: signerd stops cleanly" test "$T_RC" -eq 0
	else
		t_fail "proxy: signerd starts"
	fi
	cp "$T_TMP/softhsm.conf" "$d/signerd.conf"
fi

t_done
