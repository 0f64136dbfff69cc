#!/usr/bin/env bash
# One long word (a piece the split pattern cannot cut): CPU seconds and peak memory of
# rad-tokenize --text at growing sizes, for GPT-2 (merges), cl100k (ranks) and Qwen3.
# Linear time shows as a constant "ns/byte" column.  With RAD_BIN_BEFORE=DIR, the
# rad-tokenize in DIR runs the same words side by side (before/after a change), and the
# ids of the two are compared.  Sizes in MB: RAD_BENCH_LONG_MB (default "1 4 16").
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${RAD_BIN:-$TOP/bin}
case $BIN in /*) ;; *) BIN=$TOP/$BIN ;; esac
BEFORE=${RAD_BIN_BEFORE:-}
TD=$TOP/tests/data/tokenizers
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
SIZES=${RAD_BENCH_LONG_MB:-1 4 16}
mkdir -p "$W/qwen3"
gzip -dc "$TD/qwen3/tokenizer.json.gz" > "$W/qwen3/tokenizer.json"
echo "one word of random lowercase letters; CPU seconds (user + system), peak resident memory; load: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"

# run LABEL BIN TOKENIZER FILE: "cpu_seconds peak_kb" of one encode
run() {
	local out
	out=$( { /usr/bin/time -f '%U %S %M' "$2/rad-tokenize" -t "$3" --text "$4" > "$W/$1.ids"; } 2>&1 | tail -1)
	awk '{ printf "%.2f %d", $1 + $2, $3 }' <<<"$out"
}
if ! [ -x /usr/bin/time ]; then echo "skip: /usr/bin/time (GNU time) is needed for CPU seconds and peak memory"; exit 0; fi
printf '%-7s %6s  %9s %8s %8s' tok MB "cpu s" "ns/byte" "peak MB"
[ -n "$BEFORE" ] && printf '  | %9s %8s %8s  %s' "before s" "ns/byte" "peak MB" "ids"
echo
for mb in $SIZES; do
	n=$((mb * 1000000))
	awk -v n="$n" 'BEGIN { srand(7); a = "abcdefghijklmnopqrstuvwxyz"; for (i = 0; i < n; i++) printf "%s", substr(a, 1 + int(rand() * 26), 1) }' > "$W/word"
	for tk in gpt2:"$TD/gpt2/encoder.json" cl100k:"$TD/tiktoken/cl100k_base.tiktoken" qwen3:"$W/qwen3"; do
		name=${tk%%:*}
		set -- $(run after "$BIN" "${tk#*:}" "$W/word")
		printf '%-7s %6s  %9.2f %8.0f %8.0f' "$name" "$mb" "$1" "$(awk -v s="$1" -v n="$n" 'BEGIN { print s / n * 1e9 }')" "$(($2 / 1024))"
		if [ -n "$BEFORE" ]; then
			set -- $(run before "$BEFORE" "${tk#*:}" "$W/word")
			printf '  | %9.2f %8.0f %8.0f  %s' "$1" "$(awk -v s="$1" -v n="$n" 'BEGIN { print s / n * 1e9 }')" "$(($2 / 1024))" \
				"$(cmp -s "$W/after.ids" "$W/before.ids" && echo same || echo DIFFERENT)"
		fi
		echo
	done
done
