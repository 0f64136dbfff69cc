# pipelines/demo/sections.sh — the demo's work for one seed, section by section; sourced
# by pipelines/demo/run and pipelines/demo/sweep after pipelines/lib.sh.
#
# Each section is a function that runs in the seed's directory and makes its outputs with
# `stage` (pipelines/lib.sh), so a rerun redoes only what is missing or stale.  The caller
# sets $seed, REV (the task program), TOK (the tokenizer) and THREADS, and sources the
# settings (pipelines/demo/settings.sh).  A new part of the experiment is a new section here, called from
# run_seed in pipelines/demo/run, with its own part of the table (pipelines/demo/table).
#
#   demo_data     prompts, teacher answers, SFT examples, each method's pairs (also as
#                 tokens), held-out prompts without a goal and with each goal
#   demo_base     the SFT base
#   demo_methods  DPO, DPO-dup, DPO-goal10, RA-DPO from the base, early and end
#   demo_eval     judged generations, controllability rows, likelihood by score band
#   demo_online   (ONLINE=1) DPO and RA-DPO on on-policy pairs (pipelines/ra-dpo-online)
#                 from the base, judged on the held-out prompts without a goal and with 10

METHODS="dpo dup goal10 ra"
GOALS="1 2 3 4 5 6 7 8 9 10"
# Rejected answers by judge score, for the unlearning measurement: the paper's claim is
# about good rejected answers (>= 8); the other two bands show whether a change is
# specific to them.
BANDS="hi mid lo"
band_filter() {
	case $1 in
	hi) echo 'select(.score_rejected >= 8)' ;;
	mid) echo 'select(.score_rejected >= 5 and .score_rejected <= 7)' ;;
	lo) echo 'select(.score_rejected <= 4)' ;;
	esac
}

pack() { rad-pack -p "$BATCH" -t "$ROW" --full-shuffle --seed "$seed" "$@"; }
tokenize() { shard_tokenize -t "$TOK" "$@"; }

demo_data() {
	# The goal line, short: byte tokens make the paper's 200-byte preamble longer than
	# everything else in a prompt, and the model is tiny.  The exact preamble is the
	# default of rad-relabel (pipelines/ra-dpo uses it).  The demo's tokenizer makes "10"
	# one token, so every goal puts the answer at the same positions (the model's
	# positions are absolute).
	[ -e goal.txt ] || printf 'Overall score: {score}.' >goal.txt
	stage train.ubf.jsonl "$REV" -- '"$REV" prefs --split train -n $TRAIN_PROMPTS --seed $seed --verbose -o "$tmp" 2>prefs.log'
	# held-out prompts: every one of them (the test split is not made into pairs)
	stage test.ubf.jsonl "$REV" -- '"$REV" sft --split test -n $TEST_PROMPTS --seed $seed -o "$tmp"'
	stage train.jsonl train.ubf.jsonl -- 'rad-score-normalize train.ubf.jsonl -o "$tmp"'
	stage test.jsonl test.ubf.jsonl -- 'rad-score-normalize test.ubf.jsonl -o "$tmp"'
	# SFT: fresh examples, one pass.  The goal-bearing share covers every score 1..10
	# equally often (the teacher writes an answer of the score drawn), so the base learns
	# what each goal means; the rest carry no goal and follow the teacher's own scores.
	stage sft.jsonl "$REV" goal.txt -- '{
		"$REV" sft --split sft -n $SFT_EXAMPLES --seed $seed --goal-share $SFT_GOAL_SHARE --part goal --goal-scores uniform \
			| rad-score-normalize | rad-relabel --mode pos --template goal.txt
		"$REV" sft --split sft -n $SFT_EXAMPLES --seed $seed --goal-share $SFT_GOAL_SHARE --part plain \
			| rad-score-normalize | rad-relabel --mode none; } >"$tmp"'
	stage pairs-dpo.jsonl train.jsonl -- 'rad-relabel --mode none train.jsonl -o "$tmp"'
	stage pairs-dup.jsonl train.jsonl -- 'rad-relabel --mode dup train.jsonl -o "$tmp"'
	stage pairs-goal10.jsonl train.jsonl goal.txt -- 'rad-relabel --goal 10 --template goal.txt train.jsonl -o "$tmp"'
	stage pairs-ra.jsonl train.jsonl goal.txt -- 'rad-relabel --mode ra --template goal.txt train.jsonl -o "$tmp"'
	local m
	for m in $METHODS; do
		stage pairs-$m.rad pairs-$m.jsonl -- 'tokenize <pairs-$m.jsonl >"$tmp"'
	done
	# held-out prompts: no goal, and each goal 1..10
	stage prompts-none.jsonl test.jsonl -- 'rad-relabel --mode none test.jsonl -o "$tmp"'
	local g
	for g in $GOALS; do
		stage prompts-g$g.jsonl test.jsonl goal.txt -- 'rad-relabel --goal $g --template goal.txt test.jsonl -o "$tmp"'
	done
}

demo_base() {
	stage sft.btch sft.jsonl -- 'tokenize <sft.jsonl | pack --epochs $SFT_EPOCHS -o "$tmp"'
	stage init "$TOK" -- 'rad-init --tokenizer "$TOK" --arch $ARCH --layers 2 --heads 4 --dim 64 --context 128 --seed $seed -o "$tmp"'
	stage sft sft.btch init -- 'train init sft.btch --loss sft --lr $SFT_LR --schedule cosine --warmup-steps 30'
}

demo_methods() {
	local m early
	for m in $METHODS; do
		stage $m.btch pairs-$m.rad -- 'pack --epochs $EPOCHS pairs-$m.rad -o "$tmp"'
	done
	# One DPO epoch's steps: the "early" checkpoint of every method.
	early=$(rad-pack -p "$BATCH" -t "$ROW" --dry-run pairs-dpo.rad | jq .steps)
	for m in $METHODS; do
		stage $m.ref $m.btch sft -- 'shard_batches rad-logps -m sft --threads $THREADS <$m.btch >"$tmp"'
		stage $m-early $m.ref -- 'train sft $m.ref --max-steps $early'
		stage $m $m-early -- '{ [ -d "$tmp" ] || { cp -a $m-early "$tmp" && cp $m-early/metrics.jsonl $m.metrics.jsonl; }; } && train sft $m.ref'
	done
}

# Judged generations are eval/CHECKPOINT-PROMPTS-tT.jsonl: PROMPTS none (no goal) or gG
# (goal G), T the temperature (1, or 0 for greedy).
demo_eval() {
	mkdir -p eval
	local ck t p g m b
	# Judge scores at temperature 1 and greedy: the base without a goal and asked for 10,
	# the methods as they are meant to be used (goal-trained ones asked for 10).
	for ck in sft dpo-early dpo dup-early dup goal10-early goal10 ra-early ra; do
		case $ck in goal10*|ra*) p=g10 ;; *) p=none ;; esac
		for t in 1 0; do
			judged $ck $p $t
			[ $ck = sft ] && judged sft g10 $t
		done
	done
	# Controllability: each goal asked, the base and the two goal-trained models.
	for ck in sft goal10 ra; do
		for g in $GOALS; do judged $ck g$g 1; done
	done
	# Unlearning: the training pairs of each score band of the rejected answer, in each
	# method's evaluation format (no goal, or goal 10), in order, one epoch.
	for b in $BANDS; do
		stage lik-none-$b.btch pairs-dpo.jsonl -- 'jq -c "$(band_filter $b)" pairs-dpo.jsonl | tokenize | rad-pack -p 64 -t 1024 -o "$tmp"'
		stage lik-g10-$b.btch pairs-goal10.jsonl -- 'jq -c "$(band_filter $b)" pairs-goal10.jsonl | tokenize | rad-pack -p 64 -t 1024 -o "$tmp"'
		for m in $METHODS; do
			case $m in goal10|ra) p=lik-g10-$b.btch ;; *) p=lik-none-$b.btch ;; esac
			stage eval/lik-$m-$b.json $m $p -- 'rad-eval likelihood -m sft -m $m --threads $THREADS $p -o "$tmp"'
		done
	done
}

# On-policy pairs: the SFT base answers the first ONLINE_PROMPTS training prompts K times,
# the program judge scores the answers, the best and the worst of each prompt make a pair
# (ties counted and dropped); DPO (--mode none) and RA-DPO (--mode ra, the judge's scores
# as goals) train on them with the offline methods' settings (beta, lr, batch, epochs; a
# constant lr, no warm-up), each in its own pipelines/ra-dpo-online work directory, whose
# first round's samples are the same (same base, seed and prompts).  The final models are
# on-dpo and on-ra, judged on the held-out prompts like the offline methods.
demo_online() {
	local m mode
	stage online-prompts.jsonl train.jsonl -- 'head -n $ONLINE_PROMPTS train.jsonl >"$tmp"'
	for m in dpo ra; do
		case $m in dpo) mode=none ;; *) mode=ra ;; esac
		"$TOP/pipelines/ra-dpo-online" -w online-$m -i online-prompts.jsonl -m sft -t "$TOK" --judge "$REV judge" \
			--rounds $ONLINE_ROUNDS -K $ONLINE_K --mode $mode --goal-template goal.txt --beta $BETA --lr $LR \
			--schedule constant --warmup-ratio 0 \
			--batch $BATCH --row-tokens $ROW --epochs $EPOCHS --seed $seed --threads $THREADS --max-new-tokens 20 \
			--gen-batch $GEN_BATCH || rad_fail "seed $seed: pipelines/ra-dpo-online --mode $mode failed"
		ln -sfn online-$m/round-$ONLINE_ROUNDS/model on-$m
	done
	for m in on-dpo on-ra; do
		judged $m none 1
		judged $m g10 1
	done
}

# judged CHECKPOINT PROMPTS T: the stage eval/CHECKPOINT-PROMPTS-tT.jsonl.
# (The command string is evaluated inside stage, so it names locals, not $1..$3.)
judged() {
	local c=$1 p=$2 t=$3
	stage eval/$c-$p-t$t.jsonl $c prompts-$p.jsonl -- 'generate $c $t prompts-$p.jsonl | judge >"$tmp"'
}

# train FROM BATCHES ARG...: rad-train-step into $tmp, resuming what a killed run left
# there.  The metrics of every step are appended to OUT.metrics.jsonl beside it (the
# trainer replaces its checkpoint directory whole at each save) and copied into the
# checkpoint at the end.
train() {
	local from=$1 batches=$2 log=${tmp%.tmp}.metrics.jsonl
	shift 2
	[ -d "$tmp" ] || : >"$log"
	mkdir -p "$tmp"
	rad-train-step -m "$from" -o "$tmp" --resume --beta "$BETA" --lr "$LR" --seed "$seed" \
		--threads "$THREADS" "$@" "$batches" >>"$log"
	cp "$log" "$tmp/metrics.jsonl"
}
# generate CHECKPOINT TEMPERATURE PROMPTS: one response per prompt, sharded over RAD_JOBS.
generate() {
	shard_jsonl rad-eval generate -m "$1" --tokenizer "$TOK" --temperature "$2" --max-new-tokens 20 \
		--batch-size "$GEN_BATCH" --seed "$seed" --threads "$THREADS" <"$3"
}
judge() { rad-eval judge --judge "$REV judge"; }
