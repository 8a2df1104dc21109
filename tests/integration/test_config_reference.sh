#!/usr/bin/env bash
# The README's table of every configuration key is the parser's own table
# (`signerctl config keys`), so the reference cannot drift from the code.
source "$(dirname "$0")/lib.sh"

readme=$here/README.md
"$BUILD/signerctl" config keys >"$T_TMP/keys.md" 2>"$T_TMP/keys.err"
t_check "signerctl config keys succeeds without a configuration file" test -s "$T_TMP/keys.md"
sed -n '/^<!-- signerctl config keys -->$/,/^<!-- end of signerctl config keys -->$/p' "$readme" |
	sed '1d;$d' >"$T_TMP/readme-keys.md"
t_check "README has the table" test -s "$T_TMP/readme-keys.md"
t_check "README's table is signerctl config keys's output" diff -u "$T_TMP/readme-keys.md" "$T_TMP/keys.md"
# column FIELD SECTION KEY: the trimmed value of column FIELD (5 reloadable, 6 secret) of a key's row.
column() { awk -F'|' -v s="\`$2\`" -v k="\`$3\`" -v f="$1" '
	{ for (i = 1; i <= NF; i++) gsub(/^ +| +$/, "", $i) }
	$2 == s && $3 == k { print $(f + 1) }' "$T_TMP/keys.md"; }
reloadable_limits() {
	local k
	for k in max_connections max_connections_per_source handshake_timeout header_timeout request_timeout \
		idle_timeout unauthenticated_rate unauthenticated_burst; do
		[ "$(column 5 api "$k")" = yes ] || { echo "$k is not reloadable"; return 1; }
	done
}
t_check "every [api] connection limit is listed as reloadable" reloadable_limits
t_check "the module is not reloadable" test -z "$(column 5 hsm module)"
t_check "pin_file and tls_key are secret" test "$(column 6 hsm pin_file) $(column 6 api tls_key)" = "yes yes"
t_check "the journal path is not secret" test -z "$(column 6 journal path)"
t_done
