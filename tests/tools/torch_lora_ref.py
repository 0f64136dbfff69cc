"""torch_lora_ref.py — an independent float64 PyTorch LoRA reference for rad (tests/tools/lora.sh).

  make DIR ARCH                 a Hugging Face checkpoint (gpt2: tied, Conv1D weights [in, out];
                                llama: grouped-query attention, untied), weights large enough that
                                every gradient is clearly non-zero
  adapter MODEL OUT TARGETS R ALPHA RSLORA
                                a PEFT adapter directory for MODEL (adapter_config.json +
                                adapter_model.safetensors) with A uniform in +-1/sqrt(in) and B
                                non-zero, as a PEFT run would leave it after training
  logps MODEL ADAPTER BATCHES   rad-logps --adapter (BATCHES: rad-dump JSONL) against the model with
                                the adapter, each sequence run alone at its batch positions
  step MODEL ADAPTER BATCHES GRADS LOG OUT LR WD CLIP BETA EPS SFTW
                                the first DPO step of rad-train-step --adapter: loss (LOG), the
                                gradients of every A and B (GRADS, --dump-grads), and one AdamW step
                                (torch.optim.AdamW after clip_grad_norm_) against the adapter and
                                optimizer moments rad saved in OUT, all to 1e-5
  fresh MODEL BATCHES GRADS LOG OUT BETA EPS SFTW
                                the first step of a fresh adapter (--lora-rank): B = 0, so the loss is
                                the reference's, A's gradient is zero and B's is checked (A read back
                                from OUT, which a step without weight decay leaves as initialised)

The LoRA math is PEFT's Linear, written here: y = base(x) + scaling * lora_B(lora_A(x)), scaling =
lora_alpha / r (use_rslora: / sqrt(r)); tensor names base_model.model.<module>.lora_A.weight [r, in]
and .lora_B.weight [out, r], also for GPT-2's Conv1D modules (fan_in_fan_out).  The transformer is
written from the Hugging Face modelling semantics, not from rad's code.  Prints ok/FAIL lines."""
import json, math, os, sys
import numpy as np
import torch
from torch_common import preference_loss, read_st, records, write_st

VOCAB, LAYERS, CTX, C = 64, 2, 32, 16
TOL = 1e-5


def modules(cfg):
    """Every linear module: name -> (in_features, out_features)."""
    out = {}
    if cfg["model_type"] == "gpt2":
        d, f = cfg["n_embd"], cfg.get("n_inner") or 4 * cfg["n_embd"]
        for l in range(cfg["n_layer"]):
            p = "transformer.h.%d." % l
            out[p + "attn.c_attn"] = (d, 3 * d)
            out[p + "attn.c_proj"] = (d, d)
            out[p + "mlp.c_fc"] = (d, f)
            out[p + "mlp.c_proj"] = (f, d)
        return out
    d, f, h, g = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg.get("head_dim") or d // h
    for l in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % l
        out[p + "self_attn.q_proj"] = (d, h * hd)
        out[p + "self_attn.k_proj"] = (d, g * hd)
        out[p + "self_attn.v_proj"] = (d, g * hd)
        out[p + "self_attn.o_proj"] = (h * hd, d)
        out[p + "mlp.gate_proj"] = (d, f)
        out[p + "mlp.up_proj"] = (d, f)
        out[p + "mlp.down_proj"] = (f, d)
    return out


def targeted(cfg, targets):
    """PEFT's matching: a module is adapted when its name ends with a target (after a dot)."""
    return [m for m in modules(cfg) if any(m == t or m.endswith("." + t) for t in targets)]


def make(d, arch):
    rng = np.random.default_rng(4321 + len(arch))
    r = lambda *s: rng.normal(0, 0.3, s).astype(np.float32)
    W = {}
    if arch == "gpt2":
        cfg = {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "vocab_size": VOCAB, "n_positions": CTX,
               "n_ctx": CTX, "n_embd": C, "n_layer": LAYERS, "n_head": 2, "n_inner": None, "activation_function": "gelu_new",
               "layer_norm_epsilon": 1e-5, "tie_word_embeddings": True}
        W["transformer.wte.weight"] = r(VOCAB, C)
        W["transformer.wpe.weight"] = r(CTX, C)
        for l in range(LAYERS):
            p = "transformer.h.%d." % l
            for ln in ("ln_1", "ln_2"):
                W[p + ln + ".weight"] = 1 + r(C) / 3
                W[p + ln + ".bias"] = r(C) / 3
            for m, (i, o) in modules(cfg).items():
                if m.startswith(p):
                    W[m + ".weight"] = r(i, o)          # Conv1D: [in, out]
                    W[m + ".bias"] = r(o) / 3
        W["transformer.ln_f.weight"] = 1 + r(C) / 3
        W["transformer.ln_f.bias"] = r(C) / 3
    else:
        cfg = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": VOCAB, "hidden_size": C,
               "intermediate_size": 24, "num_hidden_layers": LAYERS, "num_attention_heads": 4, "num_key_value_heads": 2,
               "head_dim": 4, "hidden_act": "silu", "max_position_embeddings": CTX, "rms_norm_eps": 1e-6,
               "rope_theta": 10000.0, "rope_scaling": None, "attention_bias": False, "tie_word_embeddings": False}
        W["model.embed_tokens.weight"] = r(VOCAB, C)
        for l in range(LAYERS):
            p = "model.layers.%d." % l
            W[p + "input_layernorm.weight"] = 1 + r(C) / 3
            W[p + "post_attention_layernorm.weight"] = 1 + r(C) / 3
            for m, (i, o) in modules(cfg).items():
                if m.startswith(p):
                    W[m + ".weight"] = r(o, i)          # nn.Linear: [out, in]
        W["model.norm.weight"] = 1 + r(C) / 3
        W["lm_head.weight"] = r(VOCAB, C)
    os.makedirs(d, exist_ok=True)
    json.dump(cfg, open(d + "/config.json", "w"), indent=2)
    write_st(d + "/model.safetensors", W)


def make_adapter(mdir, out, targets, rank, alpha, rslora):
    cfg = json.load(open(mdir + "/config.json"))
    rng = np.random.default_rng(99 + rank)
    W = {}
    for m in targeted(cfg, targets):
        i, o = modules(cfg)[m]
        W["base_model.model.%s.lora_A.weight" % m] = rng.uniform(-1, 1, (rank, i)).astype(np.float32) / math.sqrt(i)
        W["base_model.model.%s.lora_B.weight" % m] = rng.normal(0, 0.3, (o, rank)).astype(np.float32)
    os.makedirs(out, exist_ok=True)
    write_st(out + "/adapter_model.safetensors", W)
    json.dump({"base_model_name_or_path": mdir, "bias": "none", "fan_in_fan_out": cfg["model_type"] == "gpt2",
               "inference_mode": True, "init_lora_weights": True, "lora_alpha": alpha, "lora_dropout": 0.0,
               "modules_to_save": None, "peft_type": "LORA", "r": rank, "target_modules": targets,
               "task_type": "CAUSAL_LM", "use_rslora": rslora, "use_dora": False}, open(out + "/adapter_config.json", "w"))


class Model:
    """The base in float64 with a LoRA adapter: lora = {module: (A, B)} (leaf tensors)."""

    def __init__(self, d, lora, scaling):
        self.cfg = json.load(open(d + "/config.json"))
        self.W = read_st(d + "/model.safetensors")
        self.lora, self.s = lora, scaling
        c = self.cfg
        self.gpt2 = c["model_type"] == "gpt2"
        if self.gpt2:
            self.L, self.H, self.C = c["n_layer"], c["n_head"], c["n_embd"]
            self.G, self.D = self.H, self.C // self.H
        else:
            self.L, self.H, self.G, self.C = c["num_hidden_layers"], c["num_attention_heads"], c["num_key_value_heads"], c["hidden_size"]
            self.D = c.get("head_dim") or self.C // self.H
            self.inv = 1.0 / (c["rope_theta"] ** (torch.arange(0, self.D, 2, dtype=torch.float64) / self.D))

    def lin(self, x, m):
        """PEFT's LoRA Linear on module m: base(x) + scaling * lora_B(lora_A(x))."""
        W, b = self.W[m + ".weight"], self.W.get(m + ".bias")
        y = x @ W if self.gpt2 else x @ W.T          # Conv1D [in, out] or Linear [out, in]
        if b is not None:
            y = y + b
        if m in self.lora:
            A, B = self.lora[m]
            y = y + self.s * ((x @ A.T) @ B.T)
        return y

    def seq_logp(self, tokens, pos, targets, mask):
        W, H, G, D, n = self.W, self.H, self.G, self.D, len(tokens)
        causal = torch.tril(torch.ones(n, n, dtype=torch.bool))

        def attend(q, k, v):
            k, v = k.repeat_interleave(H // G, dim=1), v.repeat_interleave(H // G, dim=1)
            q, k, v = q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1)
            att = (q @ k.transpose(1, 2)) / math.sqrt(D)
            att = att.masked_fill(~causal, float("-inf")).softmax(-1)
            return (att @ v).transpose(0, 1).reshape(n, H * D)
        if self.gpt2:
            ln = lambda x, p: torch.nn.functional.layer_norm(x, (self.C,), W[p + ".weight"], W[p + ".bias"], 1e-5)
            x = W["transformer.wte.weight"][torch.tensor(tokens)] + W["transformer.wpe.weight"][torch.tensor(pos)]
            for l in range(self.L):
                p = "transformer.h.%d." % l
                q, k, v = self.lin(ln(x, p + "ln_1"), p + "attn.c_attn").split(self.C, dim=1)
                x = x + self.lin(attend(q.view(n, H, D), k.view(n, H, D), v.view(n, H, D)), p + "attn.c_proj")
                h = self.lin(ln(x, p + "ln_2"), p + "mlp.c_fc")
                h = 0.5 * h * (1 + torch.tanh(math.sqrt(2 / math.pi) * (h + 0.044715 * h ** 3)))
                x = x + self.lin(h, p + "mlp.c_proj")
            x = ln(x, "transformer.ln_f")
            head = W["transformer.wte.weight"]
        else:
            eps = self.cfg["rms_norm_eps"]
            rms = lambda x, w: x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w
            fr = torch.tensor(pos, dtype=torch.float64)[:, None] * self.inv[None, :]
            emb = torch.cat((fr, fr), -1)
            cos, sin = emb.cos()[:, None, :], emb.sin()[:, None, :]
            rot = lambda z: z * cos + torch.cat((-z[..., D // 2:], z[..., :D // 2]), -1) * sin
            x = W["model.embed_tokens.weight"][torch.tensor(tokens)]
            for l in range(self.L):
                p = "model.layers.%d." % l
                h = rms(x, W[p + "input_layernorm.weight"])
                q = rot(self.lin(h, p + "self_attn.q_proj").view(n, H, D))
                k = rot(self.lin(h, p + "self_attn.k_proj").view(n, G, D))
                v = self.lin(h, p + "self_attn.v_proj").view(n, G, D)
                x = x + self.lin(attend(q, k, v), p + "self_attn.o_proj")
                h = rms(x, W[p + "post_attention_layernorm.weight"])
                x = x + self.lin(torch.nn.functional.silu(self.lin(h, p + "mlp.gate_proj")) * self.lin(h, p + "mlp.up_proj"),
                                 p + "mlp.down_proj")
            x = rms(x, W["model.norm.weight"])
            head = W.get("lm_head.weight", W["model.embed_tokens.weight"])
        logp = (x @ head.T).log_softmax(-1)
        sel = [i for i in range(n) if mask[i]]
        return logp[sel, [targets[i] for i in sel]].sum(), len(sel)

    def batch(self, rec):
        T, lp, nt = rec["cols"], [], []
        for s in range(len(rec["seq_len"])):
            base = rec["seq_row"][s] * T + rec["seq_start"][s]
            sl = slice(base, base + rec["seq_len"][s])
            a, b = self.seq_logp(rec["tokens"][sl], rec["position"][sl], rec["targets"][sl], rec["loss_mask"][sl])
            lp.append(a)
            nt.append(b)
        return lp, nt


def load_adapter(adir):
    """PEFT's directory: {module: (A, B)} as leaf tensors needing grad, the scaling, the config."""
    cfg = json.load(open(adir + "/adapter_config.json"))
    T = read_st(adir + "/adapter_model.safetensors")
    lora = {}
    for k in T:
        assert k.startswith("base_model.model.") and k.endswith((".lora_A.weight", ".lora_B.weight")), k
        m = k[len("base_model.model."):-len(".lora_A.weight")]
        lora[m] = (T["base_model.model.%s.lora_A.weight" % m].requires_grad_(True),
                   T["base_model.model.%s.lora_B.weight" % m].requires_grad_(True))
    r = cfg["r"]
    return lora, cfg["lora_alpha"] / (math.sqrt(r) if cfg.get("use_rslora") else r), cfg


def dpo_loss(m, rec, beta, eps, sftw):
    lp, nt = m.batch(rec)
    return preference_loss(rec, lp, nt, "dpo", beta, eps, sftw)


class Report:
    def __init__(self, name):
        self.name, self.fails = name, 0

    def check(self, what, rel):
        if rel <= TOL:
            print("ok lora torch %s: %s within %.2g" % (self.name, what, rel))
        else:
            print("FAIL lora torch %s: %s differs by %.3g relative (tolerance %g)" % (self.name, what, rel, TOL))
            self.fails += 1

    def fail(self, what):
        print("FAIL lora torch %s: %s" % (self.name, what))
        self.fails += 1


def rel(a, b):
    return (a - b).norm().item() / max(b.norm().item(), 1e-30)


def compare_tensors(rep, what, got, want):
    """got, want: {name: tensor}; the same names, each within TOL (relative norm)."""
    if set(got) != set(want):
        rep.fail("%s: names differ: rad has %s more, %s fewer" % (what, sorted(set(got) - set(want))[:2],
                                                                   sorted(set(want) - set(got))[:2]))
        return
    rep.check("%s of %d tensors" % (what, len(want)), max(rel(got[k], want[k]) for k in want))


def grads_of(lora):
    return {"base_model.model.%s.lora_%s.weight" % (m, ab): t.grad for m, (A, B) in lora.items() for ab, t in (("A", A), ("B", B))}


def main():
    mode, a = sys.argv[1], sys.argv[2:]
    if mode == "make":
        make(a[0], a[1])
        return 0
    if mode == "adapter":
        make_adapter(a[0], a[1], a[2].split(","), int(a[3]), float(a[4]), a[5] == "1")
        return 0
    cfg = json.load(open(a[0] + "/config.json"))
    rep = Report(cfg["model_type"])
    if mode == "logps":
        lora, s, _ = load_adapter(a[1])
        m = Model(a[0], lora, s)
        worst, count = 0.0, 0
        with torch.no_grad():
            for rec in records(a[2]):
                lp, nt = m.batch(rec)
                for i in range(len(lp)):
                    worst = max(worst, abs(lp[i].item() - rec["ref_logp"][i]) / max(1.0, abs(lp[i].item())))
                    count += 1
        rep.check("log-probs with the adapter (rad-logps --adapter), %d sequences," % count, worst)
        return 1 if rep.fails else 0
    if mode == "step":
        mdir, adir, bpath, gpath, log, out = a[:6]
        lr, wd, clip, beta, eps, sftw = map(float, a[6:12])
        lora, s, acfg = load_adapter(adir)
        loss = dpo_loss(Model(mdir, lora, s), records(bpath)[0], beta, eps, sftw)
        loss.backward()
        got = json.loads(open(log).readline())["loss"]
        rep.check("DPO loss %.10f (rad %.10f)" % (loss.item(), got), abs(got - loss.item()) / abs(loss.item()))
        compare_tensors(rep, "adapter gradients", read_st(gpath), grads_of(lora))
        # one AdamW step, as torch does it: clip the global norm, then AdamW
        params = [t for AB in lora.values() for t in AB]
        torch.nn.utils.clip_grad_norm_(params, clip)
        opt = torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=wd)
        opt.step()
        after = read_st(out + "/adapter_model.safetensors")
        want = {"base_model.model.%s.lora_%s.weight" % (m, ab): t.detach() for m, (A, B) in lora.items()
                for ab, t in (("A", A), ("B", B))}
        compare_tensors(rep, "adapter after one AdamW step", after, want)
        moments = read_st(out + "/optimizer.safetensors")
        by_name = dict(zip(want, params))
        for key in ("exp_avg", "exp_avg_sq"):   # rad's order: its adapter file's
            flat = torch.cat([opt.state[by_name[k]][key].reshape(-1) for k in after])
            got_m = moments[key].reshape(-1)
            if key == "exp_avg_sq":   # g^2 doubles g's relative error: compare its root, in g's units
                flat, got_m, key = flat.sqrt(), got_m.sqrt(), "sqrt(exp_avg_sq)"
            rep.check("AdamW %s" % key, rel(got_m, flat))
        # the saved adapter is PEFT's: its configuration, and the names PEFT would give
        cfg_out = json.load(open(out + "/adapter_config.json"))
        same = all(cfg_out.get(k) == acfg.get(k) for k in ("r", "lora_alpha", "use_rslora", "peft_type", "fan_in_fan_out"))
        if same and sorted(cfg_out["target_modules"]) == sorted(acfg["target_modules"]) and cfg_out["bias"] == "none":
            print("ok lora torch %s: the saved adapter_config.json is PEFT's, with the adapter's settings" % rep.name)
        else:
            rep.fail("the saved adapter_config.json differs: %s" % json.dumps(cfg_out)[:300])
        return 1 if rep.fails else 0
    if mode == "fresh":
        mdir, bpath, gpath, log, out = a[:5]
        beta, eps, sftw = map(float, a[5:8])
        saved, s, acfg = load_adapter(out)
        lora = {m: (A.detach().clone().requires_grad_(True), torch.zeros_like(B).requires_grad_(True)) for m, (A, B) in saved.items()}
        bound = max((A.abs().max().item() * math.sqrt(A.shape[1]) for A, _ in lora.values()))
        if bound > 1 + 1e-6:
            rep.fail("A is not within PEFT's Kaiming-uniform bound 1/sqrt(in) (%.4g x the bound)" % bound)
        loss = dpo_loss(Model(mdir, lora, s), records(bpath)[0], beta, eps, sftw)
        loss.backward()
        got = json.loads(open(log).readline())["loss"]
        rep.check("fresh adapter: loss %.10f is the reference's (rad %.10f)" % (loss.item(), got), abs(got - loss.item()) / abs(loss.item()))
        G = read_st(gpath)
        zero = max(G[k].abs().max().item() for k in G if ".lora_A." in k)
        if zero == 0:
            print("ok lora torch %s: fresh adapter: A's gradient is zero while B = 0" % rep.name)
        else:
            rep.fail("fresh adapter: A's gradient is %.3g, not zero, with B = 0" % zero)
        want = {k: v for k, v in grads_of(lora).items() if ".lora_B." in k}
        compare_tensors(rep, "fresh adapter: B gradients", {k: v for k, v in G.items() if ".lora_B." in k}, want)
        return 1 if rep.fails else 0
    raise SystemExit("unknown mode " + mode)


sys.exit(main())
