"""eval_torch.py MODEL_DIR PROMPT_LEN NEW_TOKENS BATCH

Greedy decoding of a rad GPT-2 checkpoint in PyTorch (float32, a key/value cache, no
autograd), on the same prompts eval_gen.c makes, for tests/bench/eval.sh.  Prints the
same JSON line as eval_gen: tokens, wall and CPU seconds, tokens/s, first sequence's ids."""
import json, math, os, sys, time
import torch
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from torch_common import read_st  # noqa: E402

mdir, np_, nn, B = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
torch.set_grad_enabled(False)


cfg = json.load(open(mdir + "/config.json"))
W = {k.removeprefix("transformer."): t for k, t in read_st(mdir + "/model.safetensors", torch.float32).items()}
L, H, C, V = cfg["n_layer"], cfg["n_head"], cfg["n_embd"], cfg["vocab_size"]
D = C // H
eps = cfg.get("layer_norm_epsilon", 1e-5)
lm_head = W.get("lm_head.weight", W["wte.weight"])


def ln(x, p):
    return torch.nn.functional.layer_norm(x, (C,), W[p + ".weight"], W[p + ".bias"], eps)


def attend(q, k, v):
    """Causal attention written out (torch 1.13 has no scaled_dot_product_attention):
    the n new queries sit at the end of the t cached positions."""
    n, t = q.shape[2], k.shape[2]
    a = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    if n > 1:
        mask = torch.ones(n, t, dtype=torch.bool).tril(t - n)
        a = a.masked_fill(~mask, float("-inf"))
    return a.softmax(-1) @ v


def step(tok, start, cache):
    """tok [B, n] at positions start.. ; cache: per layer (k, v) [B, H, t, D] or None."""
    Bn, n = tok.shape
    x = W["wte.weight"][tok] + W["wpe.weight"][start:start + n]
    for l in range(L):
        p = "h.%d." % l
        h = ln(x, p + "ln_1")
        q, k, v = (h @ W[p + "attn.c_attn.weight"] + W[p + "attn.c_attn.bias"]).split(C, dim=2)
        q, k, v = (z.view(Bn, n, H, D).transpose(1, 2) for z in (q, k, v))
        if cache[l] is not None:
            k = torch.cat([cache[l][0], k], 2)
            v = torch.cat([cache[l][1], v], 2)
        cache[l] = (k, v)
        y = attend(q, k, v)
        x = x + y.transpose(1, 2).reshape(Bn, n, C) @ W[p + "attn.c_proj.weight"] + W[p + "attn.c_proj.bias"]
        h = ln(x, p + "ln_2") @ W[p + "mlp.c_fc.weight"] + W[p + "mlp.c_fc.bias"]
        h = torch.nn.functional.gelu(h, approximate="tanh")
        x = x + h @ W[p + "mlp.c_proj.weight"] + W[p + "mlp.c_proj.bias"]
    return ln(x[:, -1], "ln_f") @ lm_head.T


prompts = torch.tensor([[(i * 7919 + b * 104729 + 13) % V for i in range(np_)] for b in range(B)])
w0, c0 = time.perf_counter(), time.process_time()
cache = [None] * L
nxt = step(prompts, 0, cache).argmax(-1)
out = [nxt]
for t in range(1, nn):
    nxt = step(nxt[:, None], np_ + t - 1, cache).argmax(-1)
    out.append(nxt)
w, c = time.perf_counter() - w0, time.process_time() - c0
ids = [int(o[0]) for o in out]
print(json.dumps({"mode": "torch", "batch": B, "tokens": B * nn, "wall_s": round(w, 4), "cpu_s": round(c, 4),
                  "tokens_per_s": round(B * nn / w, 1), "threads": torch.get_num_threads(), "ids": ids},
                 separators=(",", ":")))
