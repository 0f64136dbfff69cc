#!/usr/bin/env bash
# mpi.sh — data-parallel training on this machine: one DPO step (4 pairs x 2 sequences x
# 256 tokens: 128 of prompt, 128 of completion) of a small GPT-2-shaped model (4 layers,
# width 256, GPT-2 vocabulary) and of GPT-2 small (124M), as 1 process x 2 threads, as
# 2 ranks x 1 thread under mpirun, and as 2 ranks with the optimizer sharded.
#
# Per run: the median of steps 2-4 (the first pays for first-touch memory) of wall ms per
# step, CPU seconds of all processes, tokens/s, the share of the step that rank 0 spent in
# the gradient's sums and the slices' exchange (comm_s / step_s), the AdamW moments a rank
# keeps, and peak RSS: of rank 0, and the largest of the ranks.  The machine is shared:
# compare within one run.
#   RAD_BENCH_CONFIGS="small gpt2"   which models (default both)
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/bench/lib.bash"
command -v mpirun > /dev/null || { echo "mpirun not found (openmpi-bin): nothing to measure"; exit 0; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader
gen() { awk -v seed=1 -v n=4 -v vocab=50257 -v plen=128 -v clen=128 -v pairs=4 -f "$TOP/tests/tools/gen_batches.awk" | rad-dump --encode; }
gen > "$T/dpo"

printf '%-6s %-22s | %8s %7s %8s %6s | %9s %9s %9s\n' model run ms/step cpu_s tok/s comm Adam/rank RSS_r0 RSS_max
for cfg in $configs; do
	bench_model $cfg "$T/$cfg"
	rad-logps -m "$T/$cfg" --threads 2 "$T/dpo" > "$T/dpo.ref" || exit 1
	for run in "1 process x 2 threads" "2 ranks x 1 thread" "2 ranks, sharded"; do
		case $run in
		1*) cmd=(rad-train-step --threads 2) ;;
		2*sharded) cmd=(mpirun -np 2 --bind-to core rad-train-step --threads 1 --shard-optimizer) ;;
		2*) cmd=(mpirun -np 2 --bind-to core rad-train-step --threads 1) ;;
		esac
		"${cmd[@]}" -m "$T/$cfg" --no-save --verbose "$T/dpo.ref" > "$T/log" 2> "$T/err" || { cat "$T/err"; exit 1; }
		read -r ms cpu tps comm <<< "$(tail -n +2 "$T/log" | jq -s -r 'def med(f): map(f) | sort | .[length / 2 | floor];
			"\(med(.step_s) * 1000) \(med(.cpu_s)) \(med(.tokens_per_s)) \(med((.comm_s // 0) / .step_s))"')"
		adam=$(grep -o 'AdamW moments [0-9.]*' "$T/err" | grep -o '[0-9.]*$')
		r0=$(grep -o 'peak RSS [0-9]*' "$T/err" | grep -o '[0-9]*$')
		rmax=$(grep -o 'the most of the [0-9]* ranks [0-9]*' "$T/err" | grep -o '[0-9]*$')
		# the host's rate for the scaling: tokens over CPU seconds spread over its cores (the
		# machine is shared: wall time counts the other users' work too)
		[ "$cfg $run" = "gpt2 1 process x 2 threads" ] && { gpt2_tps=$(awk -v t="$tps" -v s="$ms" -v c="$cpu" -v n="$(nproc)" \
			'BEGIN { printf "%.0f", t * s / 1000 / (c / n) }'); gpt2_adam=$adam; }
		printf '%-6s %-22s | %8.0f %7.2f %8.0f %5.1f%% | %5.0f MiB %5s MiB %5s MiB\n' $cfg "$run" "$ms" "$cpu" "$tps" \
			"$(awk -v c="$comm" 'BEGIN { print 100 * c }')" "$adam" "$r0" "${rmax:-$r0}"
	done
done

# The expected scaling (rad-train-step(1), SCALING): a ring all-reduce of the fp32 gradient
# takes 2 (R-1)/R x 4 N bytes / bandwidth, after the backward pass (not overlapped); a
# host computes N-parameter steps at the measured 124M tokens per CPU second x its cores x
# 124M / N (6 N flops a token).  At the paper's global batch, 128 pairs of 2 x 1024 tokens, split over R hosts:
# the all-reduce's seconds, the compute seconds, communication's share and the speed-up
# over one host; and the fewest tokens per host for which communication stays under 10%
# of a step (9 x all-reduce / seconds per token), and as pairs of the global batch.  A host k times faster than this one
# needs k times those tokens.
[ -n "${gpt2_tps:-}" ] || exit 0
echo
echo "scaling from gpt2's $gpt2_tps tokens/s on a host like this one ($(nproc) cores, from CPU seconds), ring all-reduce:"
awk -v tps="$gpt2_tps" -v adam="$gpt2_adam" 'BEGIN {
	n124 = adam * 1048576 / 8; split("124M 0.5B 1.5B", name, " "); split(n124 " 494032768 1543714304", np, " ")
	batch = 128 * 2 * 1024
	printf "%-5s %5s %8s | %9s %10s %6s %8s | %s\n", "model", "hosts", "Gbit/s", "allred_s", "compute_s", "comm", "speedup",
		"comm<10% from: tokens/host, pairs (2x1024 tokens) in all"
	for (i = 1; i <= 3; i++) for (r = 8; r <= 32; r += 24) for (g = 10; g <= 25; g += 15) {
		spt = np[i] / n124 / tps            # seconds per token on one host
		ar = 2 * (r - 1) / r * 4 * np[i] / (g * 1e9 / 8)
		c = batch / r * spt
		printf "%-5s %5d %8d | %9.2f %10.1f %5.1f%% %8.1f | %9.0f %6.0f\n", name[i], r, g, ar, c, 100 * ar / (ar + c), r * c / (ar + c), 9 * ar / spt,
		       int(r * 9 * ar / spt / 2048 + 0.999999)
	}
}'
