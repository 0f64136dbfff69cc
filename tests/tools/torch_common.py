"""torch_common.py — what the PyTorch references of the tests share (torch_ref.py,
torch_llama_ref.py, torch_lora_ref.py): safetensors files written in F32 or BF16 (round to
nearest even) and read back as float64 tensors in the header's order (the order the writer
gave them); the batches of a rad-dump JSONL file; the preference loss of one batch."""
import json, struct
import numpy as np
import torch


def to_bf16(a):
    u = a.astype("<f4").view("<u4").astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype("<u2")


def write_st(path, tensors, dtype="F32"):
    head, blobs, off = {}, [], 0
    for k, a in tensors.items():
        b = (to_bf16(a) if dtype == "BF16" else np.ascontiguousarray(a, dtype="<f4")).tobytes()
        head[k] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    head["__metadata__"] = {"format": "pt"}
    h = json.dumps(head).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def read_st(path, dtype=torch.float64):
    """The tensors of a safetensors file (F32 or BF16) as torch tensors of dtype."""
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    head = json.loads(raw[8:8 + n])
    out = {}
    for k, v in head.items():
        if k == "__metadata__":
            continue
        b, e = v["data_offsets"]
        buf = raw[8 + n + b:8 + n + e]
        if v["dtype"] == "BF16":
            a = (np.frombuffer(buf, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            assert v["dtype"] == "F32", v["dtype"]
            a = np.frombuffer(buf, dtype="<f4")
        out[k] = torch.from_numpy(a.reshape(v["shape"]).copy()).to(dtype)
    return out


def records(path):
    """The BTCH records of a rad-dump JSONL file."""
    return [o for o in map(json.loads, open(path)) if o.get("type") == "BTCH"]


def preference_loss(rec, lp, nt, kind, beta, eps, sftw):
    """rad-train-step's loss of one batch from the sequences' log-probs lp and token counts
    nt (TRL's formulas): sft, the chosen NLL per token; dpo, conservative DPO with label
    smoothing eps plus sftw times that NLL."""
    S = len(lp)
    chosen = [s for s in range(S) if rec["seq_chosen"][s]]
    nll = -sum(lp[s] for s in chosen) / sum(nt[s] for s in chosen)
    if kind == "sft":
        return nll
    ref, ls, terms, P = rec["ref_logp"], torch.nn.functional.logsigmoid, [], len(rec["pair_id"])
    for p in range(P):
        c = [s for s in range(S) if rec["seq_pair"][s] == p and rec["seq_chosen"][s]][0]
        r = [s for s in range(S) if rec["seq_pair"][s] == p and not rec["seq_chosen"][s]][0]
        z = beta * ((lp[c] - ref[c]) - (lp[r] - ref[r]))
        terms.append(-(1 - eps) * ls(z) - eps * ls(-z))
    return sum(terms) / P + sftw * nll
