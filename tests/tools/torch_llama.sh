#!/usr/bin/env bash
# torch_llama.sh — Hugging Face checkpoints of each Llama-family variant, written here
# (Llama: GQA, biases, Llama-3 rope scaling, bf16 shards; Qwen2: q/k/v biases, tied;
# Qwen3: q/k norms), give the same log-probs through rad-logps, and the same DPO loss and
# gradients through rad-train-step, as an independent float64 PyTorch model (to 1e-4;
# with bf16 products, --compute bf16, to 5e-2: the tiny heads here cancel much in the
# attention backward); what rad-train-step saves reads back in PyTorch under the same
# names.  Skipped without torch.
. "$(dirname "$0")/lib.sh"

need_torch "torch llama reference"
ref="$TOP/tests/tools/torch_llama_ref.py"
awk -v seed=11 -v n=2 -v pairs=3 -v vocab=64 -f "$TOP/tests/tools/gen_batches.awk" | rad-dump --encode > "$T/b"
for v in llama qwen2 qwen3; do
	"$py" "$ref" make "$T/$v" "$v"
	rad-logps -m "$T/$v" --threads 1 "$T/b" | rad-dump > "$T/$v.jsonl"
	"$py" "$ref" logps "$T/$v" "$T/$v.jsonl"
	# a reference from another model, so DPO's sigmoid is off its midpoint
	rad-init --arch "$v" --vocab 64 --layers 1 --heads 2 --dim 8 --context 32 --seed 3 -o "$T/$v.ref"
	rad-logps -m "$T/$v.ref" "$T/b" > "$T/$v.r"
	rad-dump "$T/$v.r" > "$T/$v.r.jsonl"
	rad-train-step -m "$T/$v" -o "$T/$v.out" --loss dpo --beta 2 --label-smoothing 0.2 --sft-weight 0.5 \
		--no-ref-check --clip 0 --threads 1 --lr 1e-2 --dump-grads "$T/$v.g" "$T/$v.r" > "$T/$v.log"
	"$py" "$ref" grads "$T/$v" "$T/$v.r.jsonl" "$T/$v.g" "$T/$v.log" 2 0.2 0.5
	rad-train-step -m "$T/$v" -o "$T/$v.bf" --loss dpo --beta 2 --label-smoothing 0.2 --sft-weight 0.5 \
		--no-ref-check --clip 0 --threads 1 --compute bf16 --no-save --dump-grads "$T/$v.gb" "$T/$v.r" > "$T/$v.logb"
	"$py" "$ref" grads "$T/$v" "$T/$v.r.jsonl" "$T/$v.gb" "$T/$v.logb" 2 0.2 0.5 5e-2
	# the trained checkpoint: PyTorch reads it by the same names and agrees with rad-logps
	rad-logps -m "$T/$v.out" --threads 1 "$T/b" | rad-dump > "$T/$v.out.jsonl"
	"$py" "$ref" logps "$T/$v.out" "$T/$v.out.jsonl"
	same "$v: trained checkpoint keeps the architecture" \
		"$(jq -c '[.model_type, .architectures[0], .num_key_value_heads, .head_dim, .tie_word_embeddings]' "$T/$v.out/config.json")" \
		"$(jq -c '[.model_type, .architectures[0], .num_key_value_heads, .head_dim, .tie_word_embeddings]' "$T/$v/config.json")"
	status_is 1 "$v: trained weights differ" cmp -s "$T/$v.out.jsonl" "$T/$v.jsonl"
done
