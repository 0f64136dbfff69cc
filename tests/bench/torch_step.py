"""torch_step.py MODEL_DIR BATCHES_JSONL LOSS THREADS — the bench's PyTorch side.

The same GPT-2 (weights from rad's model.safetensors) and the same batch, trained the way
the Hugging Face / TRL stack does it on the CPU: a [B, T] batch, logits for every position,
log-softmax, masked gather; DPO also runs the frozen reference model's forward inside the
step.  AdamW (torch.optim).  Prints one JSON line per step: wall and CPU seconds, peak RSS."""
import copy, json, math, os, resource, sys, time
import torch
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from torch_common import read_st  # noqa: E402

mdir, batches, loss_kind, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
torch.set_num_threads(threads)
torch.manual_seed(0)


cfg = json.load(open(mdir + "/config.json"))
L, H, C = cfg["n_layer"], cfg["n_head"], cfg["n_embd"]


class GPT2(torch.nn.Module):
    def __init__(self, w):
        super().__init__()
        self.p = torch.nn.ParameterDict({k.replace(".", "_"): torch.nn.Parameter(t) for k, t in w.items()})

    def w(self, k):
        return self.p[k.replace(".", "_")]

    def ln(self, x, k):
        return torch.nn.functional.layer_norm(x, (C,), self.w(k + ".weight"), self.w(k + ".bias"), 1e-5)

    def forward(self, tok):
        B, T = tok.shape
        x = self.w("transformer.wte.weight")[tok] + self.w("transformer.wpe.weight")[:T]
        mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
        for l in range(L):
            p = "transformer.h.%d." % l
            h = self.ln(x, p + "ln_1")
            q, k, v = torch.addmm(self.w(p + "attn.c_attn.bias"), h.view(-1, C), self.w(p + "attn.c_attn.weight")).view(B, T, 3 * C).split(C, 2)
            q, k, v = (z.view(B, T, H, C // H).transpose(1, 2) for z in (q, k, v))
            a = (q @ k.transpose(-1, -2)) / math.sqrt(C // H)
            a = a.masked_fill(~mask, float("-inf")).softmax(-1)
            y = (a @ v).transpose(1, 2).reshape(B * T, C)
            x = x + torch.addmm(self.w(p + "attn.c_proj.bias"), y, self.w(p + "attn.c_proj.weight")).view(B, T, C)
            h = self.ln(x, p + "ln_2").view(-1, C)
            h = torch.nn.functional.gelu(torch.addmm(self.w(p + "mlp.c_fc.bias"), h, self.w(p + "mlp.c_fc.weight")), approximate="tanh")
            x = x + torch.addmm(self.w(p + "mlp.c_proj.bias"), h, self.w(p + "mlp.c_proj.weight")).view(B, T, C)
        x = self.ln(x, "transformer.ln_f")
        return x @ self.w("transformer.wte.weight").T


def seq_logps(model, tok, tgt, msk):
    logits = model(tok)
    lp = logits.log_softmax(-1).gather(-1, tgt.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return (lp * msk).sum(-1), msk.sum(-1)


model = GPT2(read_st(mdir + "/model.safetensors", torch.float32))
ref = copy.deepcopy(model).requires_grad_(False) if loss_kind != "sft" else None
opt = torch.optim.AdamW(model.parameters(), lr=1e-5, weight_decay=0.0)
recs = [json.loads(l) for l in open(batches)]
recs = [r for r in recs if r.get("type") == "BTCH"]
for step, r in enumerate(recs):
    R, T = r["rows"], r["cols"]
    tok = torch.tensor(r["tokens"]).view(R, T)
    tgt = torch.tensor(r["targets"]).view(R, T)
    msk = torch.tensor(r["loss_mask"], dtype=torch.float32).view(R, T)
    chosen = torch.tensor([bool(c) for c in r["seq_chosen"]])
    t0, c0 = time.perf_counter(), time.process_time()
    lp, n = seq_logps(model, tok, tgt, msk)
    if loss_kind == "sft":
        loss = -lp[chosen].sum() / n[chosen].sum()
    else:
        with torch.no_grad():
            rlp, _ = seq_logps(ref, tok, tgt, msk)
        z = 0.1 * ((lp[chosen] - rlp[chosen]) - (lp[~chosen] - rlp[~chosen]))
        loss = -torch.nn.functional.logsigmoid(z).mean()
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    dt, dc = time.perf_counter() - t0, time.process_time() - c0
    print(json.dumps({"step": step + 1, "loss": loss.item(), "step_s": dt, "cpu_s": dc,
                      "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}), flush=True)
