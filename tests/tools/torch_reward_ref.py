"""torch_reward_ref.py — reward models (Hugging Face ...ForSequenceClassification) in plain
PyTorch, float64, for tests/tools/torch_reward.sh.

  make DIR ARCH VOCAB LABELS PAD   write a checkpoint: ARCH gpt2, llama, qwen2 or qwen3;
                                   LABELS comma-separated id2label names; PAD the
                                   pad_token_id, or "none" for a config without one
  check DIR SCORED                 SCORED: rad-eval reward --ids output (one response per
                                   line, or grouped in "responses"); each response's
                                   score(s) against this model's, within 1e-5

Written from the transformers modelling semantics, not from rad's code: GPT-2 with Conv1D
weights [in, out], pre-LayerNorm and GELU-tanh; Llama/Qwen2/Qwen3 with RMSNorm (and per-head
q/k norms for Qwen3), rotate-half RoPE, grouped-query attention by repeat_interleave and
SwiGLU; then score = Linear(hidden, num_labels, bias=False) on the final-norm hidden state
of the last token that is not pad_token_id ((arange * (ids != pad)).argmax(), as
transformers >= 4.48 pools), or of the last token when the config has no pad_token_id.
Prints ok/FAIL lines for tests/run."""
import json, math, struct, sys
import numpy as np
import torch

CTX, LAYERS = 64, 2
SHAPES = {  # hidden, heads, kv heads, head_dim, ffn, q/k/v biases, dtype on disk
    "gpt2": (16, 4, 4, 4, 64, True, "F32"),
    "llama": (16, 4, 2, 4, 24, False, "F32"),
    "qwen2": (16, 4, 1, 4, 20, True, "F32"),
    "qwen3": (16, 4, 2, 8, 24, False, "BF16"),
}
ARCH = {"gpt2": "GPT2", "llama": "Llama", "qwen2": "Qwen2", "qwen3": "Qwen3"}


def save(path, tensors, dtype):
    """safetensors: an 8-byte header length, the JSON header, the raw little-endian data."""
    header, chunks, at = {}, [], 0
    for name, a in tensors.items():
        if dtype == "BF16":  # round to nearest even, keep the top 16 bits
            u = a.astype("<f4").view("<u4").astype(np.uint64)
            data = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype("<u2").tobytes()
        else:
            data = a.astype("<f4").tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [at, at + len(data)]}
        chunks.append(data)
        at += len(data)
    head = json.dumps(header).encode()
    head += b" " * (-len(head) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for c in chunks:
            f.write(c)


def load(path):
    blob = open(path, "rb").read()
    (hl,) = struct.unpack("<Q", blob[:8])
    out = {}
    for name, t in json.loads(blob[8:8 + hl]).items():
        if name == "__metadata__":
            continue
        lo, hi = t["data_offsets"]
        raw = blob[8 + hl + lo:8 + hl + hi]
        if t["dtype"] == "BF16":
            a = (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            a = np.frombuffer(raw, "<f4")
        out[name] = torch.from_numpy(a.astype(np.float64).reshape(t["shape"]))
    return out


def make(d, arch, vocab, labels, pad):
    import os
    C, H, G, D, F, bias, dtype = SHAPES[arch]
    rng = np.random.default_rng(2024 + len(arch))
    r = lambda *s: rng.normal(0, 0.3, s).astype(np.float32)
    K = len(labels)
    W = {}
    cfg = {"architectures": [ARCH[arch] + "ForSequenceClassification"], "model_type": arch, "vocab_size": vocab,
           "id2label": {str(i): n for i, n in enumerate(labels)}, "label2id": {n: i for i, n in enumerate(labels)},
           "torch_dtype": "bfloat16" if dtype == "BF16" else "float32"}
    if pad is not None:
        cfg["pad_token_id"] = pad
    if arch == "gpt2":
        cfg.update(n_embd=C, n_head=H, n_layer=LAYERS, n_positions=CTX, n_ctx=CTX, layer_norm_epsilon=1e-5,
                   activation_function="gelu_new")
        W["transformer.wte.weight"] = r(vocab, C)
        W["transformer.wpe.weight"] = r(CTX, C)
        for l in range(LAYERS):
            p = "transformer.h.%d." % l
            for ln in ("ln_1", "ln_2"):
                W[p + ln + ".weight"], W[p + ln + ".bias"] = 1 + r(C), r(C)
            W[p + "attn.c_attn.weight"], W[p + "attn.c_attn.bias"] = r(C, 3 * C), r(3 * C)
            W[p + "attn.c_proj.weight"], W[p + "attn.c_proj.bias"] = r(C, C), r(C)
            W[p + "mlp.c_fc.weight"], W[p + "mlp.c_fc.bias"] = r(C, F), r(F)
            W[p + "mlp.c_proj.weight"], W[p + "mlp.c_proj.bias"] = r(F, C), r(C)
        W["transformer.ln_f.weight"], W["transformer.ln_f.bias"] = 1 + r(C), r(C)
    else:
        cfg.update(hidden_size=C, num_attention_heads=H, num_key_value_heads=G, head_dim=D, intermediate_size=F,
                   num_hidden_layers=LAYERS, max_position_embeddings=CTX, rms_norm_eps=1e-6, rope_theta=1000.0,
                   hidden_act="silu", tie_word_embeddings=False)
        W["model.embed_tokens.weight"] = r(vocab, C)
        for l in range(LAYERS):
            p = "model.layers.%d." % l
            W[p + "input_layernorm.weight"] = 1 + r(C)
            W[p + "post_attention_layernorm.weight"] = 1 + r(C)
            for nm, rows in (("q", H * D), ("k", G * D), ("v", G * D)):
                W[p + "self_attn.%s_proj.weight" % nm] = r(rows, C)
                if bias:
                    W[p + "self_attn.%s_proj.bias" % nm] = r(rows)
            if arch == "qwen3":
                W[p + "self_attn.q_norm.weight"], W[p + "self_attn.k_norm.weight"] = 1 + r(D), 1 + r(D)
            W[p + "self_attn.o_proj.weight"] = r(C, H * D)
            W[p + "mlp.gate_proj.weight"], W[p + "mlp.up_proj.weight"] = r(F, C), r(F, C)
            W[p + "mlp.down_proj.weight"] = r(C, F)
        W["model.norm.weight"] = 1 + r(C)
    W["score.weight"] = r(K, C)
    os.makedirs(d, exist_ok=True)
    json.dump(cfg, open(d + "/config.json", "w"), indent=2)
    save(d + "/model.safetensors", W, dtype)


def gpt2_hidden(cfg, W, ids):
    C, H = cfg["n_embd"], cfg["n_head"]
    D, n, eps = C // H, len(ids), cfg["layer_norm_epsilon"]
    ln = lambda x, p: torch.nn.functional.layer_norm(x, (C,), W[p + ".weight"], W[p + ".bias"], eps)
    x = W["transformer.wte.weight"][torch.tensor(ids)] + W["transformer.wpe.weight"][:n]
    causal = torch.ones(n, n, dtype=torch.bool).tril()
    for l in range(cfg["n_layer"]):
        p = "transformer.h.%d." % l
        q, k, v = (ln(x, p + "ln_1") @ W[p + "attn.c_attn.weight"] + W[p + "attn.c_attn.bias"]).split(C, -1)
        q, k, v = (t.reshape(n, H, D).transpose(0, 1) for t in (q, k, v))
        a = ((q @ k.transpose(-1, -2)) / math.sqrt(D)).masked_fill(~causal, -math.inf).softmax(-1)
        x = x + (a @ v).transpose(0, 1).reshape(n, C) @ W[p + "attn.c_proj.weight"] + W[p + "attn.c_proj.bias"]
        u = ln(x, p + "ln_2") @ W[p + "mlp.c_fc.weight"] + W[p + "mlp.c_fc.bias"]
        u = 0.5 * u * (1 + torch.tanh(math.sqrt(2 / math.pi) * (u + 0.044715 * u ** 3)))
        x = x + u @ W[p + "mlp.c_proj.weight"] + W[p + "mlp.c_proj.bias"]
    return ln(x, "transformer.ln_f")


def llama_hidden(cfg, W, ids):
    C, H, G = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    D, n, eps = cfg["head_dim"], len(ids), cfg["rms_norm_eps"]
    rms = lambda x, w: x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w

    def lin(x, name):
        y = x @ W[name + ".weight"].T
        return y + W[name + ".bias"] if name + ".bias" in W else y
    inv = cfg["rope_theta"] ** -(torch.arange(0, D, 2, dtype=torch.float64) / D)
    ang = torch.arange(n, dtype=torch.float64)[:, None] * inv[None, :]
    cos, sin = torch.cat((ang, ang), -1).cos()[None], torch.cat((ang, ang), -1).sin()[None]
    rope = lambda t: t * cos + torch.cat((-t[..., D // 2:], t[..., :D // 2]), -1) * sin
    causal = torch.ones(n, n, dtype=torch.bool).tril()
    x = W["model.embed_tokens.weight"][torch.tensor(ids)]
    for l in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % l
        h = rms(x, W[p + "input_layernorm.weight"])
        q = lin(h, p + "self_attn.q_proj").reshape(n, H, D).transpose(0, 1)
        k = lin(h, p + "self_attn.k_proj").reshape(n, G, D).transpose(0, 1)
        v = lin(h, p + "self_attn.v_proj").reshape(n, G, D).transpose(0, 1)
        if cfg["model_type"] == "qwen3":
            q, k = rms(q, W[p + "self_attn.q_norm.weight"]), rms(k, W[p + "self_attn.k_norm.weight"])
        q, k = rope(q), rope(k).repeat_interleave(H // G, 0)
        v = v.repeat_interleave(H // G, 0)
        a = ((q @ k.transpose(-1, -2)) / math.sqrt(D)).masked_fill(~causal, -math.inf).softmax(-1)
        x = x + lin((a @ v).transpose(0, 1).reshape(n, H * D), p + "self_attn.o_proj")
        h = rms(x, W[p + "post_attention_layernorm.weight"])
        x = x + lin(torch.nn.functional.silu(lin(h, p + "mlp.gate_proj")) * lin(h, p + "mlp.up_proj"), p + "mlp.down_proj")
    return rms(x, W["model.norm.weight"])


def check(d, scored):
    cfg = json.load(open(d + "/config.json"))
    W = load(d + "/model.safetensors")
    labels = [cfg["id2label"][str(i)] for i in range(len(cfg["id2label"]))]
    pad = cfg.get("pad_token_id")
    hidden = gpt2_hidden if cfg["model_type"] == "gpt2" else llama_hidden
    worst, count, fails = 0.0, 0, 0
    for line in open(scored):
        rec = json.loads(line)
        for resp in rec.get("responses", [rec]):
            ids = resp["reward_ids"]
            at = len(ids) - 1 if pad is None else int((torch.arange(len(ids)) * (torch.tensor(ids) != pad)).argmax())
            want = (hidden(cfg, W, ids)[at] @ W["score.weight"].T).tolist()
            got = [resp["score"]] if len(labels) == 1 else [resp["scores"][n] for n in labels]
            if len(labels) > 1 and list(resp["scores"]) != labels:
                fails += 1
                print("FAIL torch reward %s: labels %s, id2label %s" % (cfg["model_type"], list(resp["scores"]), labels))
            for g, w in zip(got, want):
                worst = max(worst, abs(g - w) / max(1.0, abs(w)))
            count += 1
    name = "%s, %d label%s, pad %s" % (cfg["model_type"], len(labels), "s" * (len(labels) > 1), pad)
    if worst <= 1e-5 and count and not fails:
        print("ok torch reward %s: %d responses within %.2g" % (name, count, worst))
        return 0
    print("FAIL torch reward %s: scores of %d responses differ by %.3g" % (name, count, worst))
    return 1


if sys.argv[1] == "make":
    pad = None if sys.argv[6] == "none" else int(sys.argv[6])
    make(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5].split(","), pad)
else:
    sys.exit(check(sys.argv[2], sys.argv[3]))
