#!/usr/bin/env bash
# pipelines/ra-dpo end to end on a few demo pairs and a tiny model: every output is made,
# a rerun redoes nothing, a changed input or option redoes what depends on it and the
# report follows, a killed training resumes with its metrics whole, a held lock and a
# read-only work directory are refused.
. "$(dirname "$0")/lib.sh"
R=$TOP/build/opt/pipelines/demo/reversal
command -v jq >/dev/null || { skip ra-dpo "jq is not installed"; exit 0; }
[ -x "$R" ] || { skip ra-dpo "build/opt/pipelines/demo/reversal not built (make all)"; exit 0; }
export OMP_WAIT_POLICY=PASSIVE
TOK=$TOP/pipelines/demo/tokenizer.json
cd "$T"
"$R" prefs -n 40 --seed 2 >train.jsonl
"$R" prefs --split test -n 16 --seed 2 >test.jsonl
rad-init --tokenizer "$TOK" --layers 1 --heads 2 --dim 16 --context 512 -o m >/dev/null
run() {
	"$TOP/pipelines/ra-dpo" -w work -i train.jsonl --test test.jsonl -m m -t "$TOK" --batch 4 \
		--max-length 384 --max-prompt-length 256 --lr 1e-3 --beta 0.1 --eval-prompts 4 --max-new-tokens 12 \
		--judge "$R judge" "$@"
}
ok_if "ra-dpo: a whole run" run
for f in pairs.jsonl relabeled.jsonl pairs.rad batches.rad ref.rad model/model.safetensors \
	model/metrics.jsonl eval/prefs.json eval/likelihood.json eval/generated.jsonl eval/judged.jsonl \
	eval/summary.json report.json; do
	ok_if "ra-dpo: made $f" test -s "work/$f"
done
same "ra-dpo: relabeled 2N pairs" "$(wc -l <work/relabeled.jsonl)" "$((2 * $(wc -l <work/pairs.jsonl)))"
same "ra-dpo: the report has the steps" "$(jq .train.steps work/report.json)" "$(jq .steps work/batches.plan.json)"
same "ra-dpo: every generated answer judged" "$(jq -s 'map(select(.score >= 1 and .score <= 10)) | length' work/eval/judged.jsonl)" 4
n=$(wc -l <work/times.tsv)
ok_if "ra-dpo: a rerun" run
same "ra-dpo: a rerun redoes nothing" "$(wc -l <work/times.tsv)" "$n"
touch -d '+2 seconds' work/batches.rad
ok_if "ra-dpo: rerun after batches changed" run
same "ra-dpo: redoes ref and what follows" "$(tail -n +$((n + 1)) work/times.tsv | cut -f1 | tr '\n' ' ')" "ref.rad model eval/prefs.json eval/likelihood.json eval/generated.jsonl eval/judged.jsonl eval/summary.json "
# Stages are keyed by their options as well as their inputs: another --lr remakes the model
# and the evaluation, not the data, and the report says what the model was trained with.
# The training is killed between two checkpoints: the rerun resumes it with the same
# options, and its metrics hold each step once (the killed run had logged steps its last
# checkpoint does not hold).
redone() { tail -n +$(($1 + 1)) work/times.tsv | cut -f1 | tr '\n' ' '; }
n=$(wc -l <work/times.tsv)
run --lr 2e-3 --save-every 1 >/dev/null 2>&1 &
rpid=$!
killed=""
for i in $(seq 1 400); do
	s=$(jq .step work/model.tmp/trainer_state.json 2>/dev/null)
	if [ -n "$s" ] && [ "$s" -ge 2 ]; then
		tpid=$(sed -n 's/^rad-train-step lock, pid \([0-9]*\)$/\1/p' work/model.tmp.lock 2>/dev/null)
		[ -n "$tpid" ] && kill -9 "$tpid" 2>/dev/null && killed=$s
		break
	fi
	kill -0 "$rpid" 2>/dev/null || break
	sleep 0.05
done
wait "$rpid"
ok_if "ra-dpo: rerun with another --lr (after a killed training)" run --lr 2e-3 --save-every 1
same "ra-dpo: another --lr redoes the model and the evaluation only" "$(redone "$n")" \
	"model eval/prefs.json eval/likelihood.json eval/generated.jsonl eval/judged.jsonl eval/summary.json "
same "ra-dpo: the report's lr is the one the model was trained with" \
	"$(jq -c '[.lr, .train.options.lr, (.stages.model.vars.train_opts | .[index("--lr") + 1])]' work/report.json)" '[0.002,0.002,"2e-3"]'
if [ -n "$killed" ]; then
	same "ra-dpo: killed at step $killed and resumed: metrics hold each step once" \
		"$(jq -c .step work/model/metrics.jsonl | tr '\n' ' ')" "$(seq 1 "$(jq .steps work/batches.plan.json)" | tr '\n' ' ')"
else
	skip "ra-dpo: killed and resumed" "the training ended before it could be killed"
fi

# Another model (same weights, older files) and another --mode: what depends on them is
# remade, what does not is kept, and the report names them.
cp -r m m2 && touch -d '-1 day' m2 m2/*
n=$(wc -l <work/times.tsv)
ok_if "ra-dpo: rerun with another -m and --mode" run --lr 2e-3 --save-every 1 -m m2 --mode pos
same "ra-dpo: another -m and --mode redo what depends on them" "$(redone "$n")" \
	"relabeled.jsonl pairs.rad batches.rad ref.rad model test.ref eval/prefs.json eval/likelihood.json eval/generated.jsonl eval/judged.jsonl eval/summary.json "
same "ra-dpo: the report names them" "$(jq -c '[.model, .mode]' work/report.json)" "[\"$T/m2\",\"pos\"]"

( exec 9>work/.lock; flock 9; sleep 3 ) &
sleep 0.5
status_is 1 "ra-dpo: a second run on a locked work directory stops" run
wait
status_is 2 "ra-dpo: -w, -i, -m needed" "$TOP/pipelines/ra-dpo" -w work
status_is 2 "ra-dpo: unknown option" "$TOP/pipelines/ra-dpo" --frobnicate 1
# a read-only work directory: said so as ra-dpo, not as a shell error
if unshare -rm true 2>/dev/null; then
	mkdir -p ro
	unshare -rm bash -c 'mount -t tmpfs tmpfs ro && mkdir ro/w && mount -o remount,ro ro && "$@"' _ \
		"$TOP/pipelines/ra-dpo" -w ro/w -i train.jsonl -m m -t "$TOK" >ro.out 2>ro.err
	same "ra-dpo: a read-only work directory, exit 1" "$?" 1
	same "ra-dpo: it says so" "$(cat ro.err)" "ra-dpo: ro/w: the work directory is not writable: Read-only file system"
else
	skip "ra-dpo: a read-only work directory" "mounting a tmpfs (unshare -rm) is not allowed here"
fi
