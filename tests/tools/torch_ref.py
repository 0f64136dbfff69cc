"""torch_ref.py MODEL_DIR BATCHES_JSONL GRADS LOG LOSS BETA EPS SFTW [TOL]

An independent GPT-2 in PyTorch (float64), written from the Hugging Face GPT2LMHeadModel
semantics: Conv1D weights [in, out], pre-LayerNorm, GELU-tanh, tied LM head.  Each
sequence runs alone (no packing), so it also checks that rad's packed attention keeps
sequences apart.  Compares the loss and every weight's gradient with what rad-train-step
wrote (--dump-grads) for the first batch, to TOL relative (default 1e-4).  Prints ok/FAIL
lines for tests/run."""
import json, math, sys
import torch
from torch_common import preference_loss, read_st

mdir, batches, grads_path, log_path, loss_kind, beta, eps, sftw = sys.argv[1:9]
beta, eps, sftw = float(beta), float(eps), float(sftw)
tol = float(sys.argv[9]) if len(sys.argv) > 9 else 1e-4

cfg = json.load(open(mdir + "/config.json"))
W = {k: t.requires_grad_(True) for k, t in read_st(mdir + "/model.safetensors").items()}
L, H, C = cfg["n_layer"], cfg["n_head"], cfg["n_embd"]
D = C // H
epsln = cfg["layer_norm_epsilon"]


def ln(x, p):
    return torch.nn.functional.layer_norm(x, (C,), W[p + ".weight"], W[p + ".bias"], epsln)


def seq_logp(tokens, pos, targets, mask):
    t = torch.tensor(tokens)
    x = W["transformer.wte.weight"][t] + W["transformer.wpe.weight"][torch.tensor(pos)]
    n = len(tokens)
    causal = torch.tril(torch.ones(n, n, dtype=torch.bool))
    for l in range(L):
        p = "transformer.h.%d." % l
        h = ln(x, p + "ln_1")
        qkv = h @ W[p + "attn.c_attn.weight"] + W[p + "attn.c_attn.bias"]
        q, k, v = qkv.split(C, dim=1)
        q, k, v = (z.view(n, H, D).transpose(0, 1) for z in (q, k, v))
        att = (q @ k.transpose(1, 2)) / math.sqrt(D)
        att = att.masked_fill(~causal, float("-inf")).softmax(-1)
        y = (att @ v).transpose(0, 1).reshape(n, C)
        x = x + y @ W[p + "attn.c_proj.weight"] + W[p + "attn.c_proj.bias"]
        h = ln(x, p + "ln_2")
        h = h @ W[p + "mlp.c_fc.weight"] + W[p + "mlp.c_fc.bias"]
        h = 0.5 * h * (1 + torch.tanh(math.sqrt(2 / math.pi) * (h + 0.044715 * h ** 3)))
        x = x + h @ W[p + "mlp.c_proj.weight"] + W[p + "mlp.c_proj.bias"]
    x = ln(x, "transformer.ln_f")
    logp = (x @ W["transformer.wte.weight"].T).log_softmax(-1)
    sel = [i for i in range(n) if mask[i]]
    return logp[sel, [targets[i] for i in sel]].sum(), len(sel)


rec = None
for line in open(batches):
    o = json.loads(line)
    if o.get("type") == "BTCH":
        rec = o
        break
T = rec["cols"]
S = len(rec["seq_len"])
lp, nt = [], []
for s in range(S):
    base = rec["seq_row"][s] * T + rec["seq_start"][s]
    sl = slice(base, base + rec["seq_len"][s])
    a, b = seq_logp(rec["tokens"][sl], rec["position"][sl], rec["targets"][sl], rec["loss_mask"][sl])
    lp.append(a)
    nt.append(b)
loss = preference_loss(rec, lp, nt, loss_kind, beta, eps, sftw)
loss.backward()

fails = 0
got = json.loads(open(log_path).readline())["loss"]
rel = abs(got - loss.item()) / abs(loss.item())
if rel <= tol:
    print("ok torch %s: loss %.8f vs %.8f (rel %.2g, tolerance %.2g)" % (loss_kind, got, loss.item(), rel, tol))
else:
    print("FAIL torch %s: loss %.8f vs PyTorch %.8f (rel %.2g)" % (loss_kind, got, loss.item(), rel))
    fails += 1
G = read_st(grads_path)
worst, wname = 0.0, ""
for k, t in W.items():
    if k not in G:
        print("FAIL torch %s: no gradient for %s" % (loss_kind, k))
        fails += 1
        continue
    ref_g = t.grad
    d = (G[k] - ref_g).norm().item() / max(ref_g.norm().item(), 1e-30)
    if d > worst:
        worst, wname = d, k
if worst <= tol:
    print("ok torch %s: gradients of %d tensors within %.2g relative (tolerance %.2g)" % (loss_kind, len(W), worst, tol))
else:
    print("FAIL torch %s: gradient of %s differs by %.3g relative" % (loss_kind, wname, worst))
    fails += 1
sys.exit(1 if fails else 0)
