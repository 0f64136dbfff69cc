#!/usr/bin/env bash
# lora.sh — what LoRA saves: peak RSS and time of one DPO step (4 pairs x (256 + 256)
# tokens = 4096 tokens) on Qwen2.5-shaped models (random weights, tied, 151936
# vocabulary), full training against LoRA r = 16 on q,k,v,o,gate,up,down, with
# --recompute (one layer's activations held); LoRA also with the frozen base held in bf16
# (--base-dtype bf16, when rad-train-step has it).  Beside rad, the same step in PyTorch
# (tests/bench/llama_torch.py: fp32, LoRA written out as PEFT's Linear computes it,
# torch.utils.checkpoint per layer) when a python3 with torch is found.  Then, from a
# measured LoRA row (the bf16-base one when there is one), an estimate for the larger
# Qwen2.5 shapes with either base dtype: which LoRA DPO step fits in 20 GiB.
#
# The steps run one at a time; a row whose weights, gradients and AdamW moments alone
# (16 bytes a trained parameter, 4 or 2 bytes a frozen one) exceed RAD_BENCH_MEM_GIB
# (default 18) is not run and says so.  The reference log-probs come from a one-layer
# model of the same vocabulary (--no-ref-check): memory and time do not depend on them.
# s/step is wall time on a shared machine; the process CPU seconds are given too.
#
# Disk: each shape's model is written to $TMPDIR (mktemp -d) and removed before the next:
# 0.5b 2.0 GB, 1.5b 6.2 GB (fp32), 3b 6.2 GB and 7b 14.1 GB (bf16).
#   RAD_BENCH_LORA_SHAPES="0.5b 1.5b"   which shapes (0.5b 1.5b 3b 7b 14b)
#   RAD_BENCH_LORA_MODES="full lora lora-bf16 torch-full torch-lora"   which rows
#   RAD_BENCH_LORA_TORCH_SHAPES="0.5b"  the shapes PyTorch runs at (the rest say "not run")
#   RAD_BENCH_LORA_TOKENS="256 256"     prompt and completion tokens of each sequence
#   RAD_BENCH_THREADS=2
#   RAD_BENCH_MEM_GIB=18
# e.g. only the bf16-base LoRA step of 7b:
#   RAD_BENCH_LORA_SHAPES=7b RAD_BENCH_LORA_MODES=lora-bf16 bash tests/bench/lora.sh
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
MODES=${RAD_BENCH_LORA_MODES:-full lora lora-bf16 torch-full torch-lora}
# PyTorch's 0.5b step peaks at 21-23 GiB at the default tokens (its full-vocabulary logits
# and their gradients): larger shapes do not fit 24 GiB, so by default it runs at 0.5b only
TORCH_SHAPES=${RAD_BENCH_LORA_TORCH_SHAPES:-0.5b tiny}
for m in $MODES; do
	case $m in
	full | lora | lora-bf16 | torch-full | torch-lora) ;;
	*) echo "unknown mode $m (full, lora, lora-bf16, torch-full, torch-lora)"; exit 2 ;;
	esac
done
want() { case " $MODES " in *" $1 "*) return 0 ;; esac; return 1; }

# shape NAME: "layers dim heads kv_heads ffn" of the Qwen2.5 model (tiny: the script's own test)
shape() {
	case $1 in
	tiny) echo 2 64 4 2 128 ;;
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
# need BYTES P T FULL: GiB before any activation: P base weights of BYTES each and, for T
# trained parameters, gradient and two moments (and their own weights unless FULL: then
# they are the base's)
need() {
	awk -v b="$1" -v p="$2" -v t="$3" -v full="$4" 'BEGIN { printf "%.4f", (b * p + (full ? 12 : 16) * t) / 2^30 }'
}
one() { awk -v x="$1" 'BEGIN { printf "%.1f", x }'; }
over() { awk -v n="$1" -v m="$2" 'BEGIN { exit !(n > m) }'; }
row() { printf '%-5s %-5s %-5s %-5s %14s %13s %9s %8s %9s\n' "$@"; }
gib() { awk -v k="$1" 'BEGIN { printf "%.2f", k / 2^20 }'; }
secs() { awk -v s="$1" 'BEGIN { printf "%.2f", s }'; }

# make_model NAME L C H G F NP: the random model of shape NAME in $T/m; bf16 on disk from
# 3b on (half the disk; rad-init then holds it in bf16 too, 14 GiB for 7b)
make_model() {
	local dt=()
	awk -v p="$7" 'BEGIN { exit !(p > 2e9) }' && dt=(--dtype bf16)
	rad-init --arch qwen2 --vocab "$V" --layers "$2" --heads "$4" --kv-heads "$5" --dim "$3" --ffn "$6" --context 1024 \
		"${dt[@]}" -o "$T/m" > /dev/null
}

awk -v seed=1 -v n=1 -v pairs=$P -v plen="$LP" -v clen="$LC" -v vocab=$V -f "$TOP/tests/tools/gen_batches.awk" |
	rad-dump --encode > "$T/b" || exit 1
rad-init --arch qwen2 --vocab $V --layers 1 --heads 2 --kv-heads 2 --dim 32 --ffn 32 --context 1024 -o "$T/tiny" > /dev/null || exit 1
rad-logps -m "$T/tiny" --threads "$TH" "$T/b" > "$T/r" || exit 1

# The bf16-base rows need rad-train-step's --base-dtype; the torch rows a python3 with torch
# (the PATH's first, else Debian's, where make deps installs python3-torch).
bf16=0
if want lora-bf16; then
	if rad-train-step --help 2>&1 | grep -q -- --base-dtype; then bf16=1
	else echo "base bf16: rad-train-step has no --base-dtype"; fi
fi
py=""
if want torch-full || want torch-lora; then
	for p in python3 /usr/bin/python3; do
		if command -v "$p" > /dev/null && "$p" -c 'import torch' 2> /dev/null; then py=$p; break; fi
	done
	[ -n "$py" ] || echo "torch column skipped: no python3 here imports torch (make deps installs python3-torch)"
fi

echo "DPO step, $P pairs x ($LP + $LC) tokens = $((2 * P * (LP + LC))) tokens, $TH threads, --recompute (torch: checkpoint per layer)"
echo "also running on this machine at the start: $(ps -eo pcpu=,rss=,comm= --sort=-rss | awk '$2 > 1048576 { printf "%s (%.1f GiB) ", $3, $2 / 1048576 }')"
row shape impl mode base params trainable s/step cpu_s RSS_GiB
notes=()
over_fp32="" over_bf16=""
for s in ${RAD_BENCH_LORA_SHAPES:-0.5b 1.5b}; do
	read -r L C H G F < <(shape "$s") || { echo "unknown shape $s"; exit 2; }
	np=$(params "$L" "$C" "$H" "$G" "$F")
	nl=$(lora_params "$L" "$C" "$H" "$G" "$F" 16)
	W=$(((H + 2 * G) * C / H))
	for mode in full lora lora-bf16; do
		want $mode || continue
		[ $mode = lora-bf16 ] && [ $bf16 = 0 ] && continue
		base=fp32 wb=4 full=0 nt=$nl extra=(--lora-rank 16 --lora-alpha 32 --lora-targets q,k,v,o,gate,up,down)
		case $mode in
		full) nt=$np full=1 extra=() ;;
		lora-bf16) base=bf16 wb=2 extra+=(--base-dtype bf16) ;;
		esac
		n=$(need $wb "$np" "$nt" $full)
		if over "$n" "$MEM"; then
			row "$s" rad "${mode%-bf16}" $base "$np" "$nt" - - ">$(one "$n") (not run)"
			continue
		fi
		[ -d "$T/m" ] || make_model "$s" "$L" "$C" "$H" "$G" "$F" "$np" || { echo "$s: writing the model failed"; exit 1; }
		/usr/bin/time -f "%M" -o "$T/rss" rad-train-step -m "$T/m" --no-save --no-ref-check --recompute --threads "$TH" \
			--lr 1e-6 "${extra[@]}" "$T/r" > "$T/log" || { echo "$s $mode: the step failed"; exit 1; }
		rss=$(tail -1 "$T/rss")
		row "$s" rad "${mode%-bf16}" $base "$np" "$nt" "$(secs "$(jq .step_s "$T/log")")" "$(secs "$(jq .cpu_s "$T/log")")" "$(gib "$rss")"
		case $mode in
		lora) over_fp32="$s $rss $np $nt $L $C $F $W 4 fp32" ;;
		lora-bf16) over_bf16="$s $rss $np $nt $L $C $F $W 2 bf16" ;;
		esac
	done
	rm -rf "$T/m"
	[ -n "$py" ] || continue
	for mode in torch-full torch-lora; do
		want $mode || continue
		if [ $mode = torch-full ]; then nt=$np full=1 extra=(); else nt=$nl full=0 extra=(lora=16 alpha=32); fi
		n=$(need 4 "$np" "$nt" $full)
		if over "$n" "$MEM"; then
			row "$s" torch "${mode#torch-}" fp32 "$np" "$nt" - - ">$(one "$n") (not run)"
			continue
		fi
		case " $TORCH_SHAPES " in *" $s "*) ;; *)
			row "$s" torch "${mode#torch-}" fp32 "$np" "$nt" - - "(not run)"
			continue ;;
		esac
		if ! "$py" "$TOP/tests/bench/llama_torch.py" "$L" "$C" "$H" "$G" "$F" $V 1 $P "$LP" "$LC" 1 "$TH" dpo \
			bias=1 checkpoint=1 "${extra[@]}" > "$T/tlog" 2> "$T/terr"; then
			tail -3 "$T/terr"
			row "$s" torch "${mode#torch-}" fp32 "$np" "$nt" - - "(failed)"
			continue
		fi
		tr=$(jq .trainable "$T/tlog")
		row "$s" torch "${mode#torch-}" fp32 "$np" "$tr" "$(secs "$(jq .step_s "$T/tlog")")" "$(secs "$(jq .cpu_s "$T/tlog")")" \
			"$(gib "$(jq .rss_kib "$T/tlog")")"
		[ "$tr" = "$nt" ] || notes+=("$s torch $mode: $tr trainable parameters, rad's shape has $nt")
	done
done
for n in "${notes[@]}"; do echo "note: $n"; done

# Larger shapes, estimated: the measured LoRA step's RSS less its base weights (4 or 2
# bytes a parameter) and its adapter's 16 bytes a parameter is the overhead (activations
# and buffers), scaled by the activations per token that --recompute holds: L + 1 residual
# streams of C and one layer's buffers (q/k/v, attention out, norms, the MLP's 3F).
over_lora=${over_bf16:-$over_fp32}
[ -n "$over_lora" ] || exit 0
read -r s0 rss0 np0 nt0 L0 C0 F0 W0 wb0 b0 <<< "$over_lora"
echo "LoRA r = 16 DPO step, estimated from the measured rad $s0 lora row with base $b0 (not measured):"
for s in 0.5b 1.5b 3b 7b 14b; do
	read -r L C H G F < <(shape "$s")
	np=$(params "$L" "$C" "$H" "$G" "$F")
	nt=$(lora_params "$L" "$C" "$H" "$G" "$F" 16)
	awk -v s="$s" -v p="$np" -v t="$nt" -v L="$L" -v C="$C" -v F="$F" -v W=$(((H + 2 * G) * C / H)) \
		-v r0="$rss0" -v p0="$np0" -v t0="$nt0" -v L0="$L0" -v C0="$C0" -v F0="$F0" -v W0="$W0" -v wb0="$wb0" 'BEGIN {
		over = r0 * 1024 - wb0 * p0 - 16 * t0
		a = C * (L + 1) + 6 * C + W + 3 * F; a0 = C0 * (L0 + 1) + 6 * C0 + W0 + 3 * F0
		e4 = (4 * p + 16 * t + over * a / a0) / 2^30; e2 = (2 * p + 16 * t + over * a / a0) / 2^30
		printf "  %-5s base fp32 %6.1f GiB %-16s base bf16 %6.1f GiB %s\n", s, e4, e4 <= 20 ? "(fits in 20 GiB)" : "(does not fit)",
			e2, e2 <= 20 ? "(fits in 20 GiB)" : "(does not fit)" }'
done
