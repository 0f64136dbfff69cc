#!/usr/bin/env bash
# llama.sh — the Llama family through the tools: rad-init --arch llama/qwen2/qwen3,
# rad-logps | rad-train-step in a pipe for each, SFT and DPO learning, configurations
# that cannot be trained refused with the reason.
. "$(dirname "$0")/lib.sh"

gen() {   # seed n
	awk -v seed="$1" -v n="$2" -v pairs=2 -v vocab=64 -f "$TOP/tests/tools/gen_batches.awk" | rad-dump --encode
}
gen 2 4 > "$T/b4"
for i in 1 2 3 4 5 6; do cat "$T/b4"; done > "$T/b24"

for a in llama qwen2 qwen3; do
	ok_if "$a: init" rad-init --arch "$a" --vocab 64 --layers 2 --heads 4 --kv-heads 2 --dim 16 --context 32 --seed 1 -o "$T/$a"
	rad-init --arch "$a" --vocab 64 --layers 2 --heads 4 --kv-heads 2 --dim 16 --context 32 --seed 1 -o "$T/$a.2"
	ok_if "$a: init is deterministic" cmp "$T/$a/model.safetensors" "$T/$a.2/model.safetensors"
	# DPO in one pipe, references from the starting model: the first loss is log 2
	rad-logps -m "$T/$a" --threads 1 < "$T/b24" |
		rad-train-step -m "$T/$a" -o "$T/$a.dpo" --loss dpo --beta 0.5 --lr 1e-2 --threads 1 > "$T/$a.log"
	same "$a: dpo, one line per step" "$(wc -l < "$T/$a.log")" 24
	same "$a: dpo, step 1 loss is log 2" "$(head -1 "$T/$a.log" | jq '.loss - (2|log) | fabs < 1e-6')" true
	same "$a: dpo, the margin grows" "$(jq -s '(.[-4:] | map(.["rewards/margins"]) | add) > 0.5' "$T/$a.log")" true
	same "$a: dpo, saved as $a" "$(jq -r .model_type "$T/$a.dpo/config.json")" "$a"
	# SFT on the same batches: the NLL falls
	rad-train-step -m "$T/$a" -o "$T/$a.sft" --loss sft --lr 1e-2 --threads 1 "$T/b24" > "$T/$a.sft.log"
	same "$a: sft, the loss falls" "$(jq -s '.[-1].loss < .[0].loss - 0.5' "$T/$a.sft.log")" true
done
same "init: llama config" \
	"$(jq -c '[.architectures[0], .num_key_value_heads, .head_dim, .intermediate_size, .hidden_act, .tie_word_embeddings]' "$T/llama/config.json")" \
	'["LlamaForCausalLM",2,4,64,"silu",true]'
same "init: qwen2 has q/k/v biases" "$(grep -c 'q_proj.bias' "$T/qwen2/model.safetensors")" 1
same "init: qwen3 has q/k norms" "$(grep -c 'q_norm.weight' "$T/qwen3/model.safetensors")" 1
rad-init --arch qwen3 --vocab 64 --layers 1 --heads 4 --kv-heads 1 --dim 16 --head-dim 8 --ffn 40 --untied \
	--rope-theta 1000000 --context 32 -o "$T/q3b"
same "init: --head-dim --ffn --untied --rope-theta" \
	"$(jq -c '[.head_dim, .intermediate_size, .tie_word_embeddings, .rope_theta]' "$T/q3b/config.json")" '[8,40,false,1000000]'
ok_if "init: untied model has lm_head" grep -q 'lm_head.weight' "$T/q3b/model.safetensors"
status_is 2 "init: unknown --arch" rad-init --arch gemma --vocab 64 -o "$T/x"
status_is 2 "init: --kv-heads must divide --heads" rad-init --arch llama --vocab 64 --heads 4 --kv-heads 3 --dim 16 -o "$T/x"
status_is 2 "init: --kv-heads is not for gpt2" rad-init --vocab 64 --kv-heads 2 -o "$T/x"

# refused: the message names what rad cannot train
mkdir -p "$T/bad"
cp "$T/llama/model.safetensors" "$T/bad/"
jq '.hidden_act = "gelu"' "$T/llama/config.json" > "$T/bad/config.json"
status_is 1 "logps: gelu llama refused" rad-logps -m "$T/bad" "$T/b4"
same "logps: the message names hidden_act" "$(last_stderr | grep -c 'hidden_act "gelu" is not supported')" 1
jq '.rope_scaling = {"rope_type": "yarn", "factor": 4}' "$T/llama/config.json" > "$T/bad/config.json"
status_is 1 "train-step: yarn scaling refused" rad-train-step -m "$T/bad" -o "$T/x" "$T/b4"
same "train-step: the message names the scaling" "$(last_stderr | grep -c 'rope_scaling type "yarn"')" 1
# a checkpoint missing a tensor names it
jq '.num_key_value_heads = 4' "$T/llama/config.json" > "$T/bad/config.json"
status_is 1 "logps: shapes that disagree with config.json" rad-logps -m "$T/bad" "$T/b4"
same "logps: the message names the tensor" "$(last_stderr | grep -c 'k_proj.weight" has shape \[8, 16\], config.json wants \[16, 16\]')" 1

# Configs of transformers 5 keep rope_theta and the scaling inside "rope_parameters"; the
# same weights under either layout give the same log-probs, and a theta of 5e5 is not
# computed as the default 1e4.  Layouts rad cannot compute as transformers does are refused.
rad-init --arch llama --vocab 64 --layers 2 --heads 4 --kv-heads 2 --dim 16 --context 32 --rope-theta 500000 --seed 4 -o "$T/t5"
relayout() {   # FROM TO JQ-FILTER: the weights of FROM under another config.json
	mkdir -p "$2" && cp "$1/model.safetensors" "$2/" && jq "$3" "$1/config.json" > "$2/config.json"
}
logps_of() { rad-logps -m "$1" --threads 1 "$T/b4" | rad-dump | jq -c .ref_logp; }
relayout "$T/t5" "$T/t5.v5" 'del(.rope_theta, .rope_scaling) | .rope_parameters = {"rope_type": "default", "rope_theta": 500000}'
relayout "$T/t5" "$T/t5.1e4" '.rope_theta = 10000'
same "rope_parameters: theta 5e5 as at the top level" "$(logps_of "$T/t5.v5")" "$(logps_of "$T/t5")"
status_is 1 "rope_parameters: theta 5e5 is not the default 1e4" cmp -s <(logps_of "$T/t5.v5") <(logps_of "$T/t5.1e4")
scaled='{"rope_type": "llama3", "factor": 4.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 16}'
relayout "$T/t5" "$T/t5.s4" ".rope_scaling = $scaled"
relayout "$T/t5" "$T/t5.s5" "del(.rope_theta, .rope_scaling) | .rope_parameters = ($scaled + {\"rope_theta\": 500000})"
same "rope_parameters: llama3 scaling as in rope_scaling" "$(logps_of "$T/t5.s5")" "$(logps_of "$T/t5.s4")"
status_is 1 "rope_parameters: the scaling is applied" cmp -s <(logps_of "$T/t5.s5") <(logps_of "$T/t5")
refused() {   # NAME JQ-FILTER MESSAGE
	relayout "$T/t5" "$T/bad.$1" "$2"
	status_is 1 "rope refused: $1" rad-logps -m "$T/bad.$1" "$T/b4"
	same "rope refused: $1, said" "$(last_stderr | grep -c -- "$3")" 1
}
refused yarn '.rope_parameters = {"rope_type": "yarn", "factor": 4, "original_max_position_embeddings": 16}' 'rope_parameters type "yarn" is not supported'
refused per-layer '.rope_parameters = {"full_attention": {"rope_type": "default"}, "sliding_attention": {"rope_type": "default"}}' 'per layer type are not supported'
refused two-thetas '.rope_parameters = {"rope_type": "default", "rope_theta": 10000}' '"rope_theta" is 500000 at the top level but 10000 in rope_parameters'
refused partial '.partial_rotary_factor = 0.5' 'partial_rotary_factor'
refused unknown-key '.rope_parameters = {"rope_type": "default", "mscale": 1}' 'rope_parameters key "mscale" is not understood'
refused two-blocks ".rope_scaling = $scaled | .rope_parameters = {\"rope_type\": \"default\"}" '"rope_scaling" and "rope_parameters" are given, and they differ'
refused llama3-incomplete '.rope_parameters = {"rope_type": "llama3", "factor": 4}' 'low_freq_factor" is missing'
