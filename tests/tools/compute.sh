#!/usr/bin/env bash
# compute.sh — --compute bf16 and --recompute through the tools: recomputing layers in the
# backward gives the very same bits; bf16 products stay within bf16's rounding of fp32,
# are deterministic and resume exactly; the options are checked.  Sequences of 200 tokens
# so attention runs over several tiles.
. "$(dirname "$0")/lib.sh"

awk -v seed=4 -v n=3 -v pairs=2 -v vocab=96 -v plen=120 -v clen=80 -f "$TOP/tests/tools/gen_batches.awk" |
	rad-dump --encode > "$T/b"
rad-init --vocab 96 --layers 3 --heads 2 --dim 32 --context 256 --seed 1 -o "$T/gpt2"
rad-init --arch qwen2 --vocab 96 --layers 3 --heads 4 --kv-heads 2 --dim 32 --ffn 48 --context 256 --seed 1 -o "$T/qwen2"

for m in gpt2 qwen2; do
	rad-logps -m "$T/$m" --threads 2 "$T/b" > "$T/$m.r"
	rad-logps -m "$T/$m" --threads 2 --compute bf16 "$T/b" > "$T/$m.rb"
	rad-logps -m "$T/$m" --threads 2 --compute bf16 "$T/b" > "$T/$m.rb2"
	ok_if "$m: bf16 log-probs are the same bytes again" cmp "$T/$m.rb" "$T/$m.rb2"
	same "$m: bf16 log-probs within 1e-2 of fp32, not equal" "$(paste <(rad-dump "$T/$m.r" | jq -c '.ref_logp[]') \
		<(rad-dump "$T/$m.rb" | jq -c '.ref_logp[]') | awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > 1e-2 * -$1) bad++; if (d > 0) moved++ }
		END { print bad + 0, (moved > 0) }')" "0 1"
	for c in fp32 bf16; do
		t=(--lr 1e-3 --threads 2 --compute $c --no-ref-check)
		rad-train-step -m "$T/$m" -o "$T/$m.$c" "${t[@]}" --dump-grads "$T/$m.$c.g" "$T/$m.r" > "$T/$m.$c.log"
		rad-train-step -m "$T/$m" -o "$T/$m.$c.rc" "${t[@]}" --recompute --dump-grads "$T/$m.$c.rc.g" "$T/$m.r" > "$T/$m.$c.rc.log"
		ok_if "$m $c: --recompute, the same gradient bits" cmp "$T/$m.$c.g" "$T/$m.$c.rc.g"
		ok_if "$m $c: --recompute, the same weights after 3 steps" cmp "$T/$m.$c/model.safetensors" "$T/$m.$c.rc/model.safetensors"
	done
	same "$m: bf16 losses within 1e-2 of fp32" "$(paste <(jq .loss "$T/$m.fp32.log") <(jq .loss "$T/$m.bf16.log") |
		awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > 1e-2 * $1) bad++ } END { print bad + 0 }')" 0
	# exact resume in bf16: 3 steps in one run, or 1 and then 2 more
	t=(--lr 1e-3 --threads 2 --compute bf16 --no-ref-check --save-every 1)
	rad-train-step -m "$T/$m" -o "$T/$m.half" "${t[@]}" --max-steps 1 "$T/$m.r" > /dev/null
	rad-train-step -m "$T/$m" -o "$T/$m.half" "${t[@]}" --resume "$T/$m.r" > /dev/null
	ok_if "$m: bf16 resume, the same weights" cmp "$T/$m.bf16/model.safetensors" "$T/$m.half/model.safetensors"
	ok_if "$m: bf16 resume, the same optimizer state" cmp "$T/$m.bf16/optimizer.safetensors" "$T/$m.half/optimizer.safetensors"
done

# rad-eval with bf16 products: likelihoods near fp32's, generation runs
rad-eval likelihood -m "$T/qwen2" --threads 2 "$T/qwen2.r" > "$T/lik32"
rad-eval likelihood -m "$T/qwen2" --threads 2 --compute bf16 "$T/qwen2.r" > "$T/likbf"
same "eval: bf16 likelihood within 1e-2" "$(jq -s '[.[].models[0].chosen.logp_per_token] | (.[0] - .[1]) / .[0] | fabs < 1e-2' \
	"$T/lik32" "$T/likbf")" true
printf '%s\n' '{"id":"a","prompt":"hi","chosen":"x","rejected":"y","score_chosen":8,"score_rejected":2,"goal":""}' > "$T/p.jsonl"
printf '{"a":0,"b":1,"c":2,"h":3,"i":4,"x":5,"y":6}' > "$T/tok.json"
if rad-init --tokenizer "$T/tok.json" --layers 1 --heads 2 --dim 8 --context 64 -o "$T/tiny" 2> /dev/null; then
	ok_if "eval: bf16 generation" bash -c "rad-eval generate -m '$T/tiny' --template plain --compute bf16 --max-new-tokens 4 --seed 1 '$T/p.jsonl' | jq -e '.response' > /dev/null"
else
	skip "eval: bf16 generation" "rad-init takes no such tokenizer"
fi

status_is 2 "train-step: --compute fp16" rad-train-step -m "$T/gpt2" -o "$T/x" --compute fp16 "$T/gpt2.r"
status_is 2 "logps: --compute int8" rad-logps -m "$T/gpt2" --compute int8 "$T/b"
status_is 2 "eval: --compute" rad-eval prefs -m "$T/gpt2" --compute "" "$T/gpt2.r"
[ "$_fails" -eq 0 ]
