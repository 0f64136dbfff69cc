#!/usr/bin/env bash
# mpi.sh — the model tools under mpirun, 2 ranks of one thread on this machine: training
# with 2 ranks gives one process's losses, metrics and weights (to 1e-5), with and without
# a sharded optimizer, for DPO and SFT, padded and padding-free batches; the same bytes
# again for the same rank count; resume across rank counts; a rank killed; errors.
. "$(dirname "$0")/lib.sh"

command -v mpirun >/dev/null || { skip mpi "mpirun is not installed (openmpi-bin)"; exit 0; }
ldd "$(command -v rad-train-step)" 2>/dev/null | grep -q libmpi || { skip mpi "the tools were built without MPI"; exit 0; }
command -v python3 >/dev/null || { skip mpi "no python3 to compare weights"; exit 0; }
# Tests run as root in containers; shared memory between the ranks, no network probing.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader
MPI=(mpirun -np 2 --oversubscribe)

# maxrel A B: the largest |a - b| over every tensor of two safetensors files, over the
# largest |a|.  Per tensor it would not do: the gradient of the attention's key bias is zero
# in exact arithmetic (softmax does not change when a constant is added to every score), so
# AdamW turns rounding noise into updates of that bias, noise whose bits depend on the order
# of the sums, at the scale of lr x noise / eps, far below the weights' scale.
maxrel() {
	python3 - "$1" "$2" <<'PY'
import json, struct, sys
from array import array
def load(p):
    with open(p, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]; h = json.loads(f.read(n)); data = f.read()
    out = {}
    for k, v in h.items():
        if k != '__metadata__':
            x = array('f'); x.frombytes(data[v['data_offsets'][0]:v['data_offsets'][1]]); out[k] = x
    return out
a, b = load(sys.argv[1]), load(sys.argv[2])
assert a.keys() == b.keys()
d = max(max(abs(x - y) for x, y in zip(a[k], b[k])) for k in a)
s = max(max(abs(x) for x in a[k]) for k in a)
print('%.3g' % (d / s))
PY
}
# close NAME A B: the weights agree to 1e-5 relative
close() {
	local r
	r=$(maxrel "$2" "$3")
	if awk -v r="$r" 'BEGIN { exit !(r <= 1e-5) }'; then echo "ok $1 ($r)"
	else echo "FAIL $1: weights differ by $r of their scale"; _fails=$((_fails + 1)); fi
}
# mismatches A B: the metric values of the step lines of A and B that differ by more than
# 1e-5 relative (1e-6 absolute near zero), one line each; the clocks are left out.
mismatches() {
	jq -s -r --slurpfile b "$2" 'if length != ($b | length) then "steps: \(length) against \($b | length)" else
		[., $b] | transpose[] | . as [$x, $y]
		| [$x | paths(numbers)][] | select(.[0] | IN("tokens_per_s", "step_s", "cpu_s", "comm_s", "ranks") | not)
		| . as $p | ($x | getpath($p)) as $u | ($y | getpath($p)) as $v
		| select($v == null or (($u - $v) | fabs) > 1e-5 * ([($u | fabs), ($v | fabs)] | max) + 1e-6)
		| "step \($x.step) \($p | join(".")): \($u) against \($v)" end' "$1"
}

# A model, a reference that is another model (so that no reward starts at an exact tie:
# a tie is decided by the last bit of a sum, which the order of the sums changes), padded
# batches of 4 pairs in two goals, and padding-free batches that rad-pack fills first-fit,
# sequences of one pair in different rows.
rad-init --vocab 64 --layers 2 --heads 2 --dim 16 --context 32 --seed 1 -o "$T/init"
rad-init --vocab 64 --layers 2 --heads 2 --dim 16 --context 32 --seed 2 -o "$T/ref"
awk -v seed=5 -v n=8 -v pairs=4 -v vocab=64 -v plen=4 -v clen=3 -f "$TOP/tests/tools/gen_batches.awk" | rad-dump --encode > "$T/pad"
awk 'BEGIN { srand(9); print "{\"type\":\"HEAD\",\"kind\":\"pairs\",\"version\":1,\"fingerprint\":\"toy\",\"meta\":{}}"
	for (i = 0; i < 24; i++) {
		p = "["; n = 3 + int(rand() * 6); for (j = 0; j < n; j++) p = p (j ? "," : "") int(rand() * 64); p = p "]"
		c = "["; n = 2 + int(rand() * 6); for (j = 0; j < n; j++) c = c (j ? "," : "") 2 * int(rand() * 32); c = c "]"
		r = "["; n = 2 + int(rand() * 6); for (j = 0; j < n; j++) r = r (j ? "," : "") 2 * int(rand() * 32) + 1; r = r "]"
		printf "{\"type\":\"PAIR\",\"id\":\"q%d\",\"source_id\":\"q%d\",\"half\":\"\",\"goal\":\"g%d\",\"score_chosen\":8,\"score_rejected\":4,\"prompt\":%s,\"chosen\":%s,\"rejected\":%s}\n", i, i, i % 3, p, c, r
	} }' | rad-dump --encode > "$T/pairs"
rad-pack -t 32 --pairs 5 --epochs 2 "$T/pairs" -o "$T/free"
same "padding-free batches mix pairs across rows" "$(rad-dump "$T/free" | jq -c '[.seq_row as $r | range(0; .seq_pair | length; 2) | $r[.] != $r[. + 1]] | any' | sort -u | xargs)" "true"
for b in pad free; do rad-logps -m "$T/ref" "$T/$b" -o "$T/$b.ref"; done

# rad-logps and rad-eval's batch modes: the ranks take the batches in turn and rank 0 writes
# them in input order, the same bytes as one process; standard input reaches rank 0.
"${MPI[@]}" rad-logps -m "$T/ref" "$T/pad" "$T/free" -o "$T/both.2"
rad-logps -m "$T/ref" "$T/pad" "$T/free" -o "$T/both.1"
ok_if "logps: 2 ranks, one process's bytes" cmp "$T/both.1" "$T/both.2"
cat "$T/free" "$T/pad" | mpirun -np 3 --oversubscribe rad-logps -m "$T/ref" > "$T/both.3"
ok_if "logps: 3 ranks from standard input, one process's bytes" cmp "$T/both.3" <(cat "$T/free" "$T/pad" | rad-logps -m "$T/ref")
for m in "prefs -m $T/init --beta 0.2" "likelihood -m $T/init -m $T/ref" "likelihood -m $T/init --where score_rejected>=4"; do
	rad-eval $m "$T/free.ref" "$T/pad.ref" > "$T/e1"
	"${MPI[@]}" rad-eval $m "$T/free.ref" "$T/pad.ref" > "$T/e2"
	ok_if "eval ${m%% *}: 2 ranks, one process's bytes" cmp "$T/e1" "$T/e2"
done
same "eval: the report counts every batch" "$(jq .batches "$T/e2")" 18
status_is 2 "eval generate refuses mpirun" "${MPI[@]}" rad-eval generate -m "$T/init" "$T/e1"

one() { rad-train-step -m "$T/init" --threads 1 --lr 1e-3 --no-ref-check "$@"; }
two() { "${MPI[@]}" rad-train-step -m "$T/init" --threads 1 --lr 1e-3 --no-ref-check "$@"; }
# case NAME ARGS...: one process and 2 ranks, and 2 ranks with the optimizer sharded
case_of() {
	local name=$1; shift
	one -o "$T/$name.1" "$@" > "$T/$name.1.log" 2> "$T/$name.1.err"
	two -o "$T/$name.2" "$@" > "$T/$name.2.log"
	two -o "$T/$name.2z" --shard-optimizer --verbose "$@" > "$T/$name.2z.log" 2> "$T/$name.2z.err"
	same "$name: 2 ranks, each step's metrics" "$(mismatches "$T/$name.1.log" "$T/$name.2.log")" ""
	close "$name: 2 ranks, the weights" "$T/$name.1/model.safetensors" "$T/$name.2/model.safetensors"
	close "$name: 2 ranks, AdamW's moments" "$T/$name.1/optimizer.safetensors" "$T/$name.2/optimizer.safetensors"
	same "$name: sharded, each step's metrics" "$(mismatches "$T/$name.1.log" "$T/$name.2z.log")" ""
	# for R = 2 the slices' sums are the all-reduce's: the same bits
	ok_if "$name: sharded, the same weights as unsharded" cmp "$T/$name.2/model.safetensors" "$T/$name.2z/model.safetensors"
	ok_if "$name: sharded, the same moments as unsharded" cmp "$T/$name.2/optimizer.safetensors" "$T/$name.2z/optimizer.safetensors"
}
case_of dpo-padded "$T/pad.ref" --grad-accum 3 --schedule cosine --total-steps 3 --warmup-steps 1 --weight-decay 0.1
case_of dpo-free "$T/free.ref" --label-smoothing 0.1 --sft-weight 0.5
case_of sft-padded --loss sft "$T/pad"
case_of sft-free --loss sft "$T/free"
# Batches of one pair: on 3 ranks two have no pair of a batch and still take their part in
# the sums (with the optimizer sharded, their slices too).
awk -v seed=6 -v n=4 -v pairs=1 -v vocab=64 -v plen=4 -v clen=3 -f "$TOP/tests/tools/gen_batches.awk" | rad-dump --encode |
	rad-logps -m "$T/ref" -o "$T/one.ref"
for loss in dpo sft; do
	one --loss $loss --no-save "$T/one.ref" > "$T/one.1.log"
	mpirun -np 3 --oversubscribe rad-train-step -m "$T/init" --threads 1 --lr 1e-3 --no-ref-check --loss $loss --no-save --shard-optimizer \
		"$T/one.ref" > "$T/one.3.log"
	same "$loss, pairs on 1 rank of 3: each step's metrics" "$(wc -l < "$T/one.3.log") $(mismatches "$T/one.1.log" "$T/one.3.log")" "4 "
done

# ZeRO-1: a rank keeps the moments of half the weights (the summary line of rank 0)
moments() { grep -o 'AdamW moments [0-9.]* MiB' "$1" | grep -o '[0-9.]*'; }
one -o "$T/full" --verbose --max-steps 1 "$T/pad.ref" > /dev/null 2> "$T/full.err"
same "sharded: half the optimizer's moments per rank" \
	"$(awk -v a="$(moments "$T/full.err")" -v b="$(moments "$T/dpo-padded.2z.err")" 'BEGIN { print (a > 0 && b > 0.49 * a && b < 0.51 * a) ? "half" : a " and " b }')" half
same "dpo: the steps of a whole run" "$(wc -l < "$T/dpo-free.1.log")" 10
same "goals in the metrics" "$(jq -c '.goals | keys' "$T/dpo-free.2.log" | sort -u)" '["g0","g1","g2"]'
same "2 ranks: the metrics say so" "$(jq -c '[.ranks, (.comm_s >= 0)]' "$T/dpo-free.2.log" | sort -u)" '[2,true]'
same "a single process prints nothing on stderr" "$(cat "$T"/*.1.err)" ""
same "a single process: no ranks in the metrics" "$(jq -c 'has("ranks")' "$T/dpo-free.1.log" | sort -u)" false
same "2 ranks: the checkpoint names the same state" "$(jq -c '[.step, .batches, .input]' "$T/dpo-free.2/trainer_state.json")" \
	"$(jq -c '[.step, .batches, .input]' "$T/dpo-free.1/trainer_state.json")"
# the checks above would see a change: a learning rate 1% higher
one -o "$T/lr" "$T/free.ref" --label-smoothing 0.1 --sft-weight 0.5 --lr 1.01e-3 > "$T/lr.log"
same "a 1% other lr is seen in the metrics" "$(mismatches "$T/dpo-free.1.log" "$T/lr.log" | grep -q . && echo seen)" seen
ok_if "a 1% other lr is seen in the weights" awk -v r="$(maxrel "$T/dpo-free.1/model.safetensors" "$T/lr/model.safetensors")" 'BEGIN { exit !(r > 1e-5) }'

# The same rank count, the same bytes; standard input reaches rank 0, which reads for all.
two -o "$T/again" --label-smoothing 0.1 --sft-weight 0.5 < "$T/free.ref" > "$T/again.log"
ok_if "2 ranks again, from standard input: the same weights" cmp "$T/again/model.safetensors" "$T/dpo-free.2/model.safetensors"
same "2 ranks again: the same metrics" "$(jq -c 'del(.tokens_per_s, .step_s, .cpu_s, .comm_s)' "$T/again.log")" \
	"$(jq -c 'del(.tokens_per_s, .step_s, .cpu_s, .comm_s)' "$T/dpo-free.2.log")"

# Resume across rank counts: 5 steps on 2 ranks (sharded) then the rest in one process, and
# the reverse, each give the unbroken run's weights.
two -o "$T/r21" --shard-optimizer --max-steps 5 "$T/free.ref" --label-smoothing 0.1 --sft-weight 0.5 > /dev/null
same "2 ranks: stopped at step 5" "$(jq .step "$T/r21/trainer_state.json")" 5
one -o "$T/r21" --resume "$T/free.ref" --label-smoothing 0.1 --sft-weight 0.5 > /dev/null
close "resumed: 2 ranks then 1, the unbroken run's weights" "$T/dpo-free.1/model.safetensors" "$T/r21/model.safetensors"
one -o "$T/r12" --max-steps 5 "$T/free.ref" --label-smoothing 0.1 --sft-weight 0.5 > /dev/null
two -o "$T/r12" --resume --shard-optimizer "$T/free.ref" --label-smoothing 0.1 --sft-weight 0.5 > "$T/r12.log"
same "resumed on 2 ranks: steps 6 to 10" "$(jq -c .step "$T/r12.log" | xargs)" "6 7 8 9 10"
close "resumed: 1 then 2 ranks, the unbroken run's weights" "$T/dpo-free.1/model.safetensors" "$T/r12/model.safetensors"
close "resumed: 1 then 2 ranks, the unbroken run's moments" "$T/dpo-free.1/optimizer.safetensors" "$T/r12/optimizer.safetensors"

# SIGKILL of one rank ends the job, non-zero, and the last checkpoint is whole: the very
# state after its step (the bytes of a 2-rank run stopped there), and it resumes.  A long
# input, a checkpoint every step.
for i in $(seq 12); do cat "$T/free.ref"; done > "$T/long"
"${MPI[@]}" rad-train-step -m "$T/init" --threads 1 --lr 1e-3 --no-ref-check -o "$T/killed" --save-every 1 "$T/long" \
	> "$T/killed.log" 2> "$T/killed.err" &
mpid=$!   # mpirun itself: the ranks are its children
for i in $(seq 300); do [ -f "$T/killed/trainer_state.json" ] && [ "$(wc -l < "$T/killed.log")" -ge 3 ] && break; sleep 0.05; done
victim=$(pgrep -P "$mpid" | tail -1)   # a rank (by name "exe": rad_omp_passive re-executes it)
if [ -n "$victim" ]; then
	kill -9 "$victim"
	wait "$mpid"; rc=$?
	same "a rank killed: the job ends non-zero" "$([ "$rc" -ne 0 ] && echo yes || echo "no ($rc)")" yes
	k=$(jq .step "$T/killed/trainer_state.json")
	same "a rank killed: the checkpoint is of a step before the end" "$([ "$k" -ge 1 ] && [ "$k" -lt 120 ] && echo yes || echo "no ($k)")" yes
	two -o "$T/upto" --max-steps "$k" "$T/long" > /dev/null
	ok_if "a rank killed: the checkpoint's weights are step $k's" cmp "$T/killed/model.safetensors" "$T/upto/model.safetensors"
	ok_if "a rank killed: the checkpoint's moments are step $k's" cmp "$T/killed/optimizer.safetensors" "$T/upto/optimizer.safetensors"
	one -o "$T/killed" --resume --max-steps $((k + 2)) "$T/long" > "$T/resumed.log"
	same "a rank killed: the checkpoint resumes" "$(jq -c .step "$T/resumed.log" | xargs)" "$((k + 1)) $((k + 2))"
else
	wait "$mpid"
	echo "FAIL a rank killed: no rank was found to kill (the job ended: $(tail -c 300 "$T/killed.err"))"; _fails=$((_fails + 1))
fi

# Errors: a token outside the vocabulary in a part of rank 1 stops the job, named.
rad-init --vocab 40 --layers 1 --heads 2 --dim 16 --context 32 --seed 1 -o "$T/small"
"${MPI[@]}" rad-train-step -m "$T/small" --threads 1 --no-ref-check -o "$T/bad" "$T/pad.ref" > /dev/null 2> "$T/bad.err"; rc=$?
same "a bad batch: the job ends with status 1" "$rc" 1
same "a bad batch: the message names the record" "$(grep -c "pad.ref: record 1: sequence .*outside the vocabulary" "$T/bad.err" | awk '{ print ($1 > 0) }')" 1
ok_if "a bad batch: no checkpoint" test ! -e "$T/bad/model.safetensors"
"${MPI[@]}" rad-train-step -m "$T/init" --threads 1 -o "$T/noref" "$T/pad" > /dev/null 2> "$T/noref.err"; rc=$?
same "no reference log-probs: status 1, said once" "$rc $(grep -c 'no reference log-probs' "$T/noref.err")" "1 1"

# pipelines/ra-dpo --ranks 2: the model stages under mpirun give one process's log-probs and
# evaluation bytes and its training to 1e-5; the ranks are no part of a stage's recipe.
R=$TOP/build/opt/pipelines/demo/reversal
if [ "${RAD_CONFIG:-}" = san ]; then
	skip "ra-dpo --ranks 2" "the pipeline runs the optimised tools of bin/ (once, in the opt run)"
elif [ -x "$R" ]; then
	TOK=$TOP/pipelines/demo/tokenizer.json
	"$R" prefs -n 24 --seed 3 > "$T/train.jsonl"
	"$R" prefs --split test -n 8 --seed 3 > "$T/test.jsonl"
	rad-init --tokenizer "$TOK" --layers 1 --heads 2 --dim 16 --context 512 -o "$T/m" > /dev/null
	ra() { "$TOP/pipelines/ra-dpo" -i "$T/train.jsonl" --test "$T/test.jsonl" -m "$T/m" -t "$TOK" --batch 4 --max-length 384 \
		--max-prompt-length 256 --lr 1e-3 --beta 0.1 --eval-goal "" --eval-prompts 2 --max-new-tokens 4 "$@"; }
	ra -w "$T/w1" > /dev/null
	ok_if "ra-dpo --ranks 2: a whole run" ra -w "$T/w2" --ranks 2
	for f in ref.rad test.ref; do
		ok_if "ra-dpo --ranks 2: $f, one process's bytes" cmp "$T/w1/$f" "$T/w2/$f"
	done
	close "ra-dpo --ranks 2: the model" "$T/w1/model/model.safetensors" "$T/w2/model/model.safetensors"
	# the losses only: the pipeline's reference is the start, so every reward starts at a tie
	same "ra-dpo --ranks 2: the losses" "$(mismatches <(jq -c '{step, loss}' "$T/w1/model/metrics.jsonl") \
		<(jq -c '{step, loss}' "$T/w2/model/metrics.jsonl"))" ""
	same "ra-dpo --ranks 2: an evaluation made" "$(jq -c '[.mode, .pairs]' "$T/w2/eval/prefs.json")" "$(jq -c '[.mode, .pairs]' "$T/w1/eval/prefs.json")"
	n=$(wc -l < "$T/w2/times.tsv")
	ra -w "$T/w2" > /dev/null
	same "ra-dpo: a rerun without --ranks redoes nothing" "$(wc -l < "$T/w2/times.tsv")" "$n"
	status_is 2 "ra-dpo: --ranks 0 refused" ra -w "$T/w3" --ranks 0
else
	skip "ra-dpo --ranks 2" "build/opt/pipelines/demo/reversal not built (make all)"
fi
exit 0
