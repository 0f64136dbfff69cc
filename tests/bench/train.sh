#!/usr/bin/env bash
# train.sh — training steps side by side, on this machine, in one run: a small GPT-2 (4
# layers, 4 heads, width 256, GPT-2's vocabulary), GPT-2 small (124M) and a
# SmolLM2-135M-shaped Llama (30 layers, width 576, 9 heads over 3 key/value heads, SwiGLU
# 1536, vocabulary 49152); a DPO step (2 pairs x 2 sequences x 256 tokens: 128 of prompt,
# 128 of completion) and an SFT step (4 sequences x 256); rad in fp32, rad with
# --compute bf16, and PyTorch fp32 (when a python3 with torch is found), at 1 and 2
# threads.
#
# Each run does RAD_BENCH_STEPS steps (default 4) and reports the median of all but the
# first (which pays for first-touch memory and for creating the engine's primitives).
# ms/step is wall time; the machine may be shared, so the process's CPU seconds per step
# are given too, and GFLOP/s is model FLOPs per CPU second: per core, whatever the
# threads, shown as a share of this core's fp32 and bf16 ceilings, measured in the same
# run with register-only loops (tests/bench/ceiling.c).  FLOPs are counted for the work
# each side does: rad runs the LM head at completion positions and takes the reference
# log-probs from the stream; PyTorch's GPT-2 (as HF/TRL) runs the head at every position
# and the reference model's forward inside the DPO step; its Llama side does rad's work.
# Then the issue's targets for GPT-2 124M's DPO step, each met or not; for one not met, a
# profile of the step (perf record -e cpu-clock) says where the time goes.
#   RAD_BENCH_CONFIGS="small gpt2 smol"   which models
#   RAD_BENCH_THREADS="1 2"               thread counts
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
export PATH=${RAD_BIN:-$TOP/bin}:$PATH
BENCH=${RAD_BENCH:-$TOP/build/opt/bench}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
configs=${RAD_BENCH_CONFIGS:-small gpt2 smol}
threads=${RAD_BENCH_THREADS:-1 2}
steps=${RAD_BENCH_STEPS:-4}

[ -x "$BENCH/ceiling" ] || { echo "no $BENCH/ceiling: run make bench"; exit 1; }
ceil=$("$BENCH/ceiling")
F32=$(jq .fp32 <<<"$ceil")
BF16=$(jq '.bf16 // 0' <<<"$ceil")
echo "one core's ceilings: fp32 $F32 GFLOP/s ($(jq -r .fp32_isa <<<"$ceil")), bf16 $BF16 GFLOP/s ($(jq -r .bf16_isa <<<"$ceil"))"
py=""
for p in python3 /usr/bin/python3; do
	if command -v "$p" > /dev/null && "$p" -c 'import torch, numpy' 2> /dev/null; then py=$p; break; fi
done
[ -z "$py" ] && echo "PyTorch: not found, its rows are skipped"

# flops L C H G D F U V N M S2 [ref]: one training step's model FLOPs: 6 x tokens x block
# weights + 6 x head rows x V x C + 6 x L x H x D x sum of squared lengths (causal scores
# and mixing, counted whole); with ref, a reference forward (a third of that, head at
# every token) on top.  U: the up projection's width (F, or 2F gated).
flops() {
	awk -v L="$1" -v C="$2" -v H="$3" -v G="$4" -v D="$5" -v F="$6" -v U="$7" -v V="$8" -v N="$9" -v M="${10}" \
		-v S2="${11}" -v R="${12:-0}" 'BEGIN {
		blk = L * (C * (H + 2 * G) * D + H * D * C + C * U + F * C)
		f = 6 * N * blk + 6 * M * V * C + 6 * L * H * D * S2
		if (R) f += 2 * N * blk + 2 * N * V * C + 2 * L * H * D * S2
		printf "%.0f", f }'
}
gen() {   # vocab, then gen_batches.awk's variables
	local v=$1; shift
	awk -v seed=1 -v n="$steps" -v vocab="$v" -v plen=128 -v clen=128 "$@" -f "$TOP/tests/tools/gen_batches.awk" | rad-dump --encode
}
median() { jq -s "[.[1:][] | $1] | sort | .[length / 2 | floor]"; }

row() {   # label ms cpu_s flops rss_mib
	awk -v l="$1" -v s="$2" -v c="$3" -v f="$4" -v r="$5" -v a="$F32" -v b="$BF16" 'BEGIN {
		g = f / c / 1e9
		pb = b > 0 ? sprintf("%.0f%%", 100 * g / b) : "-"
		printf "%-26s %9.0f %8.2f %8.0f %6.0f%% %6s %8.0f\n", l, s, c, g, 100 * g / a, pb, r }'
}
printf '%-26s %9s %8s %8s %7s %6s %8s\n' "model loss threads impl" ms/step cpu_s GFLOP/s "%fp32" "%bf16" RSS_MiB
declare -A ms cpu gf
for cfg in $configs; do
	case $cfg in
	small) arch=gpt2 L=4 H=4 G=4 C=256 F=1024 V=50257 ;;
	gpt2) arch=gpt2 L=12 H=12 G=12 C=768 F=3072 V=50257 ;;
	smol) arch=llama L=30 H=9 G=3 C=576 F=1536 V=49152 ;;
	*) echo "unknown config $cfg"; exit 2 ;;
	esac
	D=$((C / H)); U=$F; more=()
	[ $arch = llama ] && U=$((2 * F)) more=(--kv-heads $G --ffn $F)
	rad-init --arch $arch --vocab $V --layers $L --heads $H --dim $C "${more[@]}" --context 1024 --seed 1 -o "$T/$cfg" || exit 1
	gen $V -v pairs=2 > "$T/dpo.$V"
	gen $V -v pairs=4 -v sft=1 > "$T/sft.$V"
	rad-logps -m "$T/$cfg" --threads 2 "$T/dpo.$V" > "$T/dpo.ref" || exit 1
	S2=$((4 * 256 * 256))
	for loss in dpo sft; do
		in=$T/sft.$V; [ $loss = dpo ] && in=$T/dpo.ref
		fr=$(flops $L $C $H $G $D $F $U $V 1024 512 $S2)
		if [ $arch = llama ]; then ft=$fr                              # llama_torch.py does rad's work
		elif [ $loss = sft ]; then ft=$(flops $L $C $H $G $D $F $U $V 1024 1024 $S2)   # head on all 1024 tokens
		else ft=$(flops $L $C $H $G $D $F $U $V 1024 1024 $S2 1); fi    # + the reference forward
		for th in $threads; do
			for c in fp32 bf16; do
				rad-train-step -m "$T/$cfg" -o "$T/out" --loss $loss --no-save --threads $th --compute $c --verbose "$in" \
					> "$T/log" 2> "$T/err" || { cat "$T/err"; exit 1; }
				s=$(median .step_s < "$T/log"); u=$(median .cpu_s < "$T/log")
				ms[$cfg.$loss.$th.$c]=$s; cpu[$cfg.$loss.$th.$c]=$u
				gf[$cfg.$loss.$th.$c]=$(awk -v f="$fr" -v c="$u" 'BEGIN { print f / c / 1e9 }')
				row "$cfg $loss $th rad $c" "$(awk -v s="$s" 'BEGIN { print s * 1000 }')" "$u" "$fr" \
					"$(grep -o 'peak RSS [0-9]*' "$T/err" | grep -o '[0-9]*$')"
			done
			[ -n "$py" ] || continue
			if [ $arch = llama ]; then
				"$py" "$TOP/tests/bench/llama_torch.py" $L $C $H $G $F $V 1 $([ $loss = dpo ] && echo 2 || echo 4) 128 128 \
					$((steps - 1)) $th $loss > "$T/tlog" 2> "$T/terr" || { cat "$T/terr"; exit 1; }
				s=$(jq .step_s "$T/tlog"); u=$(jq .cpu_s "$T/tlog"); r=$(jq '.rss_kib / 1024' "$T/tlog")
			else
				rad-dump "$([ $loss = dpo ] && echo "$T/dpo.ref" || echo "$in")" > "$T/b.jsonl"
				"$py" "$TOP/tests/bench/torch_step.py" "$T/$cfg" "$T/b.jsonl" $loss $th > "$T/tlog" 2> "$T/terr" ||
					{ cat "$T/terr"; exit 1; }
				s=$(median .step_s < "$T/tlog"); u=$(median .cpu_s < "$T/tlog"); r=$(jq -s '.[-1].peak_rss_mib' "$T/tlog")
			fi
			row "$cfg $loss $th torch fp32" "$(awk -v s="$s" 'BEGIN { print s * 1000 }')" "$u" "$ft" "$r"
		done
	done
done

# The issue's targets, on GPT-2 124M's DPO step.
k=gpt2.dpo
[ -n "${ms[$k.1.fp32]:-}" ] || exit 0
echo
echo "targets, GPT-2 124M DPO step:"
verdict() { awk -v v="$1" -v t="$2" -v ge="$3" 'BEGIN { print ((ge && v >= t) || (!ge && v <= t)) ? "met" : "NOT MET" }'; }
profile() {   # rad-train-step arguments: where the CPU time of the step goes
	if ! command -v perf > /dev/null; then echo "    (no perf here: no profile)"; return; fi
	perf record -q -e cpu-clock -o "$T/perf.data" -- rad-train-step -m "$T/gpt2" -o "$T/out" --no-save "$@" \
		"$T/dpo.ref" > /dev/null 2>&1 || { echo "    (perf record failed)"; return; }
	echo "    profile (perf record -e cpu-clock, all $steps steps; [JIT] is oneDNN's generated kernels):"
	perf report -i "$T/perf.data" --no-children --sort dso --stdio 2> /dev/null | grep '%' | head -5 | sed 's/^ */      /'
	perf report -i "$T/perf.data" --no-children --sort symbol --stdio 2> /dev/null | grep '%' | grep -v '\] 0x0000' |
		head -10 | sed 's/^ */      /'
}
g=${gf[$k.1.fp32]}
v=$(verdict "$(awk -v g="$g" -v a="$F32" 'BEGIN { print g / a }')" 0.7 1)
printf '  fp32, 1 thread: %.0f GFLOP/s per CPU second = %.0f%% of the fp32 ceiling (target >= 70%%): %s\n' \
	"$g" "$(awk -v g="$g" -v a="$F32" 'BEGIN { print 100 * g / a }')" "$v"
[ "$v" = met ] || profile --threads 1
r=$(awk -v a="${ms[$k.1.bf16]}" -v b="${ms[$k.1.fp32]}" 'BEGIN { print a / b }')
rc=$(awk -v a="${cpu[$k.1.bf16]}" -v b="${cpu[$k.1.fp32]}" 'BEGIN { print a / b }')
v=$(verdict "$r" 0.6 0)
printf '  bf16 step / fp32 step, 1 thread: %.2f wall (%.2f CPU) (target <= 0.6): %s\n' "$r" "$rc" "$v"
[ "$v" = met ] || profile --threads 1 --compute bf16
if [ -n "${ms[$k.2.fp32]:-}" ]; then
	r=$(awk -v a="${ms[$k.1.fp32]}" -v b="${ms[$k.2.fp32]}" 'BEGIN { print a / b }')
	v=$(verdict "$r" 1.8 1)
	printf '  2 threads / 1 thread step rate, fp32: %.2fx (target >= 1.8x): %s\n' "$r" "$v"
	[ "$v" = met ] || profile --threads 2
fi
