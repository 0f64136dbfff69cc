# Generation speed (indicative: the machine is shared; process CPU time printed beside
# wall time): greedy decoding of a small GPT-2 (4 layers, 4 heads, width 256, GPT-2's
# vocabulary) with the key/value cache, one prompt and a batch of 8, against recomputing
# the whole sequence at every step, with bf16 products (--compute bf16), and against
# PyTorch's greedy decoding of the same checkpoint in the same run when torch is
# installed.  The first sequence's ids must agree between the ways (greedy; ties aside).
# Then rad-logps's tokens/s on GPT-2 124M, fp32 and bf16.
set -u
BIN=${RAD_BIN:-bin}
BENCH=${RAD_BENCH:-build/opt/bench}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
TH=${RAD_BENCH_THREADS:-2}
export OMP_NUM_THREADS=$TH OMP_WAIT_POLICY=PASSIVE
NP=${RAD_BENCH_PROMPT:-64} NN=${RAD_BENCH_NEW:-64}
"$BIN/rad-init" --vocab 50257 --layers 4 --heads 4 --dim 256 --context 512 --seed 1 -o "$T/small" 2>/dev/null
echo "small GPT-2 (L4 H4 C256 V50257), prompt $NP tokens, $NN new tokens, $TH threads"
run() { "$BENCH/eval_gen" "$T/small" "$NP" "$NN" "$@"; }
run 1 cache > "$T/c1"
run 1 nocache > "$T/n1"
run 8 cache > "$T/c8"
run 1 cache bf16 > "$T/b1"
run 8 cache bf16 > "$T/b8"
show() { jq -r '"  \(.mode) batch \(.batch): \(.tokens_per_s) tokens/s (\(.tokens) tokens, wall \(.wall_s) s, cpu \(.cpu_s) s)"' "$1"; }
show "$T/c1"; show "$T/n1"; show "$T/c8"; show "$T/b1"; show "$T/b8"
tps() { jq .tokens_per_s "$1"; }
awk -v a="$(tps "$T/c1")" -v b="$(tps "$T/n1")" -v c="$(tps "$T/c8")" \
	'BEGIN { printf "  cache / recompute: %.2fx; batch 8 / batch 1 with cache: %.2fx\n", a / b, c / a }'
same_ids() { [ "$(jq -c .ids "$1")" = "$(jq -c .ids "$2")" ] && echo same || echo DIFFERENT; }
echo "  ids, cache vs recompute: $(same_ids "$T/c1" "$T/n1"); batch 8 vs 1: $(same_ids "$T/c1" "$T/c8")"
PY=""
for p in python3 /usr/bin/python3; do "$p" -c 'import torch, numpy' 2>/dev/null && PY=$p && break; done
if [ -n "$PY" ]; then
	"$PY" "$(dirname "$0")/eval_torch.py" "$T/small" "$NP" "$NN" 1 > "$T/t1"
	"$PY" "$(dirname "$0")/eval_torch.py" "$T/small" "$NP" "$NN" 8 > "$T/t8"
	show "$T/t1"; show "$T/t8"
	awk -v a="$(tps "$T/c1")" -v b="$(tps "$T/t1")" -v c="$(tps "$T/c8")" -v d="$(tps "$T/t8")" \
		'BEGIN { printf "  rad / torch: batch 1 %.2fx, batch 8 %.2fx\n", a / b, c / d }'
	echo "  ids, rad vs torch: $(same_ids "$T/c1" "$T/t1")"
else
	echo "  skip torch: no python3 with torch and numpy"
fi
# SmolLM2-135M's shape (30 layers, width 576, 9 heads over 3 key/value heads, SwiGLU 1536,
# RoPE, RMSNorm, vocabulary 49152), fresh weights; shorter runs: it is 135M parameters
"$BIN/rad-init" --arch llama --vocab 49152 --layers 30 --heads 9 --kv-heads 3 --dim 576 --ffn 1536 \
	--context 256 --seed 1 -o "$T/smol" 2>/dev/null
SP=${RAD_BENCH_SMOL_PROMPT:-32} SN=${RAD_BENCH_SMOL_NEW:-16}
echo "SmolLM2-shaped (L30 C576 H9 G3 F1536 V49152), prompt $SP tokens, $SN new tokens, $TH threads"
srun() { "$BENCH/eval_gen" "$T/smol" "$SP" "$SN" "$@"; }
srun 1 cache > "$T/s1"
srun 1 nocache > "$T/sn"
srun 8 cache > "$T/s8"
show "$T/s1"; show "$T/sn"; show "$T/s8"
awk -v a="$(tps "$T/s1")" -v b="$(tps "$T/sn")" -v c="$(tps "$T/s8")" \
	'BEGIN { printf "  cache / recompute: %.2fx; batch 8 / batch 1 with cache: %.2fx\n", a / b, c / a }'
echo "  ids, cache vs recompute: $(same_ids "$T/s1" "$T/sn"); batch 8 vs 1: $(same_ids "$T/s1" "$T/s8")"
echo "  (no PyTorch run for this shape: eval_torch.py decodes GPT-2 checkpoints only)"

# rad-logps on GPT-2 124M: 8 sequences of 256 tokens (128 completion) a batch, 4 batches
"$BIN/rad-init" --vocab 50257 --layers 12 --heads 12 --dim 768 --context 1024 --seed 1 -o "$T/gpt2" 2>/dev/null
awk -v seed=1 -v n=4 -v pairs=4 -v vocab=50257 -v plen=128 -v clen=128 -f "$(dirname "$0")/../tools/gen_batches.awk" |
	"$BIN/rad-dump" --encode > "$T/lb"
echo "rad-logps, GPT-2 124M, 4 batches of 8 x 256 tokens, $TH threads:"
for c in fp32 bf16; do
	/usr/bin/time -f "%e %U %S" -o "$T/lt" "$BIN/rad-logps" -m "$T/gpt2" --threads "$TH" --compute $c "$T/lb" > /dev/null
	read -r e u s < "$T/lt"
	awk -v c=$c -v e="$e" -v u="$u" -v s="$s" 'BEGIN { printf "  %s: %.0f tokens/s (8192 tokens, wall %.1f s with the model load, cpu %.1f s)\n", c, 8192 / e, e, u + s }'
done
