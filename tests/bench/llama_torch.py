"""llama_torch.py LAYERS DIM HEADS KV_HEADS FFN VOCAB TIED PAIRS PROMPT COMP STEPS THREADS [LOSS] [KEY=VALUE]...

The PyTorch side of the Llama-family DPO bench: the same shape (random weights, fp32),
the same work per step as rad-train-step (chosen and rejected sequences of PROMPT + COMP
tokens, the LM head at completion positions only, DPO against fixed reference
log-probs, AdamW), on THREADS threads; LOSS sft: PAIRS chosen sequences only, their mean
NLL per completion token.  Prints one JSON line: the median step time and
CPU time in seconds over STEPS steps after one warm-up, the peak RSS in KiB and the
number of trainable parameters.
Attention is written out (q k^T, causal mask, softmax, v) so old torch versions run it.

Options after the positional arguments:
  loss=dpo|sft   the same as LOSS
  bias=1         q/k/v biases, as Qwen2 has them (default 0: Llama has none)
  lora=R         LoRA of rank R on q,k,v,o,gate,up,down, the rest frozen (default 0:
                 every weight is trained); written out as PEFT's Linear computes it,
                 y = x W^T + b + (alpha / R) (x A^T) B^T, A Kaiming-uniform, B zero,
                 AdamW over A and B only
  alpha=A        LoRA's alpha (default 2R)
  checkpoint=1   recompute each layer in the backward (torch.utils.checkpoint), as
                 rad-train-step --recompute: only each layer's input is kept"""
import json, math, resource, sys, time
import torch
import torch.nn.functional as F
import torch.utils.checkpoint


def usage(msg):
    sys.exit(f"llama_torch.py: {msg}\n{__doc__.splitlines()[0]}")


if len(sys.argv) < 13:
    usage("12 positional arguments are needed")
L, C, H, G, FF, V, tied, P, LP, LC, steps, threads = map(int, sys.argv[1:13])
opts = {"loss": "dpo", "bias": "0", "lora": "0", "alpha": None, "checkpoint": "0"}
for i, a in enumerate(sys.argv[13:]):
    if i == 0 and a in ("dpo", "sft"):
        opts["loss"] = a
        continue
    k, eq, v = a.partition("=")
    if not eq or k not in opts:
        usage(f"unknown argument {a!r}")
    opts[k] = v
if opts["loss"] not in ("dpo", "sft"):
    usage(f"loss is dpo or sft, not {opts['loss']!r}")
sft = opts["loss"] == "sft"
bias = int(opts["bias"]) != 0
R = int(opts["lora"])
alpha = float(opts["alpha"]) if opts["alpha"] is not None else 2.0 * R
ckpt = int(opts["checkpoint"]) != 0

torch.set_num_threads(threads)
torch.manual_seed(0)
D = C // H
Ln = LP + LC
train_base = R == 0  # under LoRA the model's own weights are frozen: no gradient, no moments


def p(*s, std=0.02):
    return torch.nn.Parameter(torch.randn(*s).mul_(std), requires_grad=train_base)  # in place: no second copy


def ones(n):
    return torch.nn.Parameter(torch.ones(n), requires_grad=train_base)


def adapter(n_out, n_in):
    """PEFT's lora_A (Kaiming-uniform, a = sqrt 5, as nn.Linear) and lora_B (zero)."""
    a = torch.nn.Parameter(torch.empty(R, n_in))
    torch.nn.init.kaiming_uniform_(a, a=math.sqrt(5))
    return a, torch.nn.Parameter(torch.zeros(n_out, R))


emb = p(V, C)
shapes = dict(q=(H * D, C), k=(G * D, C), v=(G * D, C), o=(C, H * D), g=(FF, C), u=(FF, C), d=(C, FF))
layers = []
for _ in range(L):
    l = dict(n1=ones(C), n2=ones(C))
    for name, s in shapes.items():
        l[name] = p(*s)
        if R:
            l[name + ".A"], l[name + ".B"] = adapter(*s)
    if bias:
        for name in "qkv":
            l[name + ".b"] = p(shapes[name][0])
    layers.append(l)
normf = ones(C)
head = emb if tied else p(V, C)
params = [emb, normf] + [t for l in layers for t in l.values()] + ([] if tied else [head])
trainable = [t for t in params if t.requires_grad]
opt = torch.optim.AdamW(trainable, lr=1e-6, weight_decay=0.0)
inv = 1.0 / (10000.0 ** (torch.arange(0, D, 2).float() / D))
fr = torch.arange(Ln).float()[:, None] * inv[None]
cos, sin = torch.cat((fr, fr), -1).cos(), torch.cat((fr, fr), -1).sin()
causal = torch.tril(torch.ones(Ln, Ln, dtype=torch.bool))
scale = alpha / R if R else 0.0


def rms(x, w):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * w


def rot(z):
    z1, z2 = z[..., :D // 2], z[..., D // 2:]
    return z * cos + torch.cat((-z2, z1), -1) * sin


def lin(l, name, x):
    y = x @ l[name].T
    if name + ".b" in l:
        y = y + l[name + ".b"]
    if R:
        y = y + ((x @ l[name + ".A"].T) @ l[name + ".B"].T) * scale
    return y


def layer(l, x):
    B = x.shape[0]
    h = rms(x, l["n1"])
    q = lin(l, "q", h).view(B, Ln, H, D).transpose(1, 2)
    k = lin(l, "k", h).view(B, Ln, G, D).transpose(1, 2)
    v = lin(l, "v", h).view(B, Ln, G, D).transpose(1, 2)
    q, k = rot(q), rot(k)
    k, v = k.repeat_interleave(H // G, 1), v.repeat_interleave(H // G, 1)
    att = (q @ k.transpose(-1, -2)) / math.sqrt(D)
    att = att.masked_fill(~causal, float("-inf")).softmax(-1)
    y = (att @ v).transpose(1, 2).reshape(B, Ln, H * D)
    x = x + lin(l, "o", y)
    h = rms(x, l["n2"])
    return x + lin(l, "d", F.silu(lin(l, "g", h)) * lin(l, "u", h))


def seq_logps(tok):
    x = emb[tok]
    for l in layers:
        if ckpt:
            x = torch.utils.checkpoint.checkpoint(layer, l, x, use_reentrant=False)
        else:
            x = layer(l, x)
    x = rms(x, normf)[:, LP - 1:Ln - 1]          # completion positions only
    lp = (x @ head.T).log_softmax(-1)
    return lp.gather(-1, tok[:, LP:, None]).squeeze(-1).sum(-1)


tok = torch.randint(0, V, (P if sft else 2 * P, Ln))
ref = torch.randn(2 * P) - 100
times, cpus = [], []
for s in range(steps + 1):
    t0, c0 = time.perf_counter(), time.process_time()
    lp = seq_logps(tok)
    if sft:
        loss = -lp.sum() / (P * LC)
    else:
        z = 0.1 * ((lp[:P] - ref[:P]) - (lp[P:] - ref[P:]))
        loss = -F.logsigmoid(z).mean()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    if s:
        times.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
times.sort()
cpus.sort()
print(json.dumps({"step_s": times[len(times) // 2], "cpu_s": cpus[len(cpus) // 2],
                  "rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "trainable": sum(t.numel() for t in trainable)}))
