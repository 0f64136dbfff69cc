#!/usr/bin/env bash
# pipelines/ra-dpo end to end on a few demo pairs and a tiny model: every output is made,
# a rerun redoes nothing, a changed input redoes what depends on it, a held lock refuses.
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
( exec 9>work/.lock; flock 9; sleep 3 ) &
sleep 0.5
status_is 1 "ra-dpo: a second run on a locked work directory stops" run
wait
status_is 2 "ra-dpo: -w, -i, -m needed" "$TOP/pipelines/ra-dpo" -w work
status_is 2 "ra-dpo: unknown option" "$TOP/pipelines/ra-dpo" --frobnicate 1
