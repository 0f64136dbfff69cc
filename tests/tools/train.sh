#!/usr/bin/env bash
# train.sh — rad-init, rad-logps, rad-train-step end to end on a toy model and toy batches:
# SFT -> rad-logps -> DPO through pipes, reference checks, resume after SIGKILL, usage.
. "$(dirname "$0")/lib.sh"

gen() {   # seed n
	awk -v seed="$1" -v n="$2" -v pairs=2 -v vocab=64 -f "$TOP/tests/tools/gen_batches.awk" | rad-dump --encode
}
gen 2 4 > "$T/b4"
for i in 1 2 3 4 5 6 7 8; do cat "$T/b4"; done > "$T/b32"
gen 3 40 > "$T/b40"

ok_if "init" rad-init --vocab 64 --layers 2 --heads 2 --dim 16 --context 32 --seed 1 -o "$T/init"
same "init config" "$(jq -c '[.model_type, .n_layer, .n_head, .n_embd, .n_positions, .vocab_size, .architectures[0]]' "$T/init/config.json")" \
	'["gpt2",2,2,16,32,64,"GPT2LMHeadModel"]'
rad-init --vocab 64 --layers 2 --heads 2 --dim 16 --context 32 --seed 1 -o "$T/init2"
ok_if "init is deterministic" cmp "$T/init/model.safetensors" "$T/init2/model.safetensors"
rad-init --vocab 64 --layers 2 --heads 2 --dim 16 --context 32 --seed 2 -o "$T/init3"
status_is 1 "another seed, other weights" cmp -s "$T/init/model.safetensors" "$T/init3/model.safetensors"
rad-init --vocab 64 --layers 1 --heads 2 --dim 16 --context 32 --dtype bf16 -o "$T/initbf"
same "init --dtype bf16: config.json says bfloat16" "$(jq -r .torch_dtype "$T/initbf/config.json")" bfloat16
same "init --dtype bf16: the tensors are BF16" "$(head -c 400 "$T/initbf/model.safetensors" | grep -c '"dtype":"BF16"')" 1
# bf16 on disk: the fp32 model's values rounded (drawn a chunk at a time, never held in
# fp32): three fingerprints agree — rad-init's own, the bf16 file's, and the fp32 file's
# with its matrices held in bf16 (GPT-2: its Conv1D tensors are stored transposed)
fpr() { rad-logps "$@" "$T/b4" | rad-dump --header | head -1 | jq -r .meta.ref_model; }
vfp=$(rad-init --vocab 64 --layers 2 --heads 2 --dim 16 --context 32 --seed 1 --dtype bf16 --verbose -o "$T/initbf2" 2>&1 |
	grep -o 'fingerprint [0-9a-f]*' | cut -d' ' -f2)
same "init --dtype bf16: the fp32 model's values, rounded" "$(fpr -m "$T/initbf2") $(fpr -m "$T/init" --base-dtype bf16)" "$vfp $vfp"
status_is 1 "init --dtype bf16: not the fp32 model itself" test "$(fpr -m "$T/init")" = "$vfp"
same "init: fp32 says float32" "$(jq -r .torch_dtype "$T/init/config.json")" float32
status_is 2 "init: --dim not a multiple of --heads" rad-init --vocab 64 --heads 3 --dim 16 -o "$T/x"
status_is 2 "init: no vocabulary" rad-init -o "$T/x"
echo '{"a": "b"}' > "$T/notok.json"
status_is 1 "init: a tokenizer without ids" rad-init --tokenizer "$T/notok.json" -o "$T/x"
if [ -n "$SHARED" ] && [ -f "$SHARED/tokenizers/gpt2/encoder.json" ]; then
	rad-init --tokenizer "$SHARED/tokenizers/gpt2/encoder.json" --layers 1 --heads 1 --dim 8 --context 8 -o "$T/g2"
	same "init: vocabulary from encoder.json" "$(jq .vocab_size "$T/g2/config.json")" 50257
	ok_if "init: tokenizer files copied" test -f "$T/g2/encoder.json" -a -f "$T/g2/vocab.bpe"
else
	skip "init: vocabulary from encoder.json" "no shared data"
fi

# SFT through a pipe: the NLL falls.
cat "$T/b32" | rad-train-step -m "$T/init" -o "$T/sft" --loss sft --lr 3e-3 --threads 1 > "$T/sft.log"
same "sft: one line per step" "$(wc -l < "$T/sft.log")" 32
first=$(head -1 "$T/sft.log" | jq .loss); last=$(tail -1 "$T/sft.log" | jq .loss)
same "sft: first loss near log 64" "$(jq -n "$first - (64|log) | fabs < 0.1")" true
same "sft: loss falls" "$(jq -n "$last < $first - 1")" true
ok_if "sft: checkpoint written" test -f "$T/sft/model.safetensors" -a -f "$T/sft/optimizer.safetensors" -a -f "$T/sft/trainer_state.json"
same "sft: state" "$(jq -c '[.step, .batches, .options.loss]' "$T/sft/trainer_state.json")" '[32,32,"sft"]'

rad-train-step -m "$T/init" -o "$T/sftbf" --loss sft --dtype bf16 "$T/b4" > /dev/null
same "sft --dtype bf16: config.json says bfloat16" "$(jq -r .torch_dtype "$T/sftbf/config.json")" bfloat16

# rad-logps with the SFT model, then DPO from it: step 1 has loss log 2 and zero rewards.
rad-logps -m "$T/sft" < "$T/b4" > "$T/r4"
same "logps: fields added" "$(rad-dump "$T/r4" | jq -c '[(.ref_logp|length), (.ref_ntok|length)]' | sort -u)" '[4,4]'
same "logps: header names the model" "$(rad-dump -H "$T/r4" | head -1 | jq -r '.meta.ref_model|length')" 16
rad-logps -m "$T/sft" --threads 2 < "$T/b4" > "$T/r4b"
rad-logps -m "$T/sft" --threads 2 < "$T/b4" > "$T/r4d"
same "logps: same bytes again" "$(rad-dump "$T/r4b" | md5sum)" "$(rad-dump "$T/r4d" | md5sum)"
rad-logps -m "$T/sft" --threads 1 < "$T/b4" > "$T/r4e"
same "logps: 1 and 2 threads agree to 1e-5" "$(paste <(rad-dump "$T/r4e" | jq -c '.ref_logp[]') <(rad-dump "$T/r4b" | jq -c '.ref_logp[]') | awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > 1e-5 * -$1) bad++ } END { print bad + 0 }')" 0
rad-logps -m "$T/sft" "$T/r4" > "$T/r4c"
same "logps: rerun replaces the old values" "$(rad-dump "$T/r4c" | md5sum)" "$(rad-dump "$T/r4" | md5sum)"
for i in 1 2 3 4 5 6 7 8; do cat "$T/r4"; done | rad-train-step -m "$T/sft" -o "$T/dpo" --loss dpo --beta 0.5 --lr 3e-3 --threads 1 > "$T/dpo.log"
same "dpo: step 1 at the reference" "$(head -1 "$T/dpo.log" | jq -c '[(.loss - (2|log) | fabs < 1e-9), ."rewards/chosen", ."rewards/rejected", ."rewards/accuracies"]')" '[true,0,0,0]'
same "dpo: TRL metric names" "$(head -1 "$T/dpo.log" | jq -c '[has("rewards/margins"), has("logps/chosen"), has("logps/rejected"), has("grad_norm"), has("learning_rate"), has("tokens_per_s")]')" '[true,true,true,true,true,true]'
same "dpo: per-goal breakdown" "$(head -1 "$T/dpo.log" | jq -c '.goals | keys')" '["goal A","goal B"]'
same "dpo: accuracy 1 at the end" "$(tail -1 "$T/dpo.log" | jq '."rewards/accuracies"')" 1
same "dpo: loss below log 2" "$(tail -1 "$T/dpo.log" | jq '.loss < 0.6')" true

# The whole way with rad-pack: pairs -> packed batches -> SFT; -> rad-logps -> DPO, all pipes.
if command -v rad-pack > /dev/null; then
	awk 'BEGIN { srand(9); print "{\"type\":\"HEAD\",\"kind\":\"pairs\",\"version\":1,\"fingerprint\":\"toy\",\"meta\":{}}"
		for (i = 0; i < 12; i++) {
			p = "["; n = 3 + int(rand() * 4); for (j = 0; j < n; j++) p = p (j ? "," : "") int(rand() * 64); p = p "]"
			c = "["; n = 2 + int(rand() * 4); for (j = 0; j < n; j++) c = c (j ? "," : "") 2 * int(rand() * 32); c = c "]"
			r = "["; n = 2 + int(rand() * 4); for (j = 0; j < n; j++) r = r (j ? "," : "") 2 * int(rand() * 32) + 1; r = r "]"
			printf "{\"type\":\"PAIR\",\"id\":\"q%d\",\"source_id\":\"q%d\",\"half\":\"\",\"goal\":\"\",\"score_chosen\":8,\"score_rejected\":4,\"prompt\":%s,\"chosen\":%s,\"rejected\":%s}\n", i, i, p, c, r
		} }' | rad-dump --encode > "$T/pairs"
	rad-pack -t 64 --pairs 4 --epochs 6 "$T/pairs" | rad-train-step -m "$T/init" -o "$T/psft" --loss sft --lr 3e-3 > "$T/psft.log"
	same "pipeline: sft loss falls" "$(jq -s '.[-1].loss < .[0].loss - 0.5' "$T/psft.log")" true
	rad-pack -t 64 --pairs 4 --epochs 6 "$T/pairs" | rad-logps -m "$T/psft" | rad-train-step -m "$T/psft" -o "$T/pdpo" --lr 3e-3 > "$T/pdpo.log"
	same "pipeline: dpo starts at log 2" "$(jq -s '(.[0].loss - (2|log)) | fabs < 1e-9' "$T/pdpo.log")" true
	same "pipeline: dpo accuracy 1 at the end" "$(jq -s '.[-1]."rewards/accuracies"' "$T/pdpo.log")" 1
else
	skip "pipeline with rad-pack" "rad-pack is not built"
fi

# The reference must match the starting model.
status_is 1 "dpo: reference from another model" rad-train-step -m "$T/init" -o "$T/x" --loss dpo "$T/r4"
last_stderr | grep -q "reference log-probs come from model" && echo "ok dpo: mismatch named" || echo "FAIL dpo: mismatch named: $(last_stderr)"
ok_if "dpo: --ref-model names it" rad-train-step -m "$T/init" -o "$T/x" --loss dpo --ref-model "$T/sft" "$T/r4"
status_is 1 "dpo: no reference log-probs" rad-train-step -m "$T/init" -o "$T/x" --loss dpo "$T/b4"
ok_if "ipo, hinge, rpo run" bash -c "rad-train-step -m '$T/sft' -o '$T/i' --loss ipo '$T/r4' && rad-train-step -m '$T/sft' -o '$T/h' --loss hinge '$T/r4' && rad-train-step -m '$T/sft' -o '$T/p' --sft-weight 1 --label-smoothing 0.3 '$T/r4'"

# Schedules: the length comes from rad-pack's header count when not given.
awk -v seed=2 -v n=4 -v pairs=2 -v vocab=64 -f "$TOP/tests/tools/gen_batches.awk" | sed '1s/"meta":{}/"meta":{"batches":4}/' | rad-dump --encode > "$T/m4"
rad-logps -m "$T/init" "$T/m4" > "$T/m4r"
same "linear schedule over the header's 4 batches" "$(rad-train-step -m "$T/init" -o "$T/x" --no-save --lr 1 --schedule linear "$T/m4r" | jq -c .learning_rate | tr '\n' ' ')" "1 0.75 0.5 0.25 "
same "cosine with warm-up" "$(rad-train-step -m "$T/init" -o "$T/x" --no-save --lr 1 --schedule cosine --warmup-steps 2 --grad-accum 1 "$T/m4r" | jq -c .learning_rate | tr '\n' ' ')" "0 0.5 1 0.5 "
same "accumulation: 2 steps of 2 batches" "$(rad-train-step -m "$T/init" -o "$T/x" --no-save --lr 1 --schedule linear --grad-accum 2 "$T/m4r" | jq -c .learning_rate | tr '\n' ' ')" "1 0.5 "

# Non-finite values stop the run and keep the last good checkpoint.
rad-logps -m "$T/init" < "$T/b40" > "$T/r40"
status_is 1 "nan: stops" rad-train-step -m "$T/init" -o "$T/nan" --lr 1e30 --clip 0 --save-every 1 "$T/r40"
last_stderr | grep -q "last good checkpoint (step 1)" && echo "ok nan: names the checkpoint" || echo "FAIL nan: names the checkpoint: $(last_stderr)"
same "nan: checkpoint is step 1" "$(jq .step "$T/nan/trainer_state.json")" 1

# Resume: a run killed with SIGKILL at random moments and resumed ends bitwise equal to
# an uninterrupted one (same threads), optimizer state included.
args=(--lr 1e-3 --save-every 1 --threads 2 --schedule cosine --warmup-ratio 0.1 --total-steps 18 --grad-accum 2 --weight-decay 0.1 --max-steps)
rad-train-step -m "$T/init" -o "$T/full" "${args[@]}" 18 "$T/r40" > /dev/null
kills=0
steps=""
tries=25; [ "${RAD_CONFIG:-}" = san ] && tries=8
for try in $(seq 1 $tries); do
	rad-train-step -m "$T/init" -o "$T/killed" --resume --log "$T/killed.log" "${args[@]}" 18 < "$T/r40" > /dev/null 2>&1 &
	pid=$!
	sleep "0.$((RANDOM % 25 + 5))"
	if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
	wait "$pid" 2>/dev/null
	[ -f "$T/killed/trainer_state.json" ] && steps+=" $(jq .step "$T/killed/trainer_state.json")"
	[ -f "$T/killed/trainer_state.json" ] && [ "$(jq .step "$T/killed/trainer_state.json")" = 18 ] && break
done
rad-train-step -m "$T/init" -o "$T/killed" --resume --log "$T/killed.log" "${args[@]}" 18 < "$T/r40" 2> /dev/null
same "resume: finished at step 18" "$(jq .step "$T/killed/trainer_state.json")" 18
[ "$kills" -gt 0 ] && echo "ok resume: killed $kills times, at steps$steps" || echo "skip resume: killed: every run finished before the kill"
ok_if "resume: same weights as the uninterrupted run" cmp "$T/full/model.safetensors" "$T/killed/model.safetensors"
ok_if "resume: same optimizer state" cmp "$T/full/optimizer.safetensors" "$T/killed/optimizer.safetensors"
ok_if "resume: no temporary left" test ! -e "$T/killed.tmp"
same "resume: --log holds every step once" "$(jq -c .step "$T/killed.log" | tr '\n' ' ')" "$(seq 1 18 | tr '\n' ' ')"
same "resume: --log the same lines as the uninterrupted run's" \
	"$(jq -c 'del(.tokens_per_s, .step_s, .cpu_s)' "$T/killed.log" | md5sum)" \
	"$(rad-train-step -m "$T/init" -o "$T/full2" "${args[@]}" 18 "$T/r40" | jq -c 'del(.tokens_per_s, .step_s, .cpu_s)' | md5sum)"
ok_if "resume: a finished checkpoint resumes to nothing, exit 0" rad-train-step -m "$T/init" -o "$T/killed" --resume "${args[@]}" 18 "$T/r40"
rad-train-step -m "$T/init" -o "$T/half" "${args[@]}" 9 "$T/r40" > /dev/null
rad-train-step -m "$T/init" -o "$T/half" --resume "${args[@]}" 18 "$T/r40" > "$T/half.log"
same "resume: skips what it had read" "$(head -1 "$T/half.log" | jq .step)" 10
ok_if "resume: plain resume equal too" cmp "$T/full/model.safetensors" "$T/half/model.safetensors"
status_is 2 "resume: another loss" rad-train-step -o "$T/half" --resume --loss sft "$T/r40"

# A resumed run continues the same run or refuses: the batches it passes over must be the
# ones the checkpoint read, and the options that shape the trajectory the same.
rad-train-step -m "$T/init" -o "$T/part" "${args[@]}" 4 "$T/r40" > /dev/null
cp "$T/part/model.safetensors" "$T/part.before"
gen 5 40 | rad-logps -m "$T/init" > "$T/r40other"
{ rad-dump -H "$T/r40" | head -1; rad-dump "$T/r40" | tac; } | rad-dump --encode > "$T/r40rev"
status_is 1 "resume: another input refused" rad-train-step -o "$T/part" --resume "${args[@]}" 18 "$T/r40other"
same "resume: another input, said" "$(last_stderr | grep -c 'is not what the checkpoint in .* was trained on: its first 8 batches differ')" 1
status_is 1 "resume: another shuffle of the same batches refused" rad-train-step -o "$T/part" --resume "${args[@]}" 18 "$T/r40rev"
for change in "--lr 2e-3" "--beta 0.2" "--seed 1" "--clip 0.5" "--adam-eps 1e-6"; do
	status_is 2 "resume: $change refused" rad-train-step -o "$T/part" --resume "${args[@]}" 18 $change "$T/r40"
	same "resume: $change, named" "$(last_stderr | grep -c -- "${change% *} [^ ]* (the checkpoint: ")" 1
done
status_is 2 "resume: another schedule refused" rad-train-step -o "$T/part" --resume "${args[@]/cosine/linear}" 18 "$T/r40"
same "resume: another schedule, named" "$(last_stderr | grep -c -- '--schedule "linear" (the checkpoint: "cosine")')" 1
status_is 2 "resume: another --total-steps refused" rad-train-step -o "$T/part" --resume "${args[@]/--total-steps/--total-steps 20 --x}" 18 "$T/r40"
ok_if "resume: the refusals left the checkpoint as it was" cmp "$T/part/model.safetensors" "$T/part.before"
ok_if "resume: --max-steps may grow, --threads change" rad-train-step -o "$T/part" --resume "${args[@]/--threads 2/--threads 1}" 6 "$T/r40"

# --log on a resume keeps the lines of the checkpoint's steps and drops those after it
rad-train-step -m "$T/init" -o "$T/lg" --log "$T/lg.log" "${args[@]}" 4 "$T/r40"
printf '{"step":5,"loss":1}\n{"step":6,"lo' >> "$T/lg.log"
rad-train-step -o "$T/lg" --resume --log "$T/lg.log" "${args[@]}" 6 "$T/r40" 2> "$T/lg.err"
same "--log on resume: steps once each" "$(jq -c .step "$T/lg.log" | tr '\n' ' ')" "1 2 3 4 5 6 "
same "--log on resume: the dropped lines counted" "$(grep -c 'lg.log: 2 lines dropped: steps after the checkpoint.s step 4' "$T/lg.err")" 1

# Usage.
status_is 2 "no --output" rad-train-step -m "$T/init" "$T/r4"
ok_if "--no-save needs no --output" rad-train-step -m "$T/sft" --no-save "$T/r4"
status_is 2 "--resume needs --output" rad-train-step -m "$T/init" --no-save --resume "$T/r4"
for bad in "--lr inf" "--lr -1" "--lr 1e400" "--adam-eps 0" "--beta nan" "--beta 0" "--beta inf" "--clip inf" "--adam-beta1 1" \
	"--adam-beta2 -0.1" "--weight-decay inf" "--label-smoothing 0.5" "--sft-weight inf" "--warmup-ratio 1.5" "--lr 1 --weight-decay 1"; do
	status_is 2 "usage: $bad" rad-train-step -m "$T/sft" -o "$T/x" $bad "$T/r4"
done
# no batches: exit 1 with a message that says so, however the schedule is given
echo '{"type":"HEAD","kind":"batches","version":1,"fingerprint":"toy","meta":{"batches":0}}' | rad-dump --encode > "$T/empty0"
echo '{"type":"HEAD","kind":"batches","version":1,"fingerprint":"toy","meta":{}}' | rad-dump --encode > "$T/empty"
status_is 1 "no batches, counted 0: cosine" rad-train-step -m "$T/init" -o "$T/e" --no-ref-check --schedule cosine "$T/empty0"
same "no batches, counted 0: said" "$(last_stderr | grep -c 'holds no batches (its header counts 0)')" 1
status_is 1 "no batches: exit 1" rad-train-step -m "$T/init" -o "$T/e" --no-ref-check --max-steps 5 --schedule cosine "$T/empty"
same "no batches: said" "$(last_stderr | grep -c 'the input holds no batches: nothing was trained')" 1
ok_if "no batches: no checkpoint" test ! -e "$T/e"
status_is 2 "bad --loss" rad-train-step -m "$T/init" -o "$T/x" --loss foo "$T/r4"
status_is 2 "cosine needs a length" rad-train-step -m "$T/init" -o "$T/x" --schedule cosine "$T/r4"
status_is 1 "missing model" rad-train-step -m "$T/nope" -o "$T/x" "$T/r4"
status_is 1 "logps: not a batch stream" rad-logps -m "$T/init" "$T/init/config.json"
status_is 2 "logps: no model" rad-logps "$T/r4"
for t in rad-init rad-logps rad-train-step; do
	ok_if "$t --help" "$t" --help
	ok_if "$t --version" "$t" --version
done
[ "$_fails" -eq 0 ]
