"""llama_torch.py LAYERS DIM HEADS KV_HEADS FFN VOCAB TIED PAIRS PROMPT COMP STEPS THREADS [LOSS]

The PyTorch side of the Llama-family DPO bench: the same shape (random weights, fp32),
the same work per step as rad-train-step (chosen and rejected sequences of PROMPT + COMP
tokens, the LM head at completion positions only, DPO against fixed reference
log-probs, AdamW), on THREADS threads; LOSS sft: PAIRS chosen sequences only, their mean
NLL per completion token.  Prints one JSON line: the median step time and
CPU time in seconds over STEPS steps after one warm-up, and the peak RSS in KiB.
Attention is written out (q k^T, causal mask, softmax, v) so old torch versions run it."""
import json, math, resource, sys, time
import torch
import torch.nn.functional as F

L, C, H, G, FF, V, tied, P, LP, LC, steps, threads = map(int, sys.argv[1:13])
sft = len(sys.argv) > 13 and sys.argv[13] == "sft"
torch.set_num_threads(threads)
torch.manual_seed(0)
D = C // H
Ln = LP + LC


def p(*s, std=0.02):
    return torch.nn.Parameter(torch.randn(*s) * std)


emb = p(V, C)
layers = [dict(n1=torch.nn.Parameter(torch.ones(C)), q=p(H * D, C), k=p(G * D, C), v=p(G * D, C), o=p(C, H * D),
               n2=torch.nn.Parameter(torch.ones(C)), g=p(FF, C), u=p(FF, C), d=p(C, FF)) for _ in range(L)]
normf = torch.nn.Parameter(torch.ones(C))
head = emb if tied else p(V, C)
params = [emb, normf] + [t for l in layers for t in l.values()] + ([] if tied else [head])
opt = torch.optim.AdamW(params, lr=1e-6, weight_decay=0.0)
inv = 1.0 / (10000.0 ** (torch.arange(0, D, 2).float() / D))
fr = torch.arange(Ln).float()[:, None] * inv[None]
cos, sin = torch.cat((fr, fr), -1).cos(), torch.cat((fr, fr), -1).sin()
causal = torch.tril(torch.ones(Ln, Ln, dtype=torch.bool))


def rms(x, w):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * w


def rot(z):
    z1, z2 = z[..., :D // 2], z[..., D // 2:]
    return z * cos + torch.cat((-z2, z1), -1) * sin


def seq_logps(tok):
    B = tok.shape[0]
    x = emb[tok]
    for l in layers:
        h = rms(x, l["n1"])
        q = (h @ l["q"].T).view(B, Ln, H, D).transpose(1, 2)
        k = (h @ l["k"].T).view(B, Ln, G, D).transpose(1, 2)
        v = (h @ l["v"].T).view(B, Ln, G, D).transpose(1, 2)
        q, k = rot(q), rot(k)
        k, v = k.repeat_interleave(H // G, 1), v.repeat_interleave(H // G, 1)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(D)
        att = att.masked_fill(~causal, float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, Ln, H * D)
        x = x + y @ l["o"].T
        h = rms(x, l["n2"])
        x = x + (F.silu(h @ l["g"].T) * (h @ l["u"].T)) @ l["d"].T
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
                  "rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
