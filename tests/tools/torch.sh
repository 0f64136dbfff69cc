#!/usr/bin/env bash
# torch.sh — the same tiny model and batch in PyTorch (float64) give the same loss and
# gradients as rad-train-step, to 1e-4 relative; with --compute bf16 (every product's
# inputs rounded to 8 significant bits, fp32 sums) to 5e-2.  Skipped when no python3 has
# torch.
. "$(dirname "$0")/lib.sh"

need_torch "torch reference"
rad-init --vocab 64 --layers 2 --heads 2 --dim 16 --context 32 --seed 7 -o "$T/m"
awk -v seed=5 -v n=1 -v pairs=3 -v vocab=64 -f "$TOP/tests/tools/gen_batches.awk" | rad-dump --encode > "$T/b"
# a reference that differs from the policy, so DPO's sigmoid is off its midpoint
rad-init --vocab 64 --layers 2 --heads 2 --dim 16 --context 32 --seed 8 -o "$T/ref"
rad-logps -m "$T/ref" "$T/b" > "$T/r"
rad-dump "$T/r" > "$T/r.jsonl"
rad-train-step -m "$T/m" -o "$T/o1" --loss sft --clip 0 --threads 1 --dump-grads "$T/g1" "$T/r" > "$T/l1"
"$py" "$TOP/tests/tools/torch_ref.py" "$T/m" "$T/r.jsonl" "$T/g1" "$T/l1" sft 0 0 0
rad-train-step -m "$T/m" -o "$T/o2" --loss dpo --beta 2 --label-smoothing 0.2 --sft-weight 0.5 --no-ref-check \
	--clip 0 --threads 1 --dump-grads "$T/g2" "$T/r" > "$T/l2"
"$py" "$TOP/tests/tools/torch_ref.py" "$T/m" "$T/r.jsonl" "$T/g2" "$T/l2" dpo 2 0.2 0.5
# bf16 products: the same loss and gradients within bf16's rounding, and not the fp32 bits
rad-train-step -m "$T/m" -o "$T/o3" --loss dpo --beta 2 --label-smoothing 0.2 --sft-weight 0.5 --no-ref-check \
	--clip 0 --threads 1 --compute bf16 --dump-grads "$T/g3" "$T/r" > "$T/l3"
"$py" "$TOP/tests/tools/torch_ref.py" "$T/m" "$T/r.jsonl" "$T/g3" "$T/l3" "dpo bf16" 2 0.2 0.5 5e-2
status_is 1 "bf16 gradients are not the fp32 ones" cmp -s "$T/g2" "$T/g3"
