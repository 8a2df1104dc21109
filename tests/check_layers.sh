#!/usr/bin/env bash
# The include rule (README, "Design"): each folder is a room that may use
# the rooms listed for it and nothing else. A quoted include names a header
# of one room; a system include of a foreign library (LMDB, libmicrohttpd,
# Cryptoki, OpenSSL, ldns, libcurl) may appear only where that library's types live.
# Prints every violation as FILE:LINE and exits 1 if there is any.
# Usage: check_layers.sh [ROOT]   (default: the repository)
set -u
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root" || exit 2

# Room of each public header in include/.
declare -A header_room=(
	[sd_error.h]=base [sd_file.h]=base [sd_process.h]=base [sd_log.h]=base [sd_metrics.h]=base [sd_time.h]=base [sd_crl_reason.h]=base [config.h]=config [journal.h]=journal
	[hsm.h]=pkcs11 [ceremony.h]=ctl [signer.h]=interface [api.h]=api [privsep.h]=privsep
)
# What each room may include, besides itself. "interface" is include/signer.h,
# the core's plain-struct request and result: the one door api/ has.
declare -A may_use=(
	[base]=""
	[config]="base"
	[interface]="base config"
	[pkcs11]="base"
	[journal]="base"
	[x509]="base config interface pkcs11"
	[csr]="base config interface x509"
	[policy]="base config interface x509 csr"
	[core]="base config interface pkcs11 journal x509 csr policy revocation acme push witness"
	[revocation]="base config interface pkcs11 journal x509"
	# ACME runs in the signer: it issues and revokes through signer.h, as the front would.
	[acme]="base config interface journal x509 policy"
	# The witness an auditor runs on a machine of their own (signerctl audit witness): notes,
	# cosignatures and consistency proofs, and its own small HTTP listener.
	[witness]="base journal"
	[ctl]="base config pkcs11 journal x509 revocation acme witness"
	[api]="base config interface"
	[privsep]="base config interface"
	# Checkpoints leaving the box: the spool (signer side) and signerd-push's senders (libcurl).
	[push]="base config"
	[programs]="base config interface pkcs11 journal ctl api privsep push witness"
)
# Foreign headers and the rooms allowed to include them (extended regexes).
declare -A foreign=(
	['<lmdb\.h>']="journal acme"
	['<microhttpd\.h>']="api witness"
	['<seccomp\.h>']="base"
	['<idn2\.h>']="policy"
	['<ldns/[^>]*>']="api"
	['<curl/[^>]*>']="push witness"
	['<(p11-kit/[^>]*|pkcs11\.h)>']="pkcs11"
	['<openssl/[^>]*>']="base config journal x509 csr policy core ctl pkcs11 programs revocation acme push witness"
)

# room_of PATH: the room of a source file or header, in ROOM ("" outside the rules).
room_of() {
	case "$1" in
	include/*) ROOM=${header_room[${1#include/}]:-unknown} ;;
	signer/*/*) ROOM=${1#signer/}; ROOM=${ROOM%%/*} ;;
	signer/*) ROOM=programs ;;
	api/*) ROOM=api ;;
	pkcs11/*) ROOM=pkcs11 ;;
	*) ROOM= ;;
	esac
}

allowed() { # ROOM USED
	[ "$1" = "$2" ] && return 0
	case " ${may_use[$1]} " in *" $2 "*) return 0 ;; esac
	return 1
}

quoted='^[[:space:]]*#[[:space:]]*include[[:space:]]*"([^"]*)"'
bad=0
while IFS= read -r file; do
	room_of "$file"
	room=$ROOM
	[ -n "$room" ] || continue
	if [ "$room" = unknown ] || [ -z "${may_use[$room]+x}" ]; then
		echo "$file: not in any room of tests/check_layers.sh"; bad=1; continue
	fi
	dir=${file%/*}
	while IFS= read -r entry; do
		line=${entry%%:*}
		text=${entry#*:}
		if [[ $text =~ $quoted ]]; then
			name=${BASH_REMATCH[1]}
			path=
			for p in "$dir/$name" "include/$name" "signer/$name"; do
				[ -f "$p" ] && { path=$p; break; }
			done
			if [ -z "$path" ]; then
				echo "$file:$line: includes \"$name\", which is no header of the project"; bad=1; continue
			fi
			room_of "$path"
			if ! allowed "$room" "$ROOM"; then
				echo "$file:$line: $room may not include \"$name\" ($ROOM); it may use: ${may_use[$room]:-nothing}"
				bad=1
			fi
			continue
		fi
		for pat in "${!foreign[@]}"; do
			if [[ $text =~ include[[:space:]]*$pat ]]; then
				case " ${foreign[$pat]} " in
				*" $room "*) ;;
				*)
					text=${text#*include}
					echo "$file:$line: $room may not include ${text#"${text%%[![:space:]]*}"}"
					bad=1
					;;
				esac
			fi
		done
	done < <(grep -n '^[[:space:]]*#[[:space:]]*include' "$file")
done < <(find include signer api pkcs11 -name '*.[ch]' | sort)

# Public headers carry no foreign type at all.
if grep -nE '#[[:space:]]*include[[:space:]]*<(openssl/|lmdb\.h|microhttpd\.h|gnutls/|p11-kit/|pkcs11\.h|curl/)' include/*.h; then
	echo "include/: a public header includes a foreign library's header"; bad=1
fi
[ "$bad" -eq 0 ] && echo "check_layers: every include follows the rule"
exit "$bad"
