#!/usr/bin/env bash
# Llama-family training cost on this machine (indicative: two cores shared with others).
#  1. A SmolLM2-135M-shaped model (30 layers, 576 wide, 9 heads, 3 key/value heads,
#     1536 MLP, 49152 vocabulary, tied; random weights): one DPO step of 4 pairs of
#     64 + 64-token sequences (1024 tokens) at 2 threads, rad beside PyTorch (same shape,
#     same work: LM head at completion positions only; skipped without torch):
#     ms/step (median of 3 after a warm-up), CPU s/step, tokens/s, MFU, peak RSS.
#  2. A Qwen2.5-0.5B-shaped model (24 layers, 896 wide, 14 heads, 2 key/value heads,
#     4864 MLP, 151936 vocabulary, tied): the peak RSS of one DPO step (2 pairs, 512 tokens).
# As in train.sh: ms/step is wall time; the machine is shared, so the process CPU seconds
# are given too, and MFU = model FLOPs / (CPU seconds x the measured 1-thread sgemm rate).
# Model FLOPs per step: 6 x tokens x (weights of the blocks) + 6 x completion tokens x V x C
# (LM head) + 6 x L x H x D x sum(len^2) (causal attention, both products).  Both sides do
# the same work: LM head at completion positions, reference log-probs given.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
export PATH=${RAD_BIN:-$TOP/bin}:$PATH
for t in rad-init rad-logps rad-train-step rad-dump; do
	command -v "$t" > /dev/null || { echo "skip llama bench: $t not built"; exit 0; }
done
[ -x /usr/bin/time ] || { echo "skip llama bench: no /usr/bin/time for peak RSS"; exit 0; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
TH=2
cc -O2 -o "$T/peak" "$TOP/tests/bench/sgemm_peak.c" -lopenblas || exit 1
PEAK=$("$T/peak" 1536 4)
py=""
for p in python3 /usr/bin/python3; do
	if command -v "$p" > /dev/null && "$p" -c 'import torch' 2> /dev/null; then py=$p; break; fi
done

# flops LAYERS DIM HEADS KV FFN VOCAB PAIRS PROMPT COMP
flops() {
	awk -v L="$1" -v C="$2" -v H="$3" -v G="$4" -v F="$5" -v V="$6" -v P="$7" -v LP="$8" -v LC="$9" 'BEGIN {
		D = C / H; n = 2 * P * (LP + LC); m = 2 * P * (LC - 0)
		blk = L * (C * (H + 2 * G) * D + H * D * C + 3 * C * F)
		att = 6 * L * H * D * 2 * P * (LP + LC) * (LP + LC)
		printf "%.0f", 6 * n * blk + 6 * m * V * C + att }'
}

# rad_step ARCH NAME LAYERS DIM HEADS KV FFN VOCAB PAIRS PROMPT COMP STEPS: prints "step_s rss_kib"
# (STEPS timed steps after one warm-up; 0: the one step alone)
rad_step() {
	local arch=$1; shift
	local name=$1 L=$2 C=$3 H=$4 G=$5 F=$6 V=$7 P=$8 LP=$9 LC=${10} S=${11}
	rad-init --arch "$arch" --vocab "$V" --layers "$L" --heads "$H" --kv-heads "$G" --dim "$C" --ffn "$F" \
		--context 2048 -o "$T/$name" || return 1
	awk -v seed=1 -v n=$((S > 0 ? S + 1 : 1)) -v pairs="$P" -v plen="$LP" -v clen="$LC" -v vocab="$V" \
		-f "$TOP/tests/tools/gen_batches.awk" | rad-dump --encode > "$T/$name.b" || return 1
	rad-logps -m "$T/$name" --threads $TH "$T/$name.b" > "$T/$name.r" || return 1
	/usr/bin/time -f "%M" -o "$T/$name.rss" rad-train-step -m "$T/$name" -o "$T/$name.out" --no-save \
		--threads $TH --lr 1e-6 "$T/$name.r" > "$T/$name.log" || return 1
	local st ct
	st=$(jq -s 'if length > 1 then .[1:] else . end | map(.step_s) | sort | .[length / 2 | floor]' "$T/$name.log")
	ct=$(jq -s 'if length > 1 then .[1:] else . end | map(.cpu_s) | sort | .[length / 2 | floor]' "$T/$name.log")
	echo "$st $(tail -1 "$T/$name.rss") $ct"
	rm -rf "$T/$name" "$T/$name.out" "$T/$name.b"
}

row() {   # impl step_s rss_kib flops tokens cpu_s
	awk -v i="$1" -v s="$2" -v r="$3" -v f="$4" -v n="$5" -v c="$6" -v pk="$PEAK" 'BEGIN {
		printf "%-10s %9.0f %8.1f %9.0f %6.1f%% %9.0f\n", i, s * 1000, c, n / s, 100 * f / c / (pk * 1e9), r / 1024 }'
}

echo "sgemm peak (1 thread, CPU time): $PEAK GFLOP/s"
echo "SmolLM2-135M shape, DPO, 4 pairs x (64 + 64) tokens = 1024 tokens/step, $TH threads"
printf '%-10s %9s %8s %9s %7s %9s\n' impl ms/step cpu_s tok/s MFU RSS_MiB
fl=$(flops 30 576 9 3 1536 49152 4 64 64)
read -r s r c < <(rad_step llama smol 30 576 9 3 1536 49152 4 64 64 3) || { echo "rad step failed"; exit 1; }
row rad "$s" "$r" "$fl" 1024 "$c"
if [ -n "$py" ]; then
	pj=$("$py" "$TOP/tests/bench/llama_torch.py" 30 576 9 3 1536 49152 1 4 64 64 3 $TH) || exit 1
	row pytorch "$(jq .step_s <<<"$pj")" "$(jq .rss_kib <<<"$pj")" "$fl" 1024 "$(jq .cpu_s <<<"$pj")"
else
	echo "pytorch    skipped: no python3 with torch"
fi

if [ "${RAD_BENCH_SKIP_05B:-0}" != 1 ]; then
	echo "Qwen2.5-0.5B shape (tied, 151936 vocab), DPO, 2 pairs x (64 + 64) tokens = 512 tokens/step, $TH threads"
	read -r s r c < <(rad_step qwen2 q05 24 896 14 2 4864 151936 2 64 64 0) || { echo "rad step failed"; exit 1; }
	awk -v s="$s" -v r="$r" -v c="$c" 'BEGIN { printf "rad: one step %.1f s (%.1f CPU s), peak RSS %.2f GiB\n", s, c, r / 1048576 }'
fi
