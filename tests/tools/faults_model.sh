#!/usr/bin/env bash
# Faults in what a model gives: a checkpoint with NaN or infinite weights must stop
# rad-logps and rad-eval (prefs, likelihood, generate) with exit 1 naming the batch or
# record, never write nulls or a stream of token 0; rad-logps on input without batches,
# and its option values.
. "$(dirname "$0")/lib.sh"

# poison DIR TENSOR FIRST_ROW VALUE: sets rows FIRST_ROW.. of an F32 tensor to VALUE
# (nan, inf, -inf) in DIR/model.safetensors, in place.
poison() {
	python3 - "$1/model.safetensors" "$2" "$3" "$4" <<'PY'
import json, struct, sys
path, name, row, value = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
with open(path, "r+b") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    h = json.loads(f.read(n))[name]
    assert h["dtype"] == "F32"
    width = 1
    for d in h["shape"][1:]:
        width *= d
    start, end = h["data_offsets"]
    f.seek(8 + n + start + 4 * row * width)
    f.write(struct.pack("<f", value) * ((end - start) // 4 - row * width))
PY
}
if ! command -v python3 >/dev/null; then
	skip "faults_model" "no python3 to write the poisoned checkpoints"
	exit 0
fi

# ---- batches: rad-logps, rad-eval prefs and likelihood -------------------------------
rad-init --vocab 64 --layers 1 --heads 2 --dim 16 --context 32 --seed 1 -o "$T/ok" 2>/dev/null
# two batches of short sequences (positions < 10), then one of 22-token sequences
{ awk -v seed=5 -v n=2 -v pairs=2 -v vocab=64 -f "$TOP/tests/tools/gen_batches.awk"
  awk -v seed=6 -v n=1 -v pairs=2 -v vocab=64 -v plen=12 -v clen=10 -f "$TOP/tests/tools/gen_batches.awk" | tail -n +2
} | rad-dump --encode > "$T/b.rad"
same "the test batches" "$(rad-dump "$T/b.rad" | jq -r .type | tr '\n' ' ')" "BTCH BTCH BTCH "
rad-logps -m "$T/ok" "$T/b.rad" > "$T/ref.rad"
for v in nan inf; do
	# positions 16.. poisoned: only the third batch (record 3) reaches them
	cp -r "$T/ok" "$T/pos-$v"
	poison "$T/pos-$v" transformer.wpe.weight 16 "$v"
	status_is 1 "logps: $v weights are an error" rad-logps -m "$T/pos-$v" -o "$T/out.rad" "$T/b.rad"
	same "logps: $v names the batch" "$(last_stderr | grep -c "b.rad: record 3: .*not finite")" "1"
	status_is 1 "eval prefs: $v weights are an error" rad-eval prefs -m "$T/pos-$v" "$T/ref.rad"
	same "eval prefs: $v names the batch" "$(last_stderr | grep -c "ref.rad: record 3: .*not finite")" "1"
	status_is 1 "eval likelihood: $v weights are an error" rad-eval likelihood -m "$T/ok" -m "$T/pos-$v" "$T/ref.rad"
	same "eval likelihood: $v names the batch" "$(last_stderr | grep -c "ref.rad: record 3: .*not finite")" "1"
done
# the first two batches alone are fine under the same poisoned model
rad-dump -H -n 2 "$T/b.rad" | rad-dump --encode > "$T/b2.rad"
ok_if "logps: batches that do not reach the poisoned rows pass" rad-logps -m "$T/pos-nan" -o "$T/b2r.rad" "$T/b2.rad"
same "logps: and their log-probs are the clean model's" "$(rad-dump "$T/b2r.rad" | jq -c .ref_logp)" \
	"$(rad-dump -n 2 "$T/ref.rad" | jq -c .ref_logp)"
# reference log-probs that are not finite in the stream itself (null is NaN to rad-dump --encode;
# rad-logps before this check wrote such streams)
rad-dump -H "$T/ref.rad" | jq -c -n '[inputs] | .[2].ref_logp[1] = null | .[]' |
	rad-dump --encode > "$T/badref.rad"
same "a NaN reference log-prob in the stream" "$(rad-dump -n 2 "$T/badref.rad" | tail -1 | jq -c '.ref_logp[1]')" "null"
status_is 1 "eval prefs: a reference log-prob that is not finite" rad-eval prefs -m "$T/ok" "$T/badref.rad"
same "eval prefs: it names the batch and the reference" "$(last_stderr | grep -c "badref.rad: record 2: .*reference.*not finite")" "1"
status_is 1 "eval likelihood: a reference log-prob that is not finite" rad-eval likelihood -m "$T/ok" "$T/badref.rad"

# ---- rad-logps: no batches, option values --------------------------------------------
echo '{"type":"HEAD","kind":"batches","version":1,"fingerprint":"toy","meta":{}}' | rad-dump --encode > "$T/none.rad"
status_is 1 "logps: a stream without batches is an error" rad-logps -m "$T/ok" -o "$T/out.rad" "$T/none.rad"
same "logps: the message says there were none" "$(last_stderr | grep -c 'no batches')" "1"
for bad in "--threads inf" "--threads nan" "--threads 0" "--threads -1" "--threads 1e9" "--level 0" "--level 20" "--level 1.5" "--model=" "--output="; do
	status_is 2 "logps: $bad is a usage error" rad-logps -m "$T/ok" $bad "$T/b.rad"
done

# ---- generation ------------------------------------------------------------------------
TINY=$DATA/tokenizers/tiny/tokenizer.json
rad-init --tokenizer "$TINY" --layers 1 --heads 2 --dim 16 --context 96 --seed 3 -o "$T/g" 2>/dev/null
printf '{"id":"p%d","prompt":"Tell me about %d."}\n' 1 1 2 2 3 3 > "$T/prompts.jsonl"
gen() { rad-eval generate -m "$1" --max-new-tokens 40 --threads 1 --temperature 0 "${@:2}" "$T/prompts.jsonl"; }
ok_if "generate: the clean model" gen "$T/g"
for v in nan inf -inf; do
	cp -r "$T/g" "$T/g-$v"
	poison "$T/g-$v" transformer.ln_f.weight 0 "$v"
	status_is 1 "generate: $v weights are an error" gen "$T/g-$v" -o "$T/gen.jsonl"
	same "generate: $v names the record" "$(last_stderr | grep -c 'prompts.jsonl:1: .*not finite')" "1"
done
# poisoned from position 40 on: the prompts start well, then the logits go bad
cp -r "$T/g" "$T/g-late"
poison "$T/g-late" transformer.wpe.weight 40 nan
status_is 1 "generate: logits that turn non-finite mid-response" gen "$T/g-late" --batch-size 1
same "generate: the record is named" "$(last_stderr | grep -c 'prompts.jsonl:1: .*not finite')" "1"
