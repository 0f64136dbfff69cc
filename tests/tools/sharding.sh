#!/usr/bin/env bash
# Sharding with GNU Parallel (pipelines/lib.sh): every sharded stage gives the same bytes as
# the unsharded one, with 2 jobs and blocks small enough to make several shards.
. "$(dirname "$0")/lib.sh"
if ! command -v parallel >/dev/null; then skip sharding "GNU Parallel is not installed"; exit 0; fi
R=$TOP/build/opt/pipelines/demo/reversal
if [ ! -x "$R" ]; then skip sharding "build/opt/pipelines/demo/reversal not built (make all)"; exit 0; fi
RAD_PIPELINE=sharding-test
. "$TOP/pipelines/lib.sh"
export OMP_WAIT_POLICY=PASSIVE
n=160
[ "${RAD_CONFIG:-}" = san ] && n=80
TOK=$TOP/pipelines/demo/tokenizer.json
cd "$T"
printf 'Overall score: {score}.' >goal.txt
"$R" prefs -n $n --seed 3 >ubf.jsonl

# --- JSONL stages: parallel --pipe --keep-order ---------------------------------------------
export RAD_JOBS=2 RAD_BLOCK=6k
rad-score-normalize ubf.jsonl >whole.jsonl
shard_jsonl rad-score-normalize <ubf.jsonl >sharded.jsonl
ok_if "rad-score-normalize: 2 jobs, same bytes" cmp whole.jsonl sharded.jsonl
for mode in ra half dup; do
	rad-relabel --mode $mode --seed 7 --template goal.txt whole.jsonl >r-whole.jsonl
	shard_jsonl rad-relabel --mode $mode --seed 7 --template goal.txt <whole.jsonl >r-sharded.jsonl
	ok_if "rad-relabel --mode $mode: 2 jobs, same bytes" cmp r-whole.jsonl r-sharded.jsonl
done
blocks=$(parallel --will-cite --pipe --block 4k wc -l <whole.jsonl | wc -l)
ok_if "the input made several shards ($blocks)" test "$blocks" -ge 3

# --- rad-tokenize over shards: a concatenation of streams is one stream --------------------------
rad-relabel --mode ra --template goal.txt whole.jsonl >ra.jsonl
rad-tokenize -t "$TOK" ra.jsonl >whole.rad
shard_tokenize -t "$TOK" <ra.jsonl >sharded.rad
same "rad-tokenize: 2 jobs, the same records" "$(rad-dump sharded.rad | md5sum)" "$(rad-dump whole.rad | md5sum)"
rad-pack -p 16 -t 256 --full-shuffle --seed 1 whole.rad -o whole.btch
rad-pack -p 16 -t 256 --full-shuffle --seed 1 sharded.rad -o sharded.btch
ok_if "rad-tokenize: 2 jobs, then rad-pack: same bytes" cmp whole.btch sharded.btch

# --- rad-logps over shards of batches --------------------------------------------------------------
rad-init --tokenizer "$TOK" --layers 1 --heads 2 --dim 16 --context 128 --seed 2 -o m >/dev/null
rad-logps -m m --threads 1 whole.btch >whole.ref
RAD_BLOCK=40k shard_batches rad-logps -m m --threads 1 <whole.btch >sharded.ref
ok_if "rad-logps: 2 jobs, same bytes" cmp whole.ref sharded.ref
same "rad-logps: every batch came back" "$(rad-dump sharded.ref | wc -l)" "$(rad-dump whole.btch | wc -l)"

# --- rad-eval generate over shards of prompts --------------------------------------------------------
rad-relabel --goal 10 --template goal.txt whole.jsonl | head -n 40 >prompts.jsonl
gen() { rad-eval generate -m m --tokenizer "$TOK" --max-new-tokens 8 --seed 5 --threads 1 "$@"; }
gen prompts.jsonl >whole.gen
RAD_BLOCK=1k shard_jsonl rad-eval generate -m m --tokenizer "$TOK" --max-new-tokens 8 --seed 5 --threads 1 <prompts.jsonl >sharded.gen
ok_if "rad-eval generate: 2 jobs, same bytes" cmp whole.gen sharded.gen
same "rad-eval generate: one response per prompt" "$(wc -l <sharded.gen)" 40

# --- a failing shard fails the whole run -------------------------------------------------------------
printf '{"broken": \n' >>ubf.jsonl
status_is 1 "a shard's failure is the run's failure" bash -c '. "$0"; shard_jsonl rad-score-normalize <ubf.jsonl >/dev/null' "$TOP/pipelines/lib.sh"
