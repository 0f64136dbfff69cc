#!/usr/bin/env bash
# lora.sh — LoRA in the model tools: rad-train-step --lora-rank / --adapter, rad-logps and
# rad-eval --adapter, rad-merge.  On GPT-2 and Llama checkpoints and PEFT adapters made by
# an independent float64 PyTorch reference (torch_lora_ref.py; those parts are skipped
# without torch): the DPO loss, every adapter gradient and one AdamW step to 1e-5, the
# merged model against the adapter to 1e-5, PEFT's layout out and in.  Then the reference
# is the base (no --no-ref-check), resume after SIGKILL gives the same bits, and what is
# refused is refused with a message.
. "$(dirname "$0")/lib.sh"

close() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = (a - b) / (b < 0 ? -b : b); exit !(d <= t && -d <= t) }'; }
awk -v seed=5 -v n=1 -v pairs=3 -v vocab=64 -f "$TOP/tests/tools/gen_batches.awk" | rad-dump --encode > "$T/b"

py=""
for p in python3 /usr/bin/python3; do
	if command -v "$p" > /dev/null && "$p" -c 'import torch, numpy' 2> /dev/null; then py=$p; break; fi
done
ref="$TOP/tests/tools/torch_lora_ref.py"
if [ -z "$py" ]; then
	skip "lora torch reference" "no python3 with torch and numpy"
else
	# step: --adapter starts from a PEFT adapter (B non-zero, so every gradient is); GPT-2's
	# Conv1D modules, Llama's q..down with rsLoRA; clipping and weight decay in the step
	for arch in gpt2 llama; do
		if [ $arch = gpt2 ]; then targets=c_attn,c_proj,c_fc rs=0; else targets=q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj rs=1; fi
		"$py" "$ref" make "$T/$arch" $arch
		"$py" "$ref" adapter "$T/$arch" "$T/$arch.peft" $targets 3 6 $rs
		rad-logps -m "$T/$arch" "$T/b" > "$T/$arch.r"   # the reference: the base itself
		rad-dump "$T/$arch.r" > "$T/$arch.r.jsonl"
		rad-train-step -m "$T/$arch" --adapter "$T/$arch.peft" -o "$T/$arch.out" --beta 2 --label-smoothing 0.2 \
			--sft-weight 0.5 --lr 1e-3 --weight-decay 0.1 --clip 1e-3 --threads 1 --dump-grads "$T/$arch.g" \
			"$T/$arch.r" > "$T/$arch.log"
		"$py" "$ref" step "$T/$arch" "$T/$arch.peft" "$T/$arch.r.jsonl" "$T/$arch.g" "$T/$arch.log" "$T/$arch.out" \
			1e-3 0.1 1e-3 2 0.2 0.5
		# the adapter's log-probs: rad-logps --adapter (merged) against PyTorch, and rad-merge the same bits
		rad-logps -m "$T/$arch" --adapter "$T/$arch.peft" "$T/b" > "$T/$arch.a"
		rad-dump "$T/$arch.a" > "$T/$arch.a.jsonl"
		"$py" "$ref" logps "$T/$arch" "$T/$arch.peft" "$T/$arch.a.jsonl"
		rad-merge -m "$T/$arch" --adapter "$T/$arch.peft" -o "$T/$arch.merged"
		same "$arch: rad-merge, then rad-logps: what --adapter gives" "$(rad-logps -m "$T/$arch.merged" "$T/b" | rad-dump | jq -c .ref_logp)" \
			"$(jq -c 'select(.type == "BTCH") | .ref_logp' "$T/$arch.a.jsonl")"
		# merge then forward against the adapter's own forward (training, unmerged), 1e-5
		merged=$(jq -s '[.[] | select(.type == "BTCH") | . as $b | range(.ref_logp | length) | select($b.seq_chosen[.] == 1) | $b.ref_logp[.]] | add / length' "$T/$arch.a.jsonl")
		unmerged=$(rad-train-step -m "$T/$arch" --adapter "$T/$arch.peft" --no-save --lr 0 --threads 1 "$T/$arch.r" | jq '."logps/chosen"')
		if close "$merged" "$unmerged" 1e-5; then echo "ok $arch: merged forward equals the adapter's forward ($merged, $unmerged)"
		else echo "FAIL $arch: merged forward $merged, the adapter's $unmerged"; _fails=$((_fails + 1)); fi
		# fresh: --lora-rank, PEFT's initialisation (B = 0), the reference is the base
		rad-train-step -m "$T/$arch" --lora-rank 2 --lora-alpha 4 --lora-targets $targets -o "$T/$arch.fresh" --beta 2 \
			--sft-weight 0.5 --lr 1e-3 --threads 1 --dump-grads "$T/$arch.fg" "$T/$arch.r" > "$T/$arch.flog"
		"$py" "$ref" fresh "$T/$arch" "$T/$arch.r.jsonl" "$T/$arch.fg" "$T/$arch.flog" "$T/$arch.fresh" 2 0 0.5
		# rad's output continues in rad: PEFT's layout in, the same as what came out
		ok_if "$arch: rad's adapter starts another run" rad-train-step -m "$T/$arch" --adapter "$T/$arch.out" -o "$T/$arch.again" \
			--threads 1 "$T/$arch.r"
	done
fi

# The rest on rad-init models.
rad-init --arch qwen2 --vocab 64 --layers 2 --heads 4 --kv-heads 2 --dim 16 --context 32 --seed 1 -o "$T/q" > /dev/null
rad-init --vocab 64 --layers 2 --heads 2 --dim 16 --context 32 --seed 2 -o "$T/g" > /dev/null
gen() { awk -v seed="$1" -v n="$2" -v pairs=2 -v vocab=64 -f "$TOP/tests/tools/gen_batches.awk" | rad-dump --encode; }
gen 3 40 | rad-logps -m "$T/q" > "$T/r40"

# reference = base: the base's log-probs pass the fingerprint check; another model's do not
ok_if "reference = base: rad-logps -m BASE is accepted" rad-train-step -m "$T/q" --lora-rank 2 -o "$T/x" --max-steps 1 "$T/r40"
gen 3 2 | rad-logps -m "$T/g" > "$T/rg"
status_is 1 "reference from another model: refused" rad-train-step -m "$T/q" --lora-rank 2 -o "$T/x2" "$T/rg"
same "a LoRA run's first DPO loss is log 2 (the adapter starts as the identity)" \
	"$(rad-train-step -m "$T/q" --lora-rank 4 --lora-targets all-linear --lora-dropout 0.1 --no-save "$T/r40" | head -1 | jq '.loss - (2|log) | fabs < 1e-12')" true
same "trainable parameters: the adapter only" \
	"$(rad-train-step -m "$T/q" --lora-rank 2 --lora-targets q,v --no-save --max-steps 1 --verbose "$T/r40" 2>&1 >/dev/null | grep -o '[0-9]* trainable parameters' | cut -d' ' -f1)" \
	"$((2 * (2 * 16 + 16 * 2 + 2 * 16 + 8 * 2)))"   # 2 layers of q (A 2x16, B 16x2) and v (A 2x16, B 8x2)
ok_if "the checkpoint holds PEFT's files, not the model" test -f "$T/x/adapter_model.safetensors" -a -f "$T/x/adapter_config.json" -a ! -e "$T/x/model.safetensors"

# Resume: a run killed with SIGKILL at random moments and resumed ends bitwise equal to an
# uninterrupted one, dropout masks included; resuming finds the base where it was recorded.
args=(--lora-rank 4 --lora-alpha 8 --lora-dropout 0.2 --lora-targets all-linear --lr 1e-2 --save-every 1 --threads 2
	--schedule cosine --total-steps 18 --grad-accum 2 --weight-decay 0.1 --seed 3 --max-steps)
rad-train-step -m "$T/q" -o "$T/full" "${args[@]}" 18 "$T/r40" > /dev/null
kills=0
tries=25; [ "${RAD_CONFIG:-}" = san ] && tries=8
for try in $(seq 1 $tries); do
	rad-train-step -m "$T/q" -o "$T/killed" --resume "${args[@]}" 18 < "$T/r40" > /dev/null 2>&1 &
	pid=$!
	sleep "0.$((RANDOM % 25 + 5))"
	kill -9 "$pid" 2> /dev/null && kills=$((kills + 1))
	wait "$pid" 2> /dev/null
	[ -f "$T/killed/trainer_state.json" ] && [ "$(jq .step "$T/killed/trainer_state.json")" = 18 ] && break
done
(cd "$T" && rad-train-step -o killed --resume "${args[@]}" 18 < r40 > /dev/null)   # no --model: the recorded base
same "resume: finished at step 18" "$(jq .step "$T/killed/trainer_state.json")" 18
[ "$kills" -gt 0 ] && echo "ok resume: killed $kills times" || echo "skip resume: killed: every run finished before the kill"
ok_if "resume: the same adapter as the uninterrupted run" cmp "$T/full/adapter_model.safetensors" "$T/killed/adapter_model.safetensors"
ok_if "resume: the same optimizer state" cmp "$T/full/optimizer.safetensors" "$T/killed/optimizer.safetensors"
rad-train-step -m "$T/q" -o "$T/half" "${args[@]}" 9 "$T/r40" > /dev/null
status_is 1 "resume on another base: refused" rad-train-step -m "$T/g" -o "$T/half" --resume "${args[@]}" 18 "$T/r40"
same "resume on another base: said" "$(last_stderr | grep -c 'not the base model the adapter in .* was trained on')" 1
status_is 2 "resume with another rank: refused" rad-train-step -m "$T/q" -o "$T/half" --resume "${args[@]/#4/8}" 18 "$T/r40"
same "resume with another rank: named" "$(last_stderr | grep -c -- '--lora-rank 8 (the checkpoint: 4)')" 1
ok_if "resume of the half run" rad-train-step -m "$T/q" -o "$T/half" --resume "${args[@]}" 18 "$T/r40"
ok_if "resume of the half run: the same adapter" cmp "$T/full/adapter_model.safetensors" "$T/half/adapter_model.safetensors"

# --recompute: the same bits with one layer's activations held (adapter with dropout, and
# full training)
rad-train-step -m "$T/q" -o "$T/rc" --recompute "${args[@]}" 18 "$T/r40" > /dev/null
ok_if "--recompute: the same adapter" cmp "$T/full/adapter_model.safetensors" "$T/rc/adapter_model.safetensors"
rad-train-step -m "$T/q" -o "$T/fa" --lr 1e-2 --max-steps 3 --threads 2 "$T/r40" > /dev/null
rad-train-step -m "$T/q" -o "$T/fr" --lr 1e-2 --max-steps 3 --threads 2 --recompute "$T/r40" > /dev/null
ok_if "--recompute: the same model after full training" cmp "$T/fa/model.safetensors" "$T/fr/model.safetensors"

# --base-dtype bf16: the frozen base's matrices held in bf16.  On a checkpoint stored in
# bf16 nothing is rounded, so the adapter, the metrics and the reference are the same
# bytes as with the base in fp32; on an fp32 checkpoint the held base is another model
# (its rounded matrices): the fp32 base's reference is refused, rad-logps --base-dtype
# bf16's accepted.
rad-init --arch qwen2 --vocab 64 --layers 2 --heads 4 --kv-heads 2 --dim 16 --context 32 --seed 1 --dtype bf16 -o "$T/qh" > /dev/null
gen 3 6 | rad-logps -m "$T/qh" > "$T/rh"
same "rad-logps --base-dtype bf16 on a bf16 checkpoint: the same bytes" \
	"$(rad-logps -m "$T/qh" --base-dtype bf16 "$T/rh" | rad-dump | sha256sum)" "$(rad-dump "$T/rh" | sha256sum)"
bargs=(--lora-rank 4 --lora-targets all-linear --lora-dropout 0.1 --lr 1e-2 --threads 2 --max-steps)
rad-train-step -m "$T/qh" -o "$T/h32" "${bargs[@]}" 3 "$T/rh" | jq -c 'del(.step_s, .cpu_s, .tokens_per_s)' > "$T/h32.log"
rad-train-step -m "$T/qh" -o "$T/h16" --base-dtype bf16 "${bargs[@]}" 3 "$T/rh" | jq -c 'del(.step_s, .cpu_s, .tokens_per_s)' > "$T/h16.log"
ok_if "--base-dtype bf16 on a bf16 checkpoint: the same adapter" cmp "$T/h32/adapter_model.safetensors" "$T/h16/adapter_model.safetensors"
ok_if "--base-dtype bf16 on a bf16 checkpoint: the same metrics" cmp "$T/h32.log" "$T/h16.log"
ok_if "--base-dtype bf16: resumed with the base held in bf16" rad-train-step -o "$T/h16" --resume --base-dtype bf16 \
	"${bargs[@]}" 4 "$T/rh"
status_is 1 "--base-dtype bf16 on an fp32 checkpoint: the fp32 base's reference is refused" \
	rad-train-step -m "$T/q" --base-dtype bf16 --lora-rank 2 --no-save "$T/r40"
ok_if "--base-dtype bf16 on an fp32 checkpoint: rad-logps --base-dtype bf16's reference is accepted" \
	bash -c "rad-logps -m '$T/q' --base-dtype bf16 '$T/r40' | rad-train-step -m '$T/q' --base-dtype bf16 --lora-rank 2 --no-save > /dev/null"
status_is 2 "--base-dtype bf16 without an adapter" rad-train-step -m "$T/q" --base-dtype bf16 --no-save "$T/r40"
status_is 2 "--base-dtype fp16" rad-logps -m "$T/q" --base-dtype fp16 "$T/r40"

# rad-eval with --adapter: every mode that runs a model sees the merged model
rad-merge -m "$T/q" --adapter "$T/full" -o "$T/qm"
rad-eval prefs -m "$T/qm" "$T/r40" > "$T/p1"
same "rad-eval prefs --adapter: the merged model's metrics" "$(rad-eval prefs -m "$T/q" --adapter "$T/full" "$T/r40" | jq -c 'del(.adapter, .model)')" \
	"$(jq -c 'del(.model)' "$T/p1")"
same "rad-eval likelihood: base against base + adapter" \
	"$(rad-eval likelihood -m "$T/q" -m "$T/q" --adapter "$T/full" "$T/r40" | jq -c '[.adapters, .models[1].chosen.logp]')" \
	"$(rad-eval likelihood -m "$T/qm" "$T/r40" | jq -c '[[null, "'"$T/full"'"], .models[0].chosen.logp]')"
TINY=$TOP/tests/data/tokenizers/tiny/tokenizer.json
rad-init --tokenizer "$TINY" --layers 1 --heads 2 --dim 16 --context 64 --seed 3 -o "$T/t" > /dev/null
echo '{"id":"a","prompt":"Tell me."}' > "$T/pr.jsonl"
gen 4 6 | rad-logps -m "$T/t" | rad-train-step -m "$T/t" --lora-rank 4 --lora-targets c_attn,c_fc --lr 0.1 -o "$T/ta" > /dev/null
rad-merge -m "$T/t" --adapter "$T/ta" -o "$T/tm"
same "rad-eval generate --adapter: the merged model's answer" \
	"$(rad-eval generate -m "$T/t" --adapter "$T/ta" --temperature 0 --max-new-tokens 12 "$T/pr.jsonl")" \
	"$(rad-eval generate -m "$T/tm" --temperature 0 --max-new-tokens 12 "$T/pr.jsonl")"
ok_if "rad-merge copies the tokenizer" cmp "$TINY" "$T/tm/tokenizer.json"

# Refusals: usage (exit 2) and adapters this build cannot apply (exit 1, the file named)
status_is 2 "--lora-targets a Llama module on GPT-2" rad-train-step -m "$T/g" --lora-rank 2 --lora-targets q_proj -o "$T/y" "$T/rg"
same "--lora-targets on GPT-2: names GPT-2's modules" "$(last_stderr | grep -c 'c_attn, c_proj, c_fc')" 1
status_is 2 "--lora-targets unknown" rad-train-step -m "$T/q" --lora-rank 2 --lora-targets q,lm_head -o "$T/y" "$T/r40"
status_is 2 "--lora-dropout without --lora-rank" rad-train-step -m "$T/q" --lora-dropout 0.1 -o "$T/y" "$T/r40"
status_is 2 "--adapter with --lora-rank" rad-train-step -m "$T/q" --adapter "$T/full" --lora-rank 2 -o "$T/y" "$T/r40"
status_is 2 "--lora-dropout 1" rad-train-step -m "$T/q" --lora-rank 2 --lora-dropout 1 -o "$T/y" "$T/r40"
cp -r "$T/full" "$T/dora" && jq '.use_dora = true' "$T/full/adapter_config.json" > "$T/dora/adapter_config.json"
status_is 1 "a DoRA adapter: refused" rad-logps -m "$T/q" --adapter "$T/dora" "$T/r40"
same "a DoRA adapter: the file and the key named" "$(last_stderr | grep -c 'dora/adapter_config.json: "use_dora"')" 1
status_is 1 "an adapter on another model: refused" rad-merge -m "$T/g" --adapter "$T/full" -o "$T/y"
status_is 2 "rad-eval: --adapter before --model" rad-eval prefs --adapter "$T/full" -m "$T/q" "$T/r40"
status_is 2 "rad-merge: no --adapter" rad-merge -m "$T/q" -o "$T/y"
[ "$_fails" -eq 0 ]
