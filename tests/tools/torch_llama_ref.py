"""torch_llama_ref.py — an independent Llama/Qwen2/Qwen3 in plain PyTorch (float64).

  make DIR VARIANT        write a Hugging Face checkpoint directory of the variant (llama:
                          GQA, all attention biases, Llama-3 rope scaling, untied, bf16 in
                          two shards with an index; qwen2: q/k/v biases, tied, fp32;
                          qwen3: q/k norms, head_dim x heads != hidden_size, bf16)
  logps DIR BATCHES       compare rad-logps' ref_logp (BATCHES: rad-dump JSONL) with this
                          model's log-probs, each sequence run alone at its batch positions
  grads DIR BATCHES GRADS LOG BETA EPS SFTW [TOL]
                          compare rad-train-step's first DPO loss and gradients (--dump-grads),
                          to TOL relative (default 1e-4)

Written from the Hugging Face modelling semantics (rotate-half RoPE, repeat_interleave
for grouped-query attention, RMSNorm in the weight's dtype after normalising), not from
rad's code.  Prints ok/FAIL lines for tests/run."""
import json, math, os, sys
import numpy as np
import torch
from torch_common import preference_loss, read_st, records, write_st

VARIANTS = {
    "llama": dict(arch="LlamaForCausalLM", hidden=16, heads=4, kv=2, head_dim=4, ffn=24, tied=False,
                  theta=10000.0, bias=True, scaling=dict(rope_type="llama3", factor=4.0, low_freq_factor=1.0,
                                                         high_freq_factor=4.0, original_max_position_embeddings=8),
                  dtype="BF16", shards=2),
    "qwen2": dict(arch="Qwen2ForCausalLM", hidden=16, heads=4, kv=1, head_dim=4, ffn=20, tied=True,
                  theta=1000000.0, bias=True, scaling=None, dtype="F32", shards=1),
    "qwen3": dict(arch="Qwen3ForCausalLM", hidden=16, heads=4, kv=2, head_dim=8, ffn=24, tied=False,
                  theta=1000000.0, bias=False, scaling=None, dtype="BF16", shards=1),
}
VOCAB, LAYERS, CTX, EPS = 64, 2, 32, 1e-6


def read_dir(d):
    if os.path.exists(d + "/model.safetensors"):
        return read_st(d + "/model.safetensors")
    W = {}
    for f in sorted(set(json.load(open(d + "/model.safetensors.index.json"))["weight_map"].values())):
        W.update(read_st(d + "/" + f))
    return W


def make(d, variant):
    v = VARIANTS[variant]
    rng = np.random.default_rng(1234 + len(variant))
    C, H, G, D, F = v["hidden"], v["heads"], v["kv"], v["head_dim"], v["ffn"]
    cfg = {"architectures": [v["arch"]], "model_type": variant, "vocab_size": VOCAB, "hidden_size": C,
           "intermediate_size": F, "num_hidden_layers": LAYERS, "num_attention_heads": H,
           "num_key_value_heads": G, "head_dim": D, "hidden_act": "silu", "max_position_embeddings": CTX,
           "rms_norm_eps": EPS, "rope_theta": v["theta"], "rope_scaling": v["scaling"],
           "tie_word_embeddings": v["tied"], "torch_dtype": "bfloat16" if v["dtype"] == "BF16" else "float32"}
    if variant != "qwen2":
        cfg["attention_bias"] = v["bias"]
    W = {}
    r = lambda *s: rng.normal(0, 0.3, s).astype(np.float32)
    W["model.embed_tokens.weight"] = r(VOCAB, C)
    for l in range(LAYERS):
        p = "model.layers.%d." % l
        W[p + "input_layernorm.weight"] = 1 + r(C)
        W[p + "self_attn.q_proj.weight"] = r(H * D, C)
        W[p + "self_attn.k_proj.weight"] = r(G * D, C)
        W[p + "self_attn.v_proj.weight"] = r(G * D, C)
        if v["bias"]:
            W[p + "self_attn.q_proj.bias"] = r(H * D)
            W[p + "self_attn.k_proj.bias"] = r(G * D)
            W[p + "self_attn.v_proj.bias"] = r(G * D)
        if variant == "qwen3":
            W[p + "self_attn.q_norm.weight"] = 1 + r(D)
            W[p + "self_attn.k_norm.weight"] = 1 + r(D)
        W[p + "self_attn.o_proj.weight"] = r(C, H * D)
        if v["bias"] and variant == "llama":
            W[p + "self_attn.o_proj.bias"] = r(C)
        W[p + "post_attention_layernorm.weight"] = 1 + r(C)
        W[p + "mlp.gate_proj.weight"] = r(F, C)
        W[p + "mlp.up_proj.weight"] = r(F, C)
        W[p + "mlp.down_proj.weight"] = r(C, F)
    W["model.norm.weight"] = 1 + r(C)
    if not v["tied"]:
        W["lm_head.weight"] = r(VOCAB, C)
    os.makedirs(d, exist_ok=True)
    json.dump(cfg, open(d + "/config.json", "w"), indent=2)
    names = list(W)
    if v["shards"] == 1:
        write_st(d + "/model.safetensors", W, v["dtype"])
    else:
        k = len(names) // 2
        parts = [names[:k], names[k:]]
        wmap = {}
        for i, part in enumerate(parts):
            fn = "model-%05d-of-%05d.safetensors" % (i + 1, len(parts))
            write_st(d + "/" + fn, {n: W[n] for n in part}, v["dtype"])
            wmap.update({n: fn for n in part})
        json.dump({"metadata": {"total_size": 0}, "weight_map": wmap}, open(d + "/model.safetensors.index.json", "w"))


class Model:
    def __init__(self, d):
        self.cfg = json.load(open(d + "/config.json"))
        self.W = {k: t.requires_grad_(True) for k, t in read_dir(d).items()}
        c = self.cfg
        self.C, self.H, self.G = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"]
        self.D = c.get("head_dim") or self.C // self.H
        self.L, self.eps, self.qk = c["num_hidden_layers"], c["rms_norm_eps"], c["model_type"] == "qwen3"
        D = self.D
        inv = 1.0 / (c["rope_theta"] ** (torch.arange(0, D, 2, dtype=torch.float64) / D))
        rs = c.get("rope_scaling")
        if rs and rs.get("rope_type") == "llama3":
            f, lo, hi, old = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"], rs["original_max_position_embeddings"]
            wl = 2 * math.pi / inv
            scaled = torch.where(wl > old / lo, inv / f, inv)
            s = (old / wl - lo) / (hi - lo)
            smooth = (1 - s) * scaled / f + s * scaled
            medium = (wl >= old / hi) & (wl <= old / lo)
            inv = torch.where(medium, smooth, scaled)
        self.inv = inv

    def rms(self, x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * w

    def lin(self, x, name):
        y = x @ self.W[name + ".weight"].T
        b = self.W.get(name + ".bias")
        return y if b is None else y + b

    def seq_logp(self, tokens, pos, targets, mask):
        W, H, G, D, n = self.W, self.H, self.G, self.D, len(tokens)
        x = W["model.embed_tokens.weight"][torch.tensor(tokens)]
        fr = torch.tensor(pos, dtype=torch.float64)[:, None] * self.inv[None, :]
        emb = torch.cat((fr, fr), -1)
        cos, sin = emb.cos()[:, None, :], emb.sin()[:, None, :]

        def rot(z):
            z1, z2 = z[..., :D // 2], z[..., D // 2:]
            return z * cos + torch.cat((-z2, z1), -1) * sin
        causal = torch.tril(torch.ones(n, n, dtype=torch.bool))
        for l in range(self.L):
            p = "model.layers.%d." % l
            h = self.rms(x, W[p + "input_layernorm.weight"])
            q = self.lin(h, p + "self_attn.q_proj").view(n, H, D)
            k = self.lin(h, p + "self_attn.k_proj").view(n, G, D)
            v = self.lin(h, p + "self_attn.v_proj").view(n, G, D)
            if self.qk:
                q = self.rms(q, W[p + "self_attn.q_norm.weight"])
                k = self.rms(k, W[p + "self_attn.k_norm.weight"])
            q, k = rot(q), rot(k)
            k = k.repeat_interleave(H // G, dim=1)
            v = v.repeat_interleave(H // G, dim=1)
            q, k, v = q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1)
            att = (q @ k.transpose(1, 2)) / math.sqrt(D)
            att = att.masked_fill(~causal, float("-inf")).softmax(-1)
            y = (att @ v).transpose(0, 1).reshape(n, H * D)
            x = x + self.lin(y, p + "self_attn.o_proj")
            h = self.rms(x, W[p + "post_attention_layernorm.weight"])
            g = self.lin(h, p + "mlp.gate_proj")
            x = x + self.lin(torch.nn.functional.silu(g) * self.lin(h, p + "mlp.up_proj"), p + "mlp.down_proj")
        x = self.rms(x, W["model.norm.weight"])
        head = W.get("lm_head.weight", W["model.embed_tokens.weight"])
        logp = (x @ head.T).log_softmax(-1)
        sel = [i for i in range(n) if mask[i]]
        return logp[sel, [targets[i] for i in sel]].sum(), len(sel)

    def batch(self, rec):
        T, S = rec["cols"], len(rec["seq_len"])
        lp, nt = [], []
        for s in range(S):
            base = rec["seq_row"][s] * T + rec["seq_start"][s]
            sl = slice(base, base + rec["seq_len"][s])
            a, b = self.seq_logp(rec["tokens"][sl], rec["position"][sl], rec["targets"][sl], rec["loss_mask"][sl])
            lp.append(a)
            nt.append(b)
        return lp, nt


def main():
    mode = sys.argv[1]
    if mode == "make":
        make(sys.argv[2], sys.argv[3])
        return 0
    m = Model(sys.argv[2])
    name = m.cfg["model_type"]
    fails = 0
    if mode == "logps":
        worst, count = 0.0, 0
        for rec in records(sys.argv[3]):
            lp, nt = m.batch(rec)
            for s in range(len(lp)):
                worst = max(worst, abs(lp[s].item() - rec["ref_logp"][s]) / max(1.0, abs(lp[s].item())))
                fails += nt[s] != rec["ref_ntok"][s]
                count += 1
        if worst <= 1e-4 and not fails and count:
            print("ok torch %s: log-probs of %d sequences within %.2g" % (name, count, worst))
        else:
            print("FAIL torch %s: log-probs differ by %.3g (%d token counts differ)" % (name, worst, fails))
            fails += 1
        return 1 if fails else 0
    grads_path, log_path = sys.argv[4], sys.argv[5]
    beta, eps, sftw = map(float, sys.argv[6:9])
    tol = float(sys.argv[9]) if len(sys.argv) > 9 else 1e-4
    if tol != 1e-4:
        name += " (tolerance %.2g)" % tol
    rec = records(sys.argv[3])[0]
    lp, nt = m.batch(rec)
    loss = preference_loss(rec, lp, nt, "dpo", beta, eps, sftw)
    loss.backward()
    got = json.loads(open(log_path).readline())["loss"]
    rel = abs(got - loss.item()) / abs(loss.item())
    if rel <= tol:
        print("ok torch %s: dpo loss %.8f vs %.8f (rel %.2g)" % (name, got, loss.item(), rel))
    else:
        print("FAIL torch %s: dpo loss %.8f vs PyTorch %.8f (rel %.2g)" % (name, got, loss.item(), rel))
        fails += 1
    G = read_st(grads_path)
    worst, wname = 0.0, ""
    for k, t in m.W.items():
        if k not in G:
            print("FAIL torch %s: no gradient for %s" % (name, k))
            fails += 1
            continue
        d = (G[k] - t.grad).norm().item() / max(t.grad.norm().item(), 1e-30)
        if d > worst:
            worst, wname = d, k
    extra = sorted(set(G) - set(m.W))
    if worst <= tol and not extra:
        print("ok torch %s: gradients of %d tensors within %.2g relative" % (name, len(m.W), worst))
    else:
        print("FAIL torch %s: gradient of %s differs by %.3g relative; unknown names %s" % (name, wname, worst, extra[:3]))
        fails += 1
    return 1 if fails else 0


sys.exit(main())
