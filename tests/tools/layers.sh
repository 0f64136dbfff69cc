#!/usr/bin/env bash
# The library's wings keep their order (lib/README): a file in lib/W includes headers of
# W and of the wings before it, by wing path, and nothing else of the project's.
. "$(dirname "$0")/lib.sh"

# violations ROOT — one line per include in ROOT/lib that breaks the order.
violations() {
	local root=$1 order w f inc i
	order=$(sed -n 's/^order: //p' "$root/lib/README")
	declare -A rank=()
	i=0; for w in $order; do rank[$w]=$i; i=$((i + 1)); done
	for f in "$root"/lib/*/*.[ch]; do
		w=$(basename "$(dirname "$f")")
		[ -n "${rank[$w]:-}" ] || { echo "${f#$root/}: wing $w is not in lib/README's order"; continue; }
		while IFS= read -r inc; do
			case $inc in
			*/*) iw=${inc%%/*}
				if [ -z "${rank[$iw]:-}" ] || [ ! -f "$root/lib/$inc" ]; then echo "${f#$root/}: \"$inc\" is no header of a wing"
				elif [ "${rank[$iw]}" -gt "${rank[$w]}" ]; then echo "${f#$root/}: \"$inc\" reaches up from $w to $iw"; fi ;;
			*) echo "${f#$root/}: \"$inc\" without its wing" ;;
			esac
		done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
	done
}

same "lib/README names every wing" \
	"$(sed -n 's/^order: //p' "$TOP/lib/README" | tr ' ' '\n' | sort | xargs)" \
	"$(cd "$TOP/lib" && ls -d */ | tr -d / | sort | xargs)"
same "no include in lib/ reaches a later wing" "$(violations "$TOP")" ""

# The check catches what it is for, on a made-up tree.
mkdir -p "$T/lib/base" "$T/lib/eval" "$T/lib/odd"
printf 'order: base eval odd\n' >"$T/lib/README"
: >"$T/lib/eval/x.h"; : >"$T/lib/base/b.h"
printf '#include "base/b.h"\n' >"$T/lib/eval/ok.c"
printf '#include "eval/x.h"\n' >"$T/lib/base/up.c"
printf '  #  include "b.h"\n' >"$T/lib/base/bare.c"
printf '#include "eval/none.h"\n' >"$T/lib/eval/missing.c"
same "the check names each fault" "$(violations "$T")" \
'lib/base/bare.c: "b.h" without its wing
lib/base/up.c: "eval/x.h" reaches up from base to eval
lib/eval/missing.c: "eval/none.h" is no header of a wing'
