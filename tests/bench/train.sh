#!/usr/bin/env bash
# train.sh — one SFT step and one DPO step (2 pairs x 2 sequences x 256 tokens: 128 of
# prompt, 128 of completion) for a small GPT-2-shaped model (4 layers, 4 heads, width 256,
# GPT-2 vocabulary) and for GPT-2 small (124M), at 1 and 2 threads; PyTorch on the CPU
# side by side on the same model and batch when a python3 with torch is found.
#
# Each run does 2 steps and reports the second (the first pays for first-touch memory).
# ms/step is wall time; the machine is shared, so process CPU time is given too, and MFU
# is model FLOPs / (CPU seconds x the measured 1-thread sgemm rate).  FLOPs are counted
# for the work each side does: rad runs the LM head on completion tokens only and takes the
# reference log-probs from the stream; PyTorch (as HF/TRL) runs it on every token and runs
# the reference model's forward inside the DPO step.
#   RAD_BENCH_CONFIGS="small gpt2"   which models (default both)
#   RAD_BENCH_THREADS="1 2"          thread counts
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/bench/lib.bash"
threads=${RAD_BENCH_THREADS:-1 2}

cc -O2 -o "$T/peak" "$TOP/tests/bench/sgemm_peak.c" -lopenblas || exit 1
peak=$("$T/peak" 1536 4)
echo "sgemm peak (1 thread, CPU time): $peak GFLOP/s"
py=""
for p in python3 /usr/bin/python3; do
	if command -v "$p" > /dev/null && "$p" -c 'import torch, numpy' 2> /dev/null; then py=$p; break; fi
done
[ -z "$py" ] && echo "PyTorch: not found, its column is skipped"
gen() { awk -v seed=1 -v n=2 -v vocab=50257 -v plen=128 -v clen=128 "$@" -f "$TOP/tests/tools/gen_batches.awk" | rad-dump --encode; }
gen -v pairs=4 -v sft=1 > "$T/sft"
gen -v pairs=2 > "$T/dpo"
rad-dump "$T/sft" > "$T/sft.jsonl"
rad-dump "$T/dpo" > "$T/dpo.jsonl"

# FLOPs of one training step: 3x the forward; forward = 24 L C^2 per token (q,k,v,o and the
# MLP) + 2 L C T^2 per sequence (causal scores and mixing) + 2 V C per scored token.
flops() {   # L C V seqs T head_tokens ref_fwd_seqs
	awk -v L="$1" -v C="$2" -v V="$3" -v S="$4" -v T="$5" -v M="$6" -v RS="$7" 'BEGIN {
		f = 24 * L * C * C * S * T + 2 * L * C * T * T * S + 2 * V * C * M
		r = RS * T * (24 * L * C * C + 2 * V * C) + 2 * L * C * T * T * RS
		printf "%.0f", 3 * f + r }'
}
printf '%-6s %-4s %2s | %-7s %9s %8s %9s %6s %8s | %-7s %9s %8s %6s %8s | %s\n' model loss th rad ms/step cpu_s tok/s MFU RSS_MiB torch ms/step cpu_s MFU RSS_MiB "speed-up (wall, cpu)"
for cfg in $configs; do
	bench_model $cfg "$T/$cfg"
	rad-logps -m "$T/$cfg" --threads 2 "$T/dpo" > "$T/dpo.ref" || exit 1
	for loss in sft dpo; do
		in=$T/$loss; [ $loss = dpo ] && in=$T/dpo.ref
		fr=$(flops $L $C 50257 4 256 512 0)                       # rad: 4 sequences, 512 scored tokens
		if [ $loss = sft ]; then ft=$(flops $L $C 50257 4 256 1024 0)  # torch: head on all 1024 tokens
		else ft=$(flops $L $C 50257 4 256 1024 4); fi                  # + the reference forward
		for th in $threads; do
			rad-train-step -m "$T/$cfg" -o "$T/out" --loss $loss --no-save --threads $th --verbose "$in" \
				> "$T/log" 2> "$T/err" || { cat "$T/err"; exit 1; }
			read -r rs rc rt <<< "$(tail -1 "$T/log" | jq -r '"\(.step_s) \(.cpu_s) \(.tokens_per_s)"')"
			rr=$(grep -o 'peak RSS [0-9]*' "$T/err" | grep -o '[0-9]*$')
			rm=$(awk -v f="$fr" -v c="$rc" -v p="$peak" 'BEGIN { printf "%.0f%%", 100 * f / (c * p * 1e9) }')
			tcol="- - - -"
			sp="-"
			if [ -n "$py" ]; then
				"$py" "$TOP/tests/bench/torch_step.py" "$T/$cfg" "$T/$loss.jsonl" $loss $th > "$T/tlog" 2> "$T/terr" || { cat "$T/terr"; exit 1; }
				read -r ts tc tr <<< "$(tail -1 "$T/tlog" | jq -r '"\(.step_s) \(.cpu_s) \(.peak_rss_mib)"')"
				tm=$(awk -v f="$ft" -v c="$tc" -v p="$peak" 'BEGIN { printf "%.0f%%", 100 * f / (c * p * 1e9) }')
				tcol=$(awk -v s="$ts" -v c="$tc" -v m="$tm" -v r="$tr" 'BEGIN { printf "%9.0f %8.2f %6s %8.0f", s * 1000, c, m, r }')
				sp=$(awk -v a="$ts" -v b="$rs" -v c="$tc" -v d="$rc" 'BEGIN { printf "%.2fx, %.2fx", a / b, c / d }')
			fi
			printf '%-6s %-4s %2s | %-7s %9.0f %8.2f %9.0f %6s %8s | %-7s %s | %s\n' $cfg $loss $th "" \
				"$(awk -v s="$rs" 'BEGIN { print s * 1000 }')" "$rc" "$rt" "$rm" "$rr" "" "$tcol" "$sp"
		done
	done
done

# Which OpenBLAS build: the pthread one (what -lopenblas resolves to) against the OpenMP one
# (same soname, swapped in with LD_LIBRARY_PATH), small model, DPO step, 2 threads.
omp=/usr/lib/x86_64-linux-gnu/openblas-openmp
if [ -e "$omp/libopenblas.so.0" ]; then
	[ -d "$T/small" ] || rad-init --vocab 50257 --layers 4 --heads 4 --dim 256 --context 1024 --seed 1 -o "$T/small" || exit 1
	rad-logps -m "$T/small" --threads 2 "$T/dpo" > "$T/dpo.small" || exit 1
	cat "$T/dpo.small" "$T/dpo.small" > "$T/dpo.small4"
	echo "OpenBLAS build, small DPO step at 2 threads (median of steps 2-4, wall ms / CPU s):"
	for round in 1 2; do
		for lib in pthread openmp; do
			if [ $lib = openmp ]; then lp=$omp; else lp=${LD_LIBRARY_PATH:-}; fi
			LD_LIBRARY_PATH=$lp rad-train-step -m "$T/small" -o "$T/out" --no-save --threads 2 "$T/dpo.small4" > "$T/log" || exit 1
			tail -n +2 "$T/log" | jq -s -r --arg lib $lib --arg r $round \
				'[.[].step_s] as $w | [.[].cpu_s] as $c | "  \($lib) (round \($r)): \(($w|sort)[1]*1000|floor) ms, \(($c|sort)[1]*1000|floor/1000) s CPU"'
		done
	done
fi
