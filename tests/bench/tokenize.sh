#!/usr/bin/env bash
# Tokenizer speed: MB/s on one thread for GPT-2, cl100k and Qwen3 on a multi-megabyte
# English text, side by side with npm tiktoken (WASM) on the same text, with the ids
# compared.  Indicative only: run it on a quiet machine for numbers worth quoting.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${RAD_BIN:-$TOP/bin}
case $BIN in /*) ;; *) BIN=$TOP/$BIN ;; esac
TD=$TOP/tests/data/tokenizers
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
MB=${RAD_BENCH_MB:-8}

# The text: Debian's licence texts and package changelogs (valid UTF-8 only), or the
# UltraFeedback sample repeated when those are absent.
{ cat /usr/share/common-licenses/* 2>/dev/null
  find /usr/share/doc -name 'changelog*.gz' 2>/dev/null | LC_ALL=C sort | xargs -r zcat 2>/dev/null
} | iconv -c -f UTF-8 -t UTF-8 2>/dev/null | head -c $((MB * 1000000)) > "$W/text"
# cut back to the last newline so that no character is split
if [ "$(wc -c < "$W/text")" -lt $((MB * 500000)) ]; then
	: > "$W/text"
	while [ "$(wc -c < "$W/text")" -lt $((MB * 1000000)) ]; do cat "$TD/golden/uf_eval200_first20.txt" >> "$W/text"; done
fi
head -c $(($(wc -c < "$W/text") - 200)) "$W/text" | sed '$d' > "$W/t" && mv "$W/t" "$W/text"
bytes=$(wc -c < "$W/text")
echo "text: $bytes bytes; rates are bytes per CPU second (user + system), one thread; load: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"

mkdir -p "$W/qwen3"
gzip -dc "$TD/qwen3/tokenizer.json.gz" > "$W/qwen3/tokenizer.json"

# CPU seconds (user + system) of a command: steadier than wall time on a shared machine.
cpu() { local TIMEFORMAT='%3U %3S'; { time "$@" > "$W/out" 2>/dev/null; } 2>&1 | awk '{ print $1 + $2 }'; }
# rad_rate NAME TOKENIZER [ARGS]: load alone, then load + encode; MB/s of the encode part
rad_rate() {
	local name=$1 tok=$2; shift 2
	local load all
	load=$(cpu "$BIN/rad-tokenize" -t "$tok" "$@" --text /dev/null)
	all=$(cpu "$BIN/rad-tokenize" -t "$tok" "$@" --text "$W/text")
	mv "$W/out" "$W/$name.rad"
	awk -v n="$name" -v b="$bytes" -v l="$load" -v a="$all" 'BEGIN {
		enc = a - l; if (enc <= 0) enc = 1e-3
		printf "rad-tokenize %-7s load %.3f s  encode %6.1f MB/s\n", n, l, b / 1e6 / enc }' | tee -a "$W/rates"
}
rad_rate gpt2 "$TD/gpt2/encoder.json"
rad_rate cl100k "$TD/tiktoken/cl100k_base.tiktoken"
rad_rate qwen3 "$W/qwen3"

# npm tiktoken (WASM), if node and the package can be had
if command -v node > /dev/null && command -v npm > /dev/null &&
   (cd "$W" && timeout 180 npm install --silent --no-audit --no-fund tiktoken > /dev/null 2>&1); then
	cat > "$W/tt.mjs" <<'JS'
import { get_encoding } from "tiktoken";
import { readFileSync, writeFileSync } from "fs";
const text = readFileSync(process.argv[2], "utf8");
const bytes = Buffer.byteLength(text, "utf8");
for (const name of ["gpt2", "cl100k_base"]) {
	const enc = get_encoding(name);
	enc.encode_ordinary("warm up");
	const c0 = process.cpuUsage();
	const ids = enc.encode_ordinary(text);
	const c = process.cpuUsage(c0), s = (c.user + c.system) / 1e6;
	const short = name === "cl100k_base" ? "cl100k" : name;
	console.log(`tiktoken     ${short.padEnd(7)} encode ${(bytes / 1e6 / s).toFixed(1).padStart(6)} MB/s`);
	writeFileSync(`${process.argv[3]}/${name}.tt`, Array.from(ids).join(" ") + "\n");
	enc.free();
}
JS
	(cd "$W" && node tt.mjs "$W/text" "$W") | tee -a "$W/rates"
	mv "$W/cl100k_base.tt" "$W/cl100k.tt"
	for e in gpt2 cl100k; do
		if cmp -s "$W/$e.rad" "$W/$e.tt"; then echo "ids $e: identical ($(wc -w < "$W/$e.rad") tokens)"
		else echo "ids $e: DIFFERENT"; fi
	done
	awk '/^rad-tokenize/ { r[$2] = $(NF-1) } /^tiktoken/ { t[$2] = $(NF-1) }
	     END { for (k in t) if (k in r) printf "ratio %-7s rad-tokenize / tiktoken = %.1fx\n", k, r[k] / t[k]
	           if ("gpt2" in t) printf "ratio qwen3   rad-tokenize / tiktoken(gpt2) = %.1fx\n", r["qwen3"] / t["gpt2"] }' "$W/rates"
else
	echo "skip tiktoken: node/npm or the npm package is not available"
fi
