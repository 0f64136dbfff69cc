# rad-score-normalize: every input shape, scales, policies, summaries, bad input, odd bytes,
# and sharding with GNU parallel.
. "$(dirname "$0")/lib.sh"
N=rad-score-normalize

# --- TRL shapes (hand-written) ---------------------------------------------------------
$N "$DATA/trl_shapes.jsonl" > "$T/trl.jsonl"
same "trl: one pair per record" "$(wc -l < "$T/trl.jsonl")" "5"
same "trl: key order of the contract" "$(head -1 "$T/trl.jsonl" | jq -c keys_unsorted)" '["id","prompt","chosen","rejected","score_chosen","score_rejected","source"]'
same "trl: implicit string prompt is the common prefix" "$(sed -n 2p "$T/trl.jsonl" | jq -c '[.prompt[0].content, .chosen, .rejected, .score_chosen]')" '["The sky is"," blue."," green.",8.5]'
same "trl: explicit conversational keeps the system turn" "$(sed -n 3p "$T/trl.jsonl" | jq -c '[.id, [.prompt[].role], .chosen, .score_rejected]')" '["conv-1",["system","user"],"Blue.",4]'
same "trl: implicit conversational splits at the last answer" "$(sed -n 4p "$T/trl.jsonl" | jq -c '[.id, (.prompt | length), .prompt[-1].content, .chosen, .rejected]')" '["42",3,"Name a prime.","7","8"]'
same "trl: text parts are joined" "$(sed -n 5p "$T/trl.jsonl" | jq -r .prompt[0].content)" "Say hi"
printf '%s\n' '{"prompt":"2+2=","chosen":"4","rejected":"5","judge":{"s":[9,"1.5"]}}' > "$T/nested.jsonl"
same "--score-fields takes dotted paths and indexes" "$($N --score-fields judge.s.0,judge.s.1 "$T/nested.jsonl" | jq -c '[.score_chosen, .score_rejected]')" "[9,1.5]"

# --- UltraFeedback, binarized: the TRL sample and the same pairs in the H4 shape ---------
$N --id-field source_index "$DATA/uf_binarized_trl_head30.jsonl" > "$T/uf.jsonl"
same "uf trl: 30 pairs" "$(wc -l < "$T/uf.jsonl")" "30"
same "uf trl: texts and scores carried over" \
	"$(jq -c '[.prompt[0].content, .chosen, .rejected, .score_chosen, .score_rejected]' "$T/uf.jsonl" | md5sum)" \
	"$(jq -c '[.prompt, .chosen, .rejected, .metadata.score_chosen, .metadata.score_rejected]' "$DATA/uf_binarized_trl_head30.jsonl" | md5sum)"
same "uf trl: --id-field" "$(head -1 "$T/uf.jsonl" | jq -r .id)" "$(head -1 "$DATA/uf_binarized_trl_head30.jsonl" | jq -r .source_index)"
$N "$DATA/uf_binarized_h4_shape.jsonl" > "$T/h4.jsonl"
same "h4: id is prompt_id" "$(jq -r .id "$T/h4.jsonl" | md5sum)" "$(jq -r .prompt_id "$DATA/uf_binarized_h4_shape.jsonl" | md5sum)"
same "h4: same pairs as the TRL shape" "$(jq -c '[.prompt, .chosen, .rejected, .score_chosen, .score_rejected]' "$T/h4.jsonl")" \
	"$(head -6 "$T/uf.jsonl" | jq -c '[.prompt, .chosen, .rejected, .score_chosen, .score_rejected]')"
same "h4: source format" "$(jq -r .source.format "$T/h4.jsonl" | sort -u)" "ultrafeedback_binarized"
same "prompt_id is the SHA-256 of the prompt" "$(head -1 "$DATA/uf_binarized_h4_shape.jsonl" | jq -j .prompt | sha256sum | cut -c1-64)" "$(head -1 "$T/h4.jsonl" | jq -r .id)"

# --- raw UltraFeedback, built the paper's way --------------------------------------------
$N --verbose "$DATA/ultrafeedback_raw_sample.jsonl" > "$T/raw.jsonl" 2> "$T/raw.err"
same "raw uf: 4 pairs of 6 records" "$(wc -l < "$T/raw.jsonl")" "4"
same "raw uf: drops counted by reason" "$(grep -o 'source truthful_qa 1, fewer than 2 fully rated completions 1' "$T/raw.err")" "source truthful_qa 1, fewer than 2 fully rated completions 1"
same "raw uf: chosen is the best, first on ties, N/A left out" "$(jq -c '[.source.model_chosen, .score_chosen]' "$T/raw.jsonl" | tr '\n' ' ')" \
	'["wizardlm-70b",9] ["llama-2-13b-chat",7] ["gpt-4",9.5] ["gpt-4",9] '
same "raw uf: rejected is another rated completion" "$(jq -r 'select(.source.model_rejected == .source.model_chosen or .source.model_rejected == "falcon-40b-instruct") | .id' "$T/raw.jsonl")" ""
same "raw uf: four ratings kept with their mean" "$(head -1 "$T/raw.jsonl" | jq -c '[.ratings_chosen, .source.mean_chosen, ([.ratings_rejected[]] | add / 4) == .source.mean_rejected]')" \
	'[{"helpfulness":5,"honesty":5,"instruction_following":5,"truthfulness":5},5,true]'
same "raw uf: id is the SHA-256 of the instruction" "$(head -1 "$DATA/ultrafeedback_raw_sample.jsonl" | jq -j .instruction | sha256sum | cut -c1-64)" "$(head -1 "$T/raw.jsonl" | jq -r .id)"
same "raw uf: --keep-truthful-qa" "$($N --keep-truthful-qa "$DATA/ultrafeedback_raw_sample.jsonl" | wc -l)" "5"
picks() { for s in 0 1 2 3 4 5 6 7; do $N --seed $s "$DATA/ultrafeedback_raw_sample.jsonl" | jq -r .source.model_rejected | head -1; done | sort -u | wc -l; }
same "raw uf: the seed moves the rejected pick over the 3 others" "$(picks)" "3"
same "raw uf: same seed, same bytes" "$($N --seed 3 "$DATA/ultrafeedback_raw_sample.jsonl" | md5sum)" "$($N --seed 3 < "$DATA/ultrafeedback_raw_sample.jsonl" | md5sum)"

# --- HH-RLHF and LLaMA-Factory ------------------------------------------------------------
$N "$DATA/hh_rlhf_harmless_test_head30.jsonl" > "$T/hh.jsonl"
same "hh: 31 pairs" "$(wc -l < "$T/hh.jsonl")" "31"
same "hh: prompts alternate and end with the user" "$(jq -r '[.prompt[].role] | . as $r | [range(length)] | map(if . % 2 == 0 then "user" else "assistant" end) == $r and $r[-1] == "user"' "$T/hh.jsonl" | sort -u)" "true"
same "hh: transcripts rebuild exactly" \
	"$(jq -r '([.prompt[] | "\n\n" + (if .role == "user" then "Human" else "Assistant" end) + ": " + .content] | add) + "\n\nAssistant: " + .chosen' "$T/hh.jsonl" | md5sum)" \
	"$(jq -r .chosen "$DATA/hh_rlhf_harmless_test_head30.jsonl" | md5sum)"
same "hh: no scores, no drops" "$(jq -c '[.score_chosen, .score_rejected]' "$T/hh.jsonl" | sort -u)" "[null,null]"
$N "$DATA/llamafactory_dpo_en_demo_subset.json" > "$T/lf.jsonl"
same "sharegpt: a whole-file JSON array" "$(wc -l < "$T/lf.jsonl")" "$(jq length "$DATA/llamafactory_dpo_en_demo_subset.json")"
same "sharegpt: turns and answers carried over" \
	"$(jq -c '[[.prompt[].content], .chosen, .rejected]' "$T/lf.jsonl" | md5sum)" \
	"$(jq -c '.[] | [[.conversations[].value], .chosen.value, .rejected.value]' "$DATA/llamafactory_dpo_en_demo_subset.json" | md5sum)"
same "sharegpt: system turns kept" "$(jq -r 'select(.prompt[0].role == "system") | .id' "$T/lf.jsonl" | wc -l)" "$(jq '[.[] | select(.conversations[0].from == "system")] | length' "$DATA/llamafactory_dpo_en_demo_subset.json")"
cat "$DATA/trl_shapes.jsonl" "$DATA/hh_rlhf_harmless_test_head30.jsonl" "$DATA/ultrafeedback_raw_sample.jsonl" > "$T/mixed.jsonl"
same "auto: formats detected per record" "$($N --missing null "$T/mixed.jsonl" | jq -r .source.format | uniq -c | awk '{print $2 $1}' | tr '\n' ' ')" "trl5 hh-rlhf31 ultrafeedback4 "
status_is 1 "a named format refuses other shapes" $N --format sharegpt "$DATA/trl_shapes.jsonl"

# --- scales, rounding, policies, summary ------------------------------------------------
cat > "$T/s.jsonl" <<'J'
{"id":"a","prompt":"q","chosen":"x","rejected":"y","score_chosen":10,"score_rejected":1}
{"id":"b","prompt":"q","chosen":"x","rejected":"y","score_chosen":5.5,"score_rejected":5.5}
{"id":"c","prompt":"q","chosen":"x","rejected":"y","score_chosen":3,"score_rejected":7.25}
{"id":"d","prompt":"q","chosen":"x","rejected":"y","score_chosen":"N/A","score_rejected":7}
{"id":"e","prompt":"q","chosen":"x","rejected":"y"}
J
same "--scale-by none keeps scores" "$($N "$T/s.jsonl" 2>/dev/null | jq -c '[.score_chosen, .score_rejected]' | tr '\n' ' ')" "[10,1] [5.5,5.5] [3,7.25] "
same "linear 1:10 onto 0:1" "$($N --scale-by linear --from 1:10 --scale 0:1 "$T/s.jsonl" 2>/dev/null | jq -c '[.score_chosen, .score_rejected]' | tr '\n' ' ')" "[1,0] [0.5,0.5] [0.2222222222222222,0.6944444444444444] "
same "--round 0.5 after linear" "$($N --scale-by linear --from 1:10 --scale 1:5 --round 0.5 "$T/s.jsonl" 2>/dev/null | jq -c '[.score_chosen, .score_rejected]' | tr '\n' ' ')" "[5,1] [3,3] [2,4] "
same "rank: mid-rank quantiles" "$($N --scale-by rank --scale 0:5 "$T/s.jsonl" 2>/dev/null | jq -c '[.score_chosen, .score_rejected]' | tr '\n' ' ')" "[5,0] [2.5,2.5] [1,4] "
status_is 2 "rank needs files" $N --scale-by rank - < "$T/s.jsonl"
status_is 2 "linear needs --from" $N --scale-by linear "$T/s.jsonl"
status_is 2 "bad --scale" $N --scale 10:1 "$T/s.jsonl"
status_is 2 "bad --missing" $N --missing maybe "$T/s.jsonl"
status_is 1 "--missing error" $N --missing error "$T/s.jsonl"
same "--missing error names the line" "$(last_stderr)" "$N: $T/s.jsonl:4: a score is missing or not a number (--missing)"
same "--missing null keeps them" "$($N --missing null "$T/s.jsonl" | jq -c .score_chosen | tr '\n' ' ')" "10 5.5 3 null null "
$N --verbose --ties drop --inverted swap "$T/s.jsonl" > "$T/p.jsonl" 2> "$T/p.err"
same "--ties drop, --inverted swap" "$(jq -c '[.id, .chosen, .score_chosen, .score_rejected, .source.swapped]' "$T/p.jsonl" | tr '\n' ' ')" '["a","x",10,1,null] ["c","y",7.25,3,true] '
same "summary counts" "$(head -1 "$T/p.err")" "$N: records in 5, pairs out 2, invalid skipped 0, dropped 3 (missing score 2, tie 1, inverted 0, out of range 0); ties 1, inverted 1 (swapped 1); scores clamped 0; formats: trl 2"
same "summary histogram" "$(sed -n '2,$p' "$T/p.err" | awk '{print $2, $3}' | tr '\n' ' ')" "scores: 4, 1 1 3 1 7.25 1 10 1 "
same "--inverted drop" "$($N --inverted drop "$T/s.jsonl" 2>/dev/null | jq -r .id | tr '\n' ' ')" "a b "
same "drops are reported without --verbose" "$($N "$T/s.jsonl" 2>&1 >/dev/null)" "$N: 2 of 5 records dropped, 0 invalid skipped, 0 scores clamped into the range (--verbose for reasons)"

# --- bad input: file and line, exit 1; --skip-invalid counts ---------------------------------
printf '%s\n' '{"prompt":"q","chosen":"a","rejected":"b","score_chosen":2,"score_rejected":1}' '{"prompt":"q","chosen":"a"' '{"text":"no pair"}' '' '{"prompt":"q","chosen":"a","rejected":"b","score_chosen":3,"score_rejected":1}' > "$T/bad.jsonl"
status_is 1 "broken JSON" $N "$T/bad.jsonl"
same "broken JSON: file and line" "$(last_stderr | cut -d: -f1-3)" "$N: $T/bad.jsonl:2"
sed -i 2d "$T/bad.jsonl"
status_is 1 "unknown shape" $N "$T/bad.jsonl"
same "unknown shape: file, line, why" "$(last_stderr)" "$N: $T/bad.jsonl:2: unknown record shape: no \"chosen\"/\"rejected\", \"conversations\" or \"completions\""
printf '{"prompt":"q","chosen":"a"\n' >> "$T/bad.jsonl"
$N --skip-invalid --verbose "$T/bad.jsonl" > "$T/ok.jsonl" 2> "$T/ok.err"
same "--skip-invalid goes on" "$(wc -l < "$T/ok.jsonl")" "2"
same "--skip-invalid counts both kinds" "$(grep -o 'invalid skipped [0-9]*' "$T/ok.err")" "invalid skipped 2"
status_is 1 "a missing file" $N "$T/nonexistent.jsonl"
status_is 2 "an unknown option" $N --frobnicate

# --- bytes: CRLF, Unicode, embedded NUL, a huge line, zstd -----------------------------------
sed 's/$/\r/' "$DATA/trl_shapes.jsonl" > "$T/crlf.jsonl"
same "CRLF lines read as LF lines" "$($N "$T/crlf.jsonl" | md5sum)" "$($N "$DATA/trl_shapes.jsonl" | md5sum)"
printf '%s\n' '{"id":"n","prompt":"a\u0000b ☃ 𝄞","chosen":"c\u0000","rejected":"\u00e9\r\n","score_chosen":2,"score_rejected":1}' > "$T/nul.jsonl"
$N "$T/nul.jsonl" > "$T/nul.out"
same "NUL stays escaped, Unicode raw" "$(grep -c -F '"content":"a\u0000b ☃ 𝄞"' "$T/nul.out")" "1"
same "NUL round trip" "$(jq -c '[.prompt[0].content, .chosen, .rejected] | map(length)' "$T/nul.out")" "[7,2,3]"
big=$([ "${RAD_CONFIG:-}" = san ] && echo 3000000 || echo 30000000)
{ printf '{"id":"big","prompt":"q","chosen":"'; head -c "$big" /dev/zero | tr '\0' 'x'; printf '","rejected":"y","score_chosen":2,"score_rejected":1}\n'; } > "$T/big.jsonl"
same "a huge line" "$($N "$T/big.jsonl" | jq '.chosen | length')" "$big"
$N -z "$DATA/trl_shapes.jsonl" > "$T/trl.zst"
same "-z writes zstd" "$(zstd -dc "$T/trl.zst" | md5sum)" "$(md5sum < "$T/trl.jsonl")"
same "zstd input, and canonical pairs normalize to themselves" "$($N "$T/trl.zst" | md5sum)" "$(md5sum < "$T/trl.jsonl")"

# --- sharding: parallel --pipe gives the same bytes ------------------------------------------
for i in 1 2 3 4 5 6; do sed "s/\"instruction\": \"/&[$i] /" "$DATA/ultrafeedback_raw_sample.jsonl"; cat "$DATA/hh_rlhf_harmless_test_head30.jsonl" "$DATA/uf_binarized_trl_head30.jsonl"; done > "$T/shard.jsonl"
$N --seed 5 "$T/shard.jsonl" > "$T/whole.jsonl"
parallel --pipe --keep-order -j2 --block 40k $N --seed 5 < "$T/shard.jsonl" > "$T/sharded.jsonl"
same "sharded run is byte-identical" "$(md5sum < "$T/sharded.jsonl")" "$(md5sum < "$T/whole.jsonl")"
same "sharded run made several shards" "$([ "$(wc -c < "$T/shard.jsonl")" -gt 200000 ] && echo yes)" "yes"

# --- the shared samples in full ------------------------------------------------------------------
if [ -n "$SHARED" ]; then
	same "shared uf: 200 pairs" "$($N "$SHARED/ultrafeedback_binarized_trl_eval200.jsonl" | wc -l)" "200"
	same "shared hh: 2312 pairs" "$(zcat "$SHARED/hh_rlhf_harmless_base_test.jsonl.gz" | $N | wc -l)" "2312"
	same "shared llama-factory: 300 pairs" "$($N "$SHARED/llamafactory_dpo_en_demo.json" | wc -l)" "300"
else
	skip "shared samples" "no ../shared/data"
fi
