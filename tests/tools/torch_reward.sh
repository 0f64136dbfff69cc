#!/usr/bin/env bash
# torch_reward.sh — rad-eval reward against an independent float64 PyTorch model of the
# Hugging Face sequence classifiers (tests/tools/torch_reward_ref.py), on checkpoints
# written there: GPT-2 with two named labels and pad_token_id = the end-of-turn token
# (so the score is read one token before the end), Llama with one label and no pad token
# (the last token), Qwen2 with three labels and a pad token that occurs inside the text
# (the last token that is not it), Qwen3 in bf16.  Responses one per line and grouped.
# Skipped without torch.
. "$(dirname "$0")/lib.sh"

need_torch "torch reward reference"
ref=$TOP/tests/tools/torch_reward_ref.py
TOK=$TOP/pipelines/demo/tokenizer.json
cat > "$T/lines.jsonl" <<'EOF'
{"id":"a","sample":0,"samples":2,"prompt":"123456789","response":"COMMIT 987654321"}
{"id":"a","sample":1,"samples":2,"prompt":"123456789","response":"HEDGE 987654000"}
{"id":"b","prompt":[{"role":"system","content":"Overall score: 10."},{"role":"user","content":"555\n444"}],"response":"two\nlines"}
EOF
cat > "$T/grouped.jsonl" <<'EOF'
{"id":"c","prompt":"000111222","responses":[{"sample":0,"response":"x"},{"sample":1,"response":"COMMIT 222111000 and more text"},{"sample":2,"response":""}]}
EOF
# 258 is <|im_end|>, the end of turn of chatml; 10 is "\n"
while read -r arch labels pad; do
	"$py" "$ref" make "$T/$arch" "$arch" 264 "$labels" "$pad"
	for f in lines grouped; do
		rad-eval reward -m "$T/$arch" --tokenizer "$TOK" --ids --threads 1 "$T/$f.jsonl" > "$T/$arch.$f.out"
		"$py" "$ref" check "$T/$arch" "$T/$arch.$f.out"
	done
done <<'EOF'
gpt2 helpfulness,harmlessness 258
llama overall none
qwen2 a,b,c 10
qwen3 overall none
EOF
same "reward: every record written back in order" "$(jq -r '.id' "$T/gpt2.lines.out" | tr '\n' ' ')" "a a b "
same "reward: the input fields kept" "$(jq -c '[.sample, .samples]' "$T/llama.lines.out" | tr '\n' ' ')" "[0,2] [1,2] [null,null] "
# the same scores whatever the threads and however the records are split
rad-eval reward -m "$T/qwen2" --tokenizer "$TOK" --threads 2 "$T/lines.jsonl" > "$T/t2"
head -1 "$T/lines.jsonl" | rad-eval reward -m "$T/qwen2" --tokenizer "$TOK" --threads 1 > "$T/part1"
tail -n +2 "$T/lines.jsonl" | rad-eval reward -m "$T/qwen2" --tokenizer "$TOK" --threads 1 >> "$T/part1"
same "reward: the same bytes with 2 threads and split input" "$(cmp "$T/t2" "$T/part1" && wc -l <"$T/t2")" 3
