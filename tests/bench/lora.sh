#!/usr/bin/env bash
# lora.sh — what LoRA saves: peak RSS and time of one DPO step (4 pairs x (256 + 256)
# tokens = 4096 tokens) on Qwen2.5-0.5B- and Qwen2.5-1.5B-shaped models (random weights,
# tied, 151936 vocabulary), full training against LoRA r = 16 on q,k,v,o,gate,up,down,
# with --recompute (one layer's activations held).  Then, from the measured LoRA row of
# the largest shape, an estimate for the larger Qwen2.5 shapes: which LoRA DPO step fits
# in 20 GiB.
#
# The steps run one at a time (each alone needs up to ~9 GiB); a row whose weights,
# gradients and AdamW moments alone (16 bytes a parameter) exceed RAD_BENCH_MEM_GIB
# (default 18) is not run and says so.  The reference log-probs come from a one-layer
# model of the same vocabulary (--no-ref-check): memory and time do not depend on them.
# ms/step is wall time on a shared machine; the process CPU seconds are given too.
#   RAD_BENCH_LORA_SHAPES="0.5b 1.5b"   which shapes
#   RAD_BENCH_LORA_TOKENS="256 256"     prompt and completion tokens of each sequence
#   RAD_BENCH_THREADS=2
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
export PATH=${RAD_BIN:-$TOP/bin}:$PATH
for t in rad-init rad-logps rad-train-step rad-dump; do
	command -v "$t" > /dev/null || { echo "skip lora bench: $t not built"; exit 0; }
done
[ -x /usr/bin/time ] || { echo "skip lora bench: no /usr/bin/time for peak RSS"; exit 0; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
TH=${RAD_BENCH_THREADS:-2}
MEM=${RAD_BENCH_MEM_GIB:-18}
read -r LP LC <<< "${RAD_BENCH_LORA_TOKENS:-256 256}"
V=151936 P=4

# shape NAME: "layers dim heads kv_heads ffn" of the Qwen2.5 model
shape() {
	case $1 in
	0.5b) echo 24 896 14 2 4864 ;;
	1.5b) echo 28 1536 12 2 8960 ;;
	3b) echo 36 2048 16 2 11008 ;;
	7b) echo 28 3584 28 4 18944 ;;
	14b) echo 48 5120 40 8 13824 ;;
	*) return 1 ;;
	esac
}
# params L C H G F: the model's parameters (tied embedding, q/k/v biases, RMSNorm weights)
params() {
	awk -v L="$1" -v C="$2" -v H="$3" -v G="$4" -v F="$5" -v V=$V 'BEGIN { D = C / H
		printf "%.0f", V * C + C + L * (C * (H + 2 * G) * D + (H + 2 * G) * D + H * D * C + 3 * C * F + 2 * C) }'
}
# lora_params L C H G F R: A and B of q,k,v,o,gate,up,down
lora_params() {
	awk -v L="$1" -v C="$2" -v H="$3" -v G="$4" -v F="$5" -v R="$6" 'BEGIN { D = C / H
		printf "%.0f", L * R * ((C + H * D) + 2 * (C + G * D) + (H * D + C) + 2 * (C + F) + (F + C)) }'
}

awk -v seed=1 -v n=1 -v pairs=$P -v plen="$LP" -v clen="$LC" -v vocab=$V -f "$TOP/tests/tools/gen_batches.awk" |
	rad-dump --encode > "$T/b" || exit 1
rad-init --arch qwen2 --vocab $V --layers 1 --heads 2 --kv-heads 2 --dim 32 --ffn 32 --context 1024 -o "$T/tiny" > /dev/null || exit 1
rad-logps -m "$T/tiny" --threads "$TH" "$T/b" > "$T/r" || exit 1

echo "DPO step, $P pairs x ($LP + $LC) tokens = $((2 * P * (LP + LC))) tokens, $TH threads, --recompute"
echo "also running on this machine at the start: $(ps -eo pcpu=,rss=,comm= --sort=-rss | awk '$2 > 1048576 { printf "%s (%.1f GiB) ", $3, $2 / 1048576 }')"
printf '%-5s %-5s %-5s %14s %13s %9s %8s %9s\n' shape mode base params trainable s/step cpu_s RSS_GiB
over_lora=""
for s in ${RAD_BENCH_LORA_SHAPES:-0.5b 1.5b}; do
	read -r L C H G F < <(shape "$s") || { echo "unknown shape $s"; exit 2; }
	np=$(params "$L" "$C" "$H" "$G" "$F")
	rad-init --arch qwen2 --vocab $V --layers "$L" --heads "$H" --kv-heads "$G" --dim "$C" --ffn "$F" \
		--context 1024 -o "$T/m" > /dev/null || exit 1
	for mode in full lora; do
		if [ $mode = full ]; then
			nt=$np; extra=()
		else
			nt=$(lora_params "$L" "$C" "$H" "$G" "$F" 16)
			extra=(--lora-rank 16 --lora-alpha 32 --lora-targets q,k,v,o,gate,up,down)
		fi
		# weights + (trainable) gradients and two moments, before any activation
		need=$(awk -v p="$np" -v t="$nt" 'BEGIN { printf "%.1f", (4 * p + 12 * t) / 2^30 }')
		if awk -v n="$need" -v m="$MEM" 'BEGIN { exit !(n > m) }'; then
			printf '%-5s %-5s %-5s %14s %13s %9s %8s %9s\n' "$s" $mode fp32 "$np" "$nt" - - ">$need (not run)"
			continue
		fi
		/usr/bin/time -f "%M" -o "$T/rss" rad-train-step -m "$T/m" --no-save --no-ref-check --recompute --threads "$TH" \
			--lr 1e-6 "${extra[@]}" "$T/r" > "$T/log" || { echo "$s $mode: the step failed"; exit 1; }
		rss=$(tail -1 "$T/rss")
		printf '%-5s %-5s %-5s %14s %13s %9.1f %8.1f %9.2f\n' "$s" $mode fp32 "$np" "$nt" \
			"$(jq .step_s "$T/log")" "$(jq .cpu_s "$T/log")" "$(awk -v r="$rss" 'BEGIN { print r / 2^20 }')"
		[ $mode = lora ] && over_lora="$s $rss $np $nt $L $C $F $(((H + 2 * G) * C / H))"
	done
	rm -rf "$T/m"
done
echo "base bf16: not built (--base-dtype bf16 is not implemented); its rows would hold the base in 2 bytes a parameter"

# Larger shapes, estimated: the measured LoRA step's RSS less its fp32 weights and its
# adapter's 16 bytes a parameter is the overhead (activations and buffers), scaled by the
# activations per token that --recompute holds: L + 1 residual streams of C and one
# layer's buffers (q/k/v, attention out, norms, the MLP's 3F).
[ -n "$over_lora" ] || exit 0
read -r s0 rss0 np0 nt0 L0 C0 F0 W0 <<< "$over_lora"
echo "LoRA r = 16 DPO step, fp32 base, estimated from the measured $s0 row (not measured):"
for s in 0.5b 1.5b 3b 7b 14b; do
	read -r L C H G F < <(shape "$s")
	np=$(params "$L" "$C" "$H" "$G" "$F")
	nt=$(lora_params "$L" "$C" "$H" "$G" "$F" 16)
	awk -v s="$s" -v p="$np" -v t="$nt" -v L="$L" -v C="$C" -v F="$F" -v W=$(((H + 2 * G) * C / H)) \
		-v r0="$rss0" -v p0="$np0" -v t0="$nt0" -v L0="$L0" -v C0="$C0" -v F0="$F0" -v W0="$W0" 'BEGIN {
		over = r0 * 1024 - 4 * p0 - 16 * t0
		a = C * (L + 1) + 6 * C + W + 3 * F; a0 = C0 * (L0 + 1) + 6 * C0 + W0 + 3 * F0
		est = (4 * p + 16 * t + over * a / a0) / 2^30
		printf "  %-5s %6.1f GiB  %s\n", s, est, est <= 20 ? "fits in 20 GiB" : "does not fit in 20 GiB" }'
done
