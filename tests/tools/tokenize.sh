#!/usr/bin/env bash
# rad-tokenize: golden ids, round trips, templates, the boundary rule, the PAIR stream.
. "$(dirname "$0")/lib.sh"
TD=$DATA/tokenizers
G=$TD/golden
TINY=$TD/tiny/tokenizer.json
GPT2=$TD/gpt2/encoder.json
CL=$TD/tiktoken/cl100k_base.tiktoken
mkdir -p "$T/qwen3"
gzip -dc "$TD/qwen3/tokenizer.json.gz" > "$T/qwen3/tokenizer.json"
cp "$TD/qwen3/tokenizer_config.json" "$T/qwen3/"
Q3=$T/qwen3

# --- golden ids (npm tiktoken for gpt2/cl100k, a transformers.js port for Qwen3) ---
# long_words: pieces of 3.3 to 6 KB (letters, one letter, digits, marks, CJK, a pattern,
# English without spaces), which the references merge whole and rad in certified segments
for text in edge_cases uf_eval200_first20 long_words; do
	same "golden gpt2 $text" "$(rad-tokenize -t "$GPT2" --text < "$G/$text.txt")" "$(cat "$G/$text.gpt2.ids")"
	same "golden cl100k $text" "$(rad-tokenize -t "$CL" --text < "$G/$text.txt")" "$(cat "$G/$text.cl100k_base.ids")"
	same "golden qwen3 $text" "$(rad-tokenize -t "$Q3" --special --text < "$G/$text.txt")" "$(cat "$G/$text.qwen3.ids")"
done
# a tiktoken file whose name does not say its pattern needs --pattern
cp "$CL" "$T/ranks.tiktoken"
status_is 1 "tiktoken file without a pattern" rad-tokenize -t "$T/ranks.tiktoken" --text </dev/null
same "golden cl100k with --pattern" "$(rad-tokenize -t "$T/ranks.tiktoken" --pattern cl100k --text < "$G/edge_cases.txt")" "$(cat "$G/edge_cases.cl100k_base.ids")"
status_is 1 "unknown pattern" rad-tokenize -t "$T/ranks.tiktoken" --pattern nosuch --text </dev/null

# \s is Unicode's White_Space, as in the references: U+180E is not one, U+0085 and
# U+3000 are (ids from npm tiktoken 1.0.22)
same "white space: U+180E" "$(printf 'a\xe1\xa0\x8e\xe1\xa0\x8eb \xe1\xa0\x8e1\n\xe1\xa0\x8ex' | rad-tokenize -t "$CL" --text)" \
	"64 157 254 236 157 254 236 65 87189 254 236 16 198 157 254 236 87"
same "white space: U+0085" "$(printf 'a\xc2\x85\xc2\x85b \xc2\x851\n\xc2\x85x' | rad-tokenize -t "$CL" --text)" \
	"64 126 227 126 227 65 220 126 227 16 198 126 227 87"
same "white space: U+3000" "$(printf 'a\xe3\x80\x80\xe3\x80\x80b \xe3\x80\x801\n\xe3\x80\x80x' | rad-tokenize -t "$CL" --text)" \
	"64 23249 23249 65 220 23249 16 198 23249 87"

# npm tiktoken as a further oracle on more text, when node can load it (NODE_PATH)
if command -v node >/dev/null && node -e 'require("tiktoken")' 2>/dev/null; then
	cat "$G"/*.txt /usr/share/common-licenses/* 2>/dev/null | iconv -c -f UTF-8 -t UTF-8 > "$T/big"
	for e in gpt2:"$GPT2" cl100k_base:"$CL"; do
		node -e 'const t = require("tiktoken").get_encoding(process.argv[1]);
			process.stdout.write(Array.from(t.encode_ordinary(require("fs").readFileSync(process.argv[2], "utf8"))).join(" ") + "\n")' \
			"${e%%:*}" "$T/big" > "$T/tt"
		rad-tokenize -t "${e#*:}" --text "$T/big" > "$T/rt"
		ok_if "npm tiktoken ${e%%:*} on $(wc -c < "$T/big") bytes" cmp "$T/tt" "$T/rt"
	done
	# o200k: its ranks from the package's compact form ("! FIRST_RANK token token ..." lines)
	node -e 'const d = require("tiktoken/encoders/o200k_base.json"); const o = [];
		for (const l of d.bpe_ranks.split("\n")) { if (!l) continue; const p = l.split(" ");
			for (let i = 2; i < p.length; i++) o.push(p[i] + " " + (+p[1] + i - 2)); }
		process.stdout.write(o.join("\n") + "\n")' > "$T/o200k_base.tiktoken"
	node -e 'const t = require("tiktoken").get_encoding("o200k_base");
		process.stdout.write(Array.from(t.encode_ordinary(require("fs").readFileSync(process.argv[1], "utf8"))).join(" ") + "\n")' \
		"$T/big" > "$T/tt"
	rad-tokenize -t "$T/o200k_base.tiktoken" --text "$T/big" > "$T/rt"
	ok_if "npm tiktoken o200k_base on $(wc -c < "$T/big") bytes" cmp "$T/tt" "$T/rt"
	# long words: tiktoken merges each whole (in quadratic time, hence
	# the modest length), rad in certified segments
	awk -v seed=16 'BEGIN { srand(seed); a = "abcdefghijklmnopqrstuvwxyz"; b = a "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		for (w = 0; w < 3; w++) { for (i = 0; i < 9000; i++) printf "%s", substr(w == 1 ? b : a, 1 + int(rand() * (w == 1 ? 52 : 26)), 1); printf "\n" }
		for (i = 0; i < 6000; i++) printf "%s", substr("!#$%&*+-./:;<=>?@^_|~", 1 + int(rand() * 21), 1); printf "\n" }' > "$T/words"
	for e in gpt2:"$GPT2" cl100k_base:"$CL" o200k_base:"$T/o200k_base.tiktoken"; do
		node -e 'const t = require("tiktoken").get_encoding(process.argv[1]);
			process.stdout.write(Array.from(t.encode_ordinary(require("fs").readFileSync(process.argv[2], "utf8"))).join(" ") + "\n")' \
			"${e%%:*}" "$T/words" > "$T/tt"
		rad-tokenize -t "${e#*:}" --text "$T/words" > "$T/rt"
		ok_if "npm tiktoken ${e%%:*} on random long words" cmp "$T/tt" "$T/rt"
	done
else
	skip "npm tiktoken oracle" "node cannot load the tiktoken package (set NODE_PATH)"
fi

# --- special tokens: text unless --special ---
same "special text is text by default" "$(printf 'a<|endoftext|>b' | rad-tokenize -t "$GPT2" --text)" "64 27 91 437 1659 5239 91 29 65"
same "--special matches it" "$(printf 'a<|endoftext|>b' | rad-tokenize -t "$GPT2" --special --text)" "64 50256 65"
same "qwen3 im_end as text" "$(printf '<|im_end|>' | rad-tokenize -t "$Q3" --text)" "27 91 318 6213 91 29"
same "qwen3 im_end with --special" "$(printf '<|im_end|>' | rad-tokenize -t "$Q3" --text --special)" "151645"

# ByteLevel's add_prefix_space: a space before each segment between added tokens
mkdir -p "$T/aps" && jq '.pre_tokenizer.add_prefix_space = true' "$TINY" > "$T/aps/tokenizer.json"
same "add_prefix_space" "$(printf 'hi<|im_end|>x <|im_end|> y' | rad-tokenize -t "$T/aps" --special --text)" "32 104 105 258 32 120 32 258 32 121"

# --- decode and round trips ---
for tk in "$GPT2" "$CL" "$TINY"; do
	n=$(basename "$tk")
	rad-tokenize -t "$tk" --text < "$G/edge_cases.txt" | rad-tokenize -t "$tk" --decode > "$T/rt"
	ok_if "round trip edge cases ($n)" cmp "$T/rt" "$G/edge_cases.txt"
	# bytes that are not UTF-8: every byte value, stray continuations, truncated sequences
	awk 'BEGIN { for (i = 0; i < 256; i++) printf "%c", i; printf "ab\xe2\x82 \xf0\x9f\x98\xc3\xa9\xff\xfe x\xed\xa0\x80y\xc0\xaf" }' > "$T/bin"
	rad-tokenize -t "$tk" --text < "$T/bin" | rad-tokenize -t "$tk" --decode > "$T/rt"
	ok_if "round trip invalid UTF-8 ($n)" cmp "$T/rt" "$T/bin"
done
# Qwen3 normalizes to NFC: text already in NFC comes back unchanged
rad-tokenize -t "$Q3" --text < "$G/uf_eval200_first20.txt" | rad-tokenize -t "$Q3" --decode > "$T/rt"
ok_if "round trip uf text (qwen3)" cmp "$T/rt" "$G/uf_eval200_first20.txt"
same "NFC: e + combining acute is one character" \
	"$(printf 'e\xcc\x81' | rad-tokenize -t "$Q3" --text)" "$(printf '\xc3\xa9' | rad-tokenize -t "$Q3" --text)"
same "--skip-special" "$(echo 1 151644 17 151645 | rad-tokenize -t "$Q3" --decode --skip-special)" '"2'
status_is 1 "decode: id out of range" rad-tokenize -t "$GPT2" --decode <<<"1 2 50257"
status_is 1 "decode: not a number" rad-tokenize -t "$GPT2" --decode <<<"1 x2"

# --- templates render what the models expect (multi-turn record "mt") ---
# (an x after the text keeps its trailing newlines through $(...))
render() { sed -n "${3:-3}p" "$DATA/tokenize/pairs.jsonl" | rad-tokenize -t "$TINY" -T "$1" --render | jq -j ".$2"; echo x; }
same "chatml prompt" "$(render chatml prompt)" $'<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n 4 <|im_end|>\n<|im_start|>user\nAnd 3+3?<|im_end|>\n<|im_start|>assistant\n'x
same "chatml chosen" "$(render chatml chosen)" ' 6<|im_end|>'x
same "chatml system" "$(render chatml prompt 1)" $'<|im_start|>system\nOverall score: 9.<|im_end|>\n<|im_start|>user\nName a prime number. <|im_end|><|im_end|>\n<|im_start|>assistant\n'x
same "llama3 prompt" "$(render llama3 prompt)" $'<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n4<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nAnd 3+3?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n'x
same "llama3 rejected (trimmed)" "$(render llama3 rejected)" 'seven<|eot_id|>'x
same "llama3 trims Unicode white space as Jinja's trim does" \
	"$(printf '{"id":"t","prompt":[{"role":"user","content":"\\u3000\\u00a0 hi\\u200b \\u2028"}],"chosen":" x\\u0085","rejected":"y"}\n' |
	   rad-tokenize -t "$TINY" -T llama3 --render | jq -ac '[.prompt, .chosen]')" \
	'["<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi\u200b<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n","x<|eot_id|>"]'
same "gemma prompt" "$(render gemma prompt)" $'<bos><start_of_turn>user\nWhat is 2+2?<end_of_turn>\n<start_of_turn>model\n4<end_of_turn>\n<start_of_turn>user\nAnd 3+3?<end_of_turn>\n<start_of_turn>model\n'x
same "gemma chosen" "$(render gemma chosen)" '6<end_of_turn>'x
same "zephyr prompt" "$(render zephyr prompt)" $'<|user|>\nWhat is 2+2?<|endoftext|>\n<|assistant|>\n 4 <|endoftext|>\n<|user|>\nAnd 3+3?<|endoftext|>\n<|assistant|>\n'x
same "zephyr chosen" "$(render zephyr chosen)" ' 6<|endoftext|>'x
same "mistral prompt" "$(render mistral prompt)" '<s>[INST] What is 2+2? [/INST] 4 <|endoftext|>[INST] And 3+3? [/INST]'x
same "mistral system merged" "$(render mistral prompt 1)" $'<s>[INST] Overall score: 9.\n\nName a prime number. <|im_end|> [/INST]'x
same "plain prompt" "$(render plain prompt)" $'What is 2+2?\n\n 4 \n\nAnd 3+3?\n\n'x
same "plain chosen" "$(render plain chosen)" ' 6<|endoftext|>'x
status_is 1 "gemma refuses a system turn" rad-tokenize -t "$TINY" -T gemma --render "$DATA/tokenize/pairs.jsonl"
case "$(last_stderr)" in *"pairs.jsonl:1: template gemma has no system role"*) echo "ok gemma message";; *) echo "FAIL gemma message: $(last_stderr)";; esac
status_is 2 "unknown template" rad-tokenize -t "$TINY" -T nosuch "$DATA/tokenize/pairs.jsonl"
status_is 2 "no tokenizer" rad-tokenize --text
status_is 1 "gzipped tokenizer" rad-tokenize -t "$TD/qwen3/tokenizer.json.gz" --text </dev/null
status_is 1 "stop token missing from the tokenizer" rad-tokenize -t "$GPT2" -T chatml "$DATA/tokenize/pairs.jsonl"
# ids far beyond a file's tokens are refused before anything is sized by them (a 4 KB
# file with an added-token id of 1e9 took 4.9 GB and 53 s, then loaded)
mkdir -p "$T/hugeid"
jq -c '.added_tokens[0].id = 1000000000' "$TINY" > "$T/hugeid/tokenizer.json"
status_is 1 "an added-token id of 1e9 in a small file" timeout 20 rad-tokenize -t "$T/hugeid" --text </dev/null
same "the message names the token and its id" "$(last_stderr | grep -c 'added token "<|endoftext|>" has id 1000000000, .*ids must be below')" "1"
jq -c '.model.vocab.a = 99999999' "$TINY" > "$T/hugeid/tokenizer.json"
status_is 1 "a vocab id of 1e8 in a small file" timeout 20 rad-tokenize -t "$T/hugeid" --text </dev/null
same "the message names the vocab token" "$(last_stderr | grep -c 'vocab: token "a" has id 99999999')" "1"
printf 'YQ== 0\nYg== 1000000000\n' > "$T/huge.tiktoken"
status_is 1 "a tiktoken rank of 1e9" timeout 20 rad-tokenize -t "$T/huge.tiktoken" --pattern gpt2 --text </dev/null
same "the message names the line" "$(last_stderr | grep -c 'line 2: rank 1000000000 .*ids must be below')" "1"
# holes as real files have them stay fine: cl100k's special tokens sit up to 20 past its ranks
same "a few ids of holes are fine" "$(printf 'x<|endofprompt|>' | rad-tokenize -t "$CL" --special --text)" "87 100276"
printf 'x = "\n' > "$T/bad.tmpl"
status_is 1 "bad template file" rad-tokenize -t "$TINY" -T "$T/bad.tmpl" "$DATA/tokenize/pairs.jsonl"

# --- the Qwen built-ins against the models' own Jinja chat templates (HF's settings) ---
if command -v python3 >/dev/null && python3 -c 'import jinja2' 2>/dev/null; then
	for m in qwen2.5 qwen3; do
		python3 - "$TD/$m/tokenizer_config.json" "$DATA/tokenize/pairs.jsonl" > "$T/jinja.jsonl" <<'PY'
import json, sys
from jinja2.sandbox import ImmutableSandboxedEnvironment
cfg = json.load(open(sys.argv[1]))
env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
env.filters["tojson"] = lambda x, **k: json.dumps(x, ensure_ascii=False)
tpl = env.from_string(cfg["chat_template"])
for line in open(sys.argv[2]):
    r = json.loads(line)
    p = tpl.render(messages=r["prompt"], add_generation_prompt=True, enable_thinking=False)
    out = {"id": r["id"], "prompt": p}
    for k in ("chosen", "rejected"):
        full = tpl.render(messages=r["prompt"] + [{"role": "assistant", "content": r[k]}], enable_thinking=False)
        assert full.startswith(p)
        out[k] = full[len(p):]
    print(json.dumps(out, ensure_ascii=False))
PY
		# the model's rendering ends a completion with "<|im_end|>\n"; a completion stops at <|im_end|>
		rad-tokenize -t "$TINY" -T $m --render "$DATA/tokenize/pairs.jsonl" | jq -c '.chosen += "\n" | .rejected += "\n"' > "$T/ours.jsonl"
		jq -c . "$T/jinja.jsonl" > "$T/theirs.jsonl"
		ok_if "template $m renders as the model's Jinja template" cmp "$T/ours.jsonl" "$T/theirs.jsonl"
	done
else
	skip "Jinja chat templates" "python3 with jinja2 is not available"
fi

# --- the PAIR stream: ids decode back to the rendered text ---
rad-tokenize -t "$Q3" -T chatml -o "$T/p.rad" "$DATA/tokenize/pairs.jsonl"
rad-tokenize -t "$Q3" -T chatml --render "$DATA/tokenize/pairs.jsonl" > "$T/render.jsonl"
rad-dump "$T/p.rad" > "$T/dump.jsonl"
for i in 1 2 3; do
	for f in prompt chosen rejected; do
		sed -n "${i}p" "$T/dump.jsonl" | jq -r ".$f | map(tostring) | join(\" \")" | rad-tokenize -t "$Q3" --decode > "$T/got"
		sed -n "${i}p" "$T/render.jsonl" | jq -j ".$f" > "$T/want"
		ok_if "pair $i $f decodes to its rendering" cmp "$T/got" "$T/want"
	done
done
same "content <|im_end|> stays text; template ones are tokens" \
	"$(sed -n 1p "$T/dump.jsonl" | jq '[.prompt[] | select(. == 151645)] | length')" 2
rad-tokenize -t "$Q3" -T chatml --special "$DATA/tokenize/pairs.jsonl" | rad-dump > "$T/dump2.jsonl"
same "--special: content <|im_end|> is a token" "$(sed -n 1p "$T/dump2.jsonl" | jq '[.prompt[] | select(. == 151645)] | length')" 3
same "completions end with the stop id" "$(jq -c '[.chosen[-1], .rejected[-1]]' "$T/dump.jsonl" | sort -u)" "[151645,151645]"
same "pair fields" "$(sed -n 2p "$T/dump.jsonl" | jq -c '[.id, .source_id, .half, .goal, .score_chosen, .score_rejected]')" '["uf1#neg","uf1","neg","Overall score: 3.",3,9]'
same "null scores" "$(sed -n 3p "$T/dump.jsonl" | jq -c '[.score_chosen, .score_rejected]')" '[null,null]'
fp=$(rad-dump -H "$T/p.rad" | head -1 | jq -r .fingerprint)
case "$fp" in [0-9a-f]*-[0-9a-f]*) echo "ok header fingerprint";; *) echo "FAIL header fingerprint: '$fp'";; esac
fp2=$(rad-tokenize -t "$Q3" -T llama3 --render "$DATA/tokenize/pairs.jsonl" >/dev/null; rad-tokenize -t "$Q3" -T plain "$DATA/tokenize/pairs.jsonl" | rad-dump -H | head -1 | jq -r .fingerprint)
same "fingerprint: tokenizer half shared, template half differs" "${fp2%-*} $([ "${fp2#*-}" != "${fp#*-}" ] && echo differs)" "${fp%-*} differs"
rad-tokenize -t "$Q3" -T chatml "$DATA/tokenize/pairs.jsonl" "$DATA/tokenize/pairs.jsonl" | rad-dump > "$T/twice"
same "deterministic" "$(head -3 "$T/twice")" "$(cat "$T/dump.jsonl")"

# sharded with GNU parallel: the concatenated streams are the same pairs, in order
if command -v parallel >/dev/null; then
	parallel --will-cite --pipe -N1 --keep-order -j2 rad-tokenize -t "$Q3" -T chatml < "$DATA/tokenize/pairs.jsonl" > "$T/par.rad"
	same "parallel shards concatenate to the same pairs" "$(rad-dump "$T/par.rad")" "$(cat "$T/dump.jsonl")"
else
	skip "parallel shards" "GNU parallel is not installed"
fi

# --- the boundary rule: "A" + "nswer" would merge into one token ---
rad-tokenize -t "$GPT2" -T "$DATA/tokenize/answer.tmpl" --verbose "$DATA/tokenize/boundary.jsonl" 2>"$T/err" | rad-dump > "$T/b.jsonl"
case "$(cat "$T/err")" in *"1 completions with a forced boundary"*) echo "ok boundary counted";; *) echo "FAIL boundary counted: $(cat "$T/err")";; esac
same "boundary prompt" "$(jq -r '.prompt | map(tostring) | join(" ")' "$T/b.jsonl" | rad-tokenize -t "$GPT2" --decode)" $'Q: 2+2?\nA'
same "boundary chosen" "$(jq -r '.chosen | map(tostring) | join(" ")' "$T/b.jsonl" | rad-tokenize -t "$GPT2" --decode)" 'nswer: 4<|endoftext|>'
same "unforced completion is the joint encoding's tail" \
	"$(jq -c .rejected "$T/b.jsonl")" \
	"[$(printf 'Q: 2+2?\nA 5<|endoftext|>' | rad-tokenize -t "$GPT2" --special --text | cut -d' ' -f9- | tr ' ' ,)]"

# --- bad records ---
printf '{"id":"x","prompt":[{"role":"user","content":"hi"}],"chosen":"a"}\n' > "$T/bad.jsonl"
status_is 1 "missing rejected" rad-tokenize -t "$TINY" "$T/bad.jsonl"
case "$(last_stderr)" in *"bad.jsonl:1: \"rejected\" missing"*) echo "ok bad record message";; *) echo "FAIL bad record message: $(last_stderr)";; esac
cat "$DATA/tokenize/pairs.jsonl" "$T/bad.jsonl" > "$T/mixed.jsonl"
rad-tokenize -t "$TINY" --skip-invalid --verbose "$T/mixed.jsonl" 2>"$T/err" | rad-dump > "$T/m"
same "--skip-invalid keeps the good ones" "$(wc -l < "$T/m")" 3
case "$(cat "$T/err")" in *"3 pairs, 1 skipped"*) echo "ok skipped counted";; *) echo "FAIL skipped counted: $(cat "$T/err")";; esac
exit 0
