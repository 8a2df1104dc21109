#!/usr/bin/env bash
# C2SP witness cosignatures end to end: an auditor's witness
# (signerctl audit witness serve) beside signerd, checkpoints submitted to it
# by signerd itself ([journal] witness, through signerd-push; the witness down,
# then up) and by signerctl audit witness submit, cosignatures in
# GET /v1/audit/checkpoint and checked by audit verify --witness-key; a tail
# cut after a cosigned checkpoint detected; a rewritten history refused by the
# witness; the witness's state kept across a kill -9 and a restart.
source "$(dirname "$0")/lib.sh"

d="$T_TMP/demo"
t_demo "$d" p256 || { t_fail "demo state"; t_done; exit 1; }
T_DIR=$d
conf="$d/signerd.conf"
pub="$d/audit.pem"
W="$T_TMP/witness"
WPID=
mkdir -p "$W"
ctl() { "$BUILD/signerctl" "$@"; }

w_start() { # [PORT] the witness on $W/state; sets WPID and WURL
	rm -f "$W/ready"
	# Not through ctl(): $! must be signerctl itself, not a subshell, for kill -9 to reach it.
	"$BUILD/signerctl" audit witness serve --key "$W/w1.key" --name witness.test/w1 --log-key "$pub" \
		--state "$W/state" --port "${1:-0}" --ready-file "$W/ready" >>"$W/serve.log" 2>&1 &
	WPID=$!
	local i
	for i in $(seq 1 50); do
		[ -s "$W/ready" ] && break
		kill -0 "$WPID" 2>/dev/null || break
		sleep 0.1
	done
	[ -s "$W/ready" ] || { cat "$W/serve.log"; WPID=; return 1; }
	WURL="http://127.0.0.1:$(cat "$W/ready")"
}
w_stop() { # SIG (default TERM)
	[ -n "$WPID" ] || return 0
	kill "-${1:-TERM}" "$WPID" 2>/dev/null
	wait "$WPID" 2>/dev/null
	WPID=
}
FPID=
trap '[ -z "$FPID" ] || kill "$FPID" 2>/dev/null; w_stop; t_cleanup' EXIT

# The witness's key: a file of the auditor's, 0600, never the token's.
ctl audit witness keygen --key "$W/w1.key" --name witness.test/w1 >"$W/w1.vkey" 2>"$W/err"
t_check "witness keygen prints the vkey (name+id+key, type 04)" bash -c "
	grep -qE '^witness\.test/w1\+[0-9a-f]{8}\+B[A-P][A-Za-z0-9+/]{42}\$' '$W/w1.vkey'"
t_check "witness key file is 0600" test "$(stat -c %a "$W/w1.key")" = 600
ctl audit witness keygen --key "$W/w1.key" --name witness.test/w1 >/dev/null 2>&1; rc=$?
t_check "keygen does not replace a key" test "$rc" = 1
t_check "witness vkey prints the same line again" \
	test "$(ctl audit witness vkey --key "$W/w1.key" --name witness.test/w1)" = "$(cat "$W/w1.vkey")"
ctl audit witness keygen --key "$W/w2.key" --name witness.test/w2 >"$W/w2.vkey"

w_start || { t_fail "witness starts"; t_done; exit 1; }
t_ok "witness starts on $WURL"
t_check "witness state is 0700" test "$(stat -c %a "$W/state")" = 700

witness_line="witness = $(cat "$W/w1.vkey") $WURL"
sed -i -e 's/^checkpoint_every = .*/checkpoint_every = 3/' -e 's/^checkpoint_interval = .*/checkpoint_interval = 1s/' \
	-e "/^\[journal\]/a $witness_line\ncheckpoint_retry_max = 2s" "$conf"
t_csr "$T_TMP/a.csr" ec:P-256 "/CN=a.example.com" "DNS:a.example.com"
t_request "$T_TMP/a.csr" >"$T_TMP/a.json"
issue() { local i; for i in $(seq 1 "$1"); do t_sign issuer "$T_TMP/a.json" >/dev/null; done; }

cosigned_newest() { # the API's newest checkpoint carries the cosignature (within about 15 s)
	local i
	for i in $(seq 1 150); do
		t_get auditor /v1/audit/checkpoint >/dev/null
		grep -q '^— witness.test/w1 ' "$T_TMP/body" && return 0
		sleep 0.1
	done
	return 1
}
metric() { grep -E "^$1 " "$T_TMP/metrics.txt" | awk '{print $2}'; }

# Round 1: signerd submits each checkpoint by itself; the witness goes down and comes back; stop (the
# stop checkpoint), submit by hand, keep a backup of this history.
t_start "$d" || { t_fail "signerd starts with [journal] witness"; t_done; exit 1; }
issue 4
t_check "signerd submits by itself: the API's newest checkpoint carries the cosignature" cosigned_newest
cp "$T_TMP/body" "$T_TMP/cp1.txt"
t_check "signerd's log: the checkpoint cosigned by witness.test/w1" \
	grep -q '"msg":"witness: checkpoint cosigned","witness":"witness.test/w1"' "$T_TMP/signerd.log"
t_get auditor /metrics >/dev/null; cp "$T_TMP/body" "$T_TMP/metrics.txt"
t_check "/metrics: signerd_witness_cosigned_tree_size is the API's newest" test \
	"$(metric 'signerd_witness_cosigned_tree_size\{witness="witness.test/w1"\}')" = "$(sed -n 2p "$T_TMP/cp1.txt")"
t_check "/metrics: the cosigned checkpoint's age, no refusal" bash -c "
	grep -qE '^signerd_witness_cosigned_age_seconds\{witness=\"witness.test/w1\"\} [0-9.]+\$' '$T_TMP/metrics.txt' &&
	grep -qx 'signerd_witness_refusals_total{witness=\"witness.test/w1\"} 0' '$T_TMP/metrics.txt'"
wport=$(cat "$W/ready")
w_stop
codes=$(for i in 1 2 3; do t_sign issuer "$T_TMP/a.json"; echo; done | sort | uniq -c | xargs)
t_check "the witness down: issuance goes on ($codes)" test "$codes" = "3 200"
t_get auditor /v1/audit/checkpoint >/dev/null
t_check "the witness down: the newest checkpoint is not cosigned" bash -c "! grep -q '^— witness.test/w1 ' '$T_TMP/body'"
sleep 2
t_check "the witness down: signerd-push retries it" bash -c "
	grep -q '\"msg\":\"checkpoint push: not acknowledged, retrying later\",\"receiver\":\"$WURL/add-checkpoint\"' '$T_TMP/signerd.log'"
w_start "$wport" || { t_fail "witness restarts on port $wport"; t_done; exit 1; }
t_check "the witness up again: the newest checkpoint cosigned" cosigned_newest
# The stored cosignature lost: signerd asks from 0, the witness answers 409 with its size, signerd asks
# again from there.
rm -f "$d/journal/cosignatures/"*
issue 3
t_check "cosignatures lost: the newest checkpoint cosigned again" cosigned_newest
t_check "cosignatures lost: through a 409 and a request from the witness's size" \
	grep -q '"msg":"witness: answered","witness":"'"$WURL"'/add-checkpoint","tree_size":[0-9]*,"status":409' "$T_TMP/signerd.log"
t_audit witness submit >"$T_TMP/sub.out" 2>&1; rc=$?
t_check "submit by hand while signerd runs: cosigned" bash -c "test $rc = 0 && grep -q '^witness witness.test/w1 cosigned tree size [1-9]' '$T_TMP/sub.out'"
st=$(t_get auditor /v1/audit/checkpoint)
t_check "GET /v1/audit/checkpoint carries the witness's cosignature" bash -c "
	test '$st' = 200 && grep -q '^— signerd.demo/journal ' '$T_TMP/body' && grep -q '^— witness.test/w1 ' '$T_TMP/body'"
cp "$T_TMP/body" "$T_TMP/api-cosigned.txt"
t_check "the API's cosigned checkpoint verifies with --witness-key" \
	t_audit verify --pubkey "$pub" --checkpoint "$T_TMP/api-cosigned.txt" --witness-key "$W/w1.vkey"
t_stop
t_audit witness submit >"$T_TMP/sub.out" 2>&1
size1=$(sed -n 's/^witness witness.test\/w1 cosigned tree size \([0-9]*\) .*/\1/p' "$T_TMP/sub.out")
# A checkpoint's tree size is the records before it: the stop checkpoint is the last record.
t_check "after stop: the stop checkpoint cosigned (size $size1)" test "$size1" = "$(($(t_audit export | wc -l) - 1))"
t_audit verify --pubkey "$pub" --witness-key "$W/w1.vkey" >"$T_TMP/v.out" 2>&1; rc=$?
t_check "verify --witness-key: the newest checkpoint is cosigned" bash -c "
	test $rc = 0 && grep -q 'newest checkpoint (tree size $size1) cosigned by witness.test/w1' '$T_TMP/v.out'"
t_audit verify --pubkey "$pub" --witness-key "$W/w2.vkey" >"$T_TMP/v.out" 2>&1; rc=$?
t_check "verify --witness-key of a witness that never cosigned: 1, named" bash -c "
	test $rc = 1 && grep -q 'NOT witnessed by witness.test/w2' '$T_TMP/v.out'"
ctl -c "$conf" journal backup "$T_TMP/jold" >"$T_TMP/backup.out" 2>&1
t_check "journal backup takes the stored cosignatures along" bash -c "
	grep -q 'with 1 stored cosignature\$' '$T_TMP/backup.out' &&
	cmp '$d/journal/cosignatures/'* '$T_TMP/jold/cosignatures/'\$(basename '$d/journal/cosignatures/'*)"

# Round 2: more records; the witness moves on with consistency proofs from size1, each new checkpoint
# submitted as it comes by a follower beside signerd (signerd itself does not submit this round:
# no [journal] witness; the follower is given it with --witness).
sed -i -e "/^witness = /d" -e "/^checkpoint_retry_max = /d" "$conf"
"$BUILD/signerctl" -c "$conf" audit witness submit --witness "$(cat "$W/w1.vkey") $WURL" --follow --interval 1 \
	>"$T_TMP/follow.out" 2>&1 &
FPID=$!
t_start "$d" || { t_fail "signerd restarts"; t_done; exit 1; }
issue 3
t_check "--follow: the newest checkpoint cosigned while signerd runs" cosigned_newest
t_stop
stored_is_newest() {
	local i want=$(($(t_audit export | wc -l) - 1))
	for i in $(seq 1 60); do
		[ "$(sed -n 2p "$d/journal/cosignatures/"* 2>/dev/null)" = "$want" ] && return 0
		sleep 0.1
	done
	return 1
}
t_check "--follow: the stop checkpoint cosigned too" stored_is_newest
kill -TERM "$FPID"; wait "$FPID"; rc=$?; FPID=
t_check "--follow stops on SIGTERM (exit 0), each cosignature printed" bash -c "
	test $rc = 0 && test \$(grep -c '^witness witness.test/w1 cosigned tree size' '$T_TMP/follow.out') -ge 2"
sed -i "/^\[journal\]/a $witness_line\ncheckpoint_retry_max = 2s" "$conf"
t_audit witness submit >"$T_TMP/sub.out" 2>&1; rc=$?
size2=$(sed -n 's/^witness witness.test\/w1 cosigned tree size \([0-9]*\) .*/\1/p' "$T_TMP/sub.out")
t_check "round 2: cosigned from $size1 to $size2 with a consistency proof" bash -c "test $rc = 0 && test '$size2' -gt '$size1'"
t_check "verify --witness-key after round 2" t_audit verify --pubkey "$pub" --witness-key "$W/w1.vkey"
ohash=$(printf %s signerd.demo/journal | sha256sum | cut -c1-64)
st=$(curl -sS -o "$T_TMP/wcp.txt" -w '%{http_code}' "$WURL/$ohash/checkpoint")
t_check "the witness serves its latest cosigned checkpoint (size $size2)" bash -c "
	test '$st' = 200 && sed -n 2p '$T_TMP/wcp.txt' | grep -qx '$size2' && grep -q '^— witness.test/w1 ' '$T_TMP/wcp.txt'"
t_check "the witness's checkpoint verifies against the journal with --witness-key" \
	t_audit verify --pubkey "$pub" --checkpoint "$T_TMP/wcp.txt" --witness-key "$W/w1.vkey"
t_audit report --html "$T_TMP/report.html" --pubkey "$pub" >/dev/null 2>&1
t_check "audit report names the witness that cosigned the newest checkpoint" \
	grep -q 'id="cosigned">the newest checkpoint, cosigned by witness.test/w1 ' "$T_TMP/report.html"

# A tail cut after the cosigned checkpoint: the journal is the older history (size1 + 1 records).
cp -r "$T_TMP/jold" "$T_TMP/jcut"
cp "$d/journal/cosignatures/"* "$T_TMP/jcut/cosignatures/"
t_audit verify --journal "$T_TMP/jcut" --pubkey "$pub" >"$T_TMP/c.out" 2>&1; rc=$?
t_check "tail cut: without a witness the prefix verifies (the reason for witnesses)" test "$rc" = 0
t_audit verify --journal "$T_TMP/jcut" --pubkey "$pub" --witness-key "$W/w1.vkey" >"$T_TMP/c.out" 2>&1; rc=$?
t_check "tail cut: verify --witness-key names the cosigned size the journal lacks" bash -c "
	test $rc = 1 && grep -q 'witness.test/w1 cosigned tree size $size2, but the journal holds $((size1 + 1)) records' '$T_TMP/c.out'"
t_audit verify --journal "$T_TMP/jcut" --pubkey "$pub" --checkpoint "$T_TMP/wcp.txt" --witness-key "$W/w1.vkey" \
	>"$T_TMP/c.out" 2>&1; rc=$?
t_check "tail cut: the witness's own checkpoint shows it too" bash -c "
	test $rc = 1 && grep -q 'saved checkpoint of tree size $size2, but the journal holds $((size1 + 1)) records' '$T_TMP/c.out'"
rm -rf "$T_TMP/jcut/cosignatures"
t_audit verify --journal "$T_TMP/jcut" --pubkey "$pub" --witness-key "$W/w1.vkey" >"$T_TMP/c.out" 2>&1; rc=$?
t_check "tail cut with the cosignatures deleted too: not witnessed" bash -c "
	test $rc = 1 && grep -q 'NOT witnessed by witness.test/w1: no cosignature' '$T_TMP/c.out'"

# A rewritten history: signerd on the old copy, longer than what the witness saw.
mv "$d/journal" "$T_TMP/jreal"
cp -r "$T_TMP/jold" "$d/journal"
cp "$T_TMP/jreal/cosignatures/"* "$d/journal/cosignatures/"
t_start "$d" || { t_fail "signerd on the rewritten history"; t_done; exit 1; }
issue 6
refused_logged() {
	local i
	for i in $(seq 1 100); do
		grep -qE 'witness witness.test/w1 (refused tree size [0-9]+ with 422|cosigned tree size [0-9]+, over the journal)' \
			"$T_TMP/signerd.log" && return 0
		sleep 0.1
	done
	return 1
}
t_check "rewritten history: signerd's own submission is refused, and logged as such" refused_logged
t_get auditor /metrics >/dev/null; cp "$T_TMP/body" "$T_TMP/metrics.txt"
t_check "rewritten history: signerd_witness_refusals_total counts it" \
	test "$(metric 'signerd_witness_refusals_total\{witness="witness.test/w1"\}')" -ge 1
t_stop
t_audit witness submit >"$T_TMP/sub.out" 2>&1; rc=$?
t_check "rewritten history: the witness refuses it (422), submit fails" bash -c "
	test $rc = 1 && grep -q 'answered 422' '$T_TMP/sub.out'"
t_check "the witness logged the refusal" grep -q 'no consistency from' "$W/serve.log"
t_check "the stored cosignature still names the real history's size" \
	bash -c "sed -n 2p '$d/journal/cosignatures/'* | grep -qx '$size2'"
t_audit verify --pubkey "$pub" --witness-key "$W/w1.vkey" >"$T_TMP/v.out" 2>&1; rc=$?
t_check "rewritten history: verify --witness-key refuses it" bash -c "
	test $rc = 1 && grep -q 'NOT witnessed by witness.test/w1' '$T_TMP/v.out'"
# The same fork by hand: a size the witness saw with another root, old = its size.
n=$(($(t_audit export | wc -l) - 1))
t_audit consistency "$size2" "$n" >"$T_TMP/proof.json"
{
	echo "old $size2"
	jq -r '.consistency_path[]' "$T_TMP/proof.json" | while read -r h; do echo "$h" | xxd -r -p | base64 -w0; echo; done
	echo
	awk '{n = n $0 "\n"} /^— /{last = n; n = ""} END{printf "%s", last}' "$d/outside/checkpoints.txt"
} >"$T_TMP/fork.req"
st=$(curl -sS -o "$T_TMP/fork.out" -w '%{http_code}' --data-binary "@$T_TMP/fork.req" "$WURL/add-checkpoint")
t_check "a forked checkpoint with a proof from the witness's size: 422" test "$st" = 422
{
	printf 'old 0\n\n'
	awk '{n = n $0 "\n"} /^— /{last = n; n = ""} END{printf "%s", last}' "$d/outside/checkpoints.txt"
} >"$T_TMP/fork0.req"
st=$(curl -sS -D "$T_TMP/fork.hdr" -o "$T_TMP/fork.out" -w '%{http_code}' --data-binary "@$T_TMP/fork0.req" "$WURL/add-checkpoint")
t_check "old 0: 409 with the witness's size as text/x.tlog.size" bash -c "
	test '$st' = 409 && test \"\$(cat '$T_TMP/fork.out')\" = '$size2' && grep -qi '^content-type: text/x.tlog.size' '$T_TMP/fork.hdr'"

# The witness's state survives a kill -9 and a restart: the fork is still refused.
w_stop KILL
w_start || { t_fail "witness restarts"; t_done; exit 1; }
t_ok "witness restarts on the same state"
sed -i "s|^witness = .*|witness = $(cat "$W/w1.vkey") $WURL|" "$conf"	# another port
st=$(curl -sS -o "$T_TMP/fork.out" -w '%{http_code}' --data-binary "@$T_TMP/fork0.req" "$WURL/add-checkpoint")
t_check "after the restart: still 409, size $size2" bash -c "test '$st' = 409 && test \"\$(cat '$T_TMP/fork.out')\" = '$size2'"
t_audit witness submit >"$T_TMP/sub.out" 2>&1; rc=$?
t_check "after the restart: the rewritten history still refused" bash -c "test $rc = 1 && grep -q 'answered 422' '$T_TMP/sub.out'"
ctl audit witness serve --key "$W/w1.key" --name witness.test/w1 --log-key "$pub" --state "$W/state" --port 0 \
	>"$T_TMP/second.out" 2>&1; rc=$?
t_check "a second witness on the same state is refused (lock)" bash -c "test $rc = 1 && grep -q 'another witness' '$T_TMP/second.out'"

# Malformed and foreign requests.
st=$(curl -sS -o /dev/null -w '%{http_code}' --data-binary 'garbage' "$WURL/add-checkpoint")
t_check "garbage: 400" test "$st" = 400
st=$(curl -sS -o /dev/null -w '%{http_code}' "$WURL/add-checkpoint")
t_check "GET add-checkpoint: 405" test "$st" = 405
head -c 70000 /dev/zero | tr '\0' 'a' >"$T_TMP/big"
st=$(curl -sS -o /dev/null -w '%{http_code}' --data-binary "@$T_TMP/big" "$WURL/add-checkpoint")
t_check "a body over the bound: 413" test "$st" = 413
st=$(curl -sS -o /dev/null -w '%{http_code}' "$WURL/$(printf %064d 0)/checkpoint")
t_check "an origin never cosigned: 404" test "$st" = 404
ctl audit witness serve --key "$W/w2.key" --name witness.test/w2 --log-key "$W/w1.vkey" --state "$T_TMP/w2" \
	--port 0 >"$T_TMP/w2.out" 2>&1; rc=$?
t_check "a cosigner vkey is no log key (type 04): refused" bash -c "test $rc = 1 && grep -q 'log-key' '$T_TMP/w2.out'"

w_stop
t_done
