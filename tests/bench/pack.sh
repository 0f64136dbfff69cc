#!/usr/bin/env bash
# Padding of rad-pack's batch layouts on real pairs: the UltraFeedback sample (200 pairs,
# relabeled into 400) tokenized with GPT-2 and the zephyr template, cut at max-length 1024 /
# max-prompt-length 512 as the paper's recipes do.  Padding is wasted compute on a CPU, so
# the fraction of padding cells is the number to compare; times are indicative only.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
export PATH=${RAD_BIN:-$TOP/bin}:$PATH
SHARED=${RAD_SHARED:-$TOP/../shared/data}
uf=$SHARED/ultrafeedback_binarized_trl_eval200.jsonl
gpt2=$SHARED/tokenizers/gpt2/encoder.json
for f in "$uf" "$gpt2"; do
	[ -f "$f" ] || { echo "skip pack bench: $f absent"; exit 0; }
done
for t in rad-score-normalize rad-relabel rad-tokenize rad-pack; do
	command -v "$t" > /dev/null || { echo "skip pack bench: $t not built"; exit 0; }
done
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

rad-score-normalize "$uf" | rad-relabel | rad-tokenize --tokenizer "$gpt2" --template zephyr -o "$T/pairs.rad" || exit 1
echo "input: $(rad-dump "$T/pairs.rad" | wc -l) pairs from $(basename "$uf"), GPT-2 tokens, zephyr template"
printf '%-52s %7s %6s %9s %9s %8s %7s\n' layout batches pairs/b tokens cells padding ms
run() {   # label, rad-pack options
	local label=$1; shift
	local t0 t1 plan
	t0=$(date +%s%N)
	plan=$(rad-pack --max-length 1024 --max-prompt-length 512 --full-shuffle --seed 1 --dry-run "$@" "$T/pairs.rad") || exit 1
	t1=$(date +%s%N)
	jq -r --arg l "$label" --arg ms $(((t1 - t0) / 1000000)) \
		'[$l, .batches, (.pairs / .batches * 10 | round / 10), .tokens, .cells, ((.padding_fraction * 1000 | round) / 10 | tostring + "%"), $ms] | @tsv' <<<"$plan" |
		awk -F'\t' '{ printf "%-52s %7s %6s %9s %9s %8s %7s\n", $1, $2, $3, $4, $5, $6, $7 }'
}
run "padded, 8 pairs (TRL collator)"                   --pairs 8
run "padded, 8 pairs, width multiple of 64"            --pairs 8 --pad-multiple 64
run "padded, 8 pairs, grouped by length (window 128)"  --pairs 8 --group-by-length 128
run "packed, 8 pairs into rows of 2048"                --pairs 8 --max-tokens 2048
run "padding-free, one row of <= 2048 per batch"       --max-tokens 2048
run "padding-free, one row of <= 4096 per batch"       --max-tokens 4096
# Writing the stream too (zstd level 3), against the dry run of the same layout.
t0=$(date +%s%N)
rad-pack --max-length 1024 --max-prompt-length 512 --full-shuffle --seed 1 --pairs 8 "$T/pairs.rad" > "$T/b.rad" || exit 1
t1=$(date +%s%N)
echo "writing the padded batches: $(((t1 - t0) / 1000000)) ms, $(wc -c < "$T/b.rad") bytes"
