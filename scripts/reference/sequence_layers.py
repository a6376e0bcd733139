#!/usr/bin/env python3
"""PyTorch reference for shardrec's sequence-model layers (HSTU and SASRec).

What it is
    A small, deliberately slow and readable float64 implementation of
      * the HSTU layer (pointwise SiLU attention with relative position and
        time-bucket biases, optional target/candidate tokens), and
      * the SASRec layer (pre-LayerNorm causal transformer block),
    over a jagged batch (sequences stored back to back, described by
    `offsets`, no padding). Gradients come from torch autograd with
    loss = sum(dy * y) for a fixed random dy.

    It writes golden tensors which the C++ unit tests load and compare
    against:
        tests/golden/hstu_layer_causal.txt   (HSTU, num_targets all 0)
        tests/golden/hstu_layer_targets.txt  (HSTU, with candidate tokens)
        tests/golden/sasrec_layer.txt        (SASRec)

How to run (CPU is enough; needs torch + numpy)
    python3 scripts/reference/sequence_layers.py            # from the repo root
    python3 scripts/reference/sequence_layers.py --out DIR  # other output dir

    Running it REGENERATES (overwrites) the three files above. The output is
    deterministic (fixed seeds). Before writing anything it runs self-checks:
      * the jagged per-sequence HSTU must equal an independent padded/batched
        HSTU implementation (y and all gradients, to 1e-12);
      * torch.autograd.gradcheck on tiny cases of both layers;
      * every time-bucket argument is kept well away from an integer boundary
        so that C++ std::log and torch agree on floor().

File format (parsed by the C++ tests)
    Lines starting with '#' are comments. Then a sequence of tensors, each a
    header line "name rows cols" followed by rows lines of cols values
    (row-major). 1-D tensors are written as rows=N cols=1; scalars as 1 1.
    Floats are written with repr() (shortest string that round-trips a
    double exactly); integer tensors as integers.
"""

import argparse
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

HSTU_LN_EPS = 1e-6
SASREC_LN_EPS = 1e-8
TIME_BUCKET_DIVISOR = 0.301
NUM_TIME_BUCKETS = 129  # buckets 0..128


# --------------------------------------------------------------------------
# Golden file writer
# --------------------------------------------------------------------------

def write_golden(path, comments, tensors):
    """tensors: list of (name, tensor-or-int). Integer dtypes are written as ints."""
    lines = ["# " + c for c in comments]
    for name, value in tensors:
        t = torch.as_tensor(value).detach()
        if t.dim() == 0:
            t = t.reshape(1, 1)
        elif t.dim() == 1:
            t = t.reshape(-1, 1)
        assert t.dim() == 2, name
        rows, cols = t.shape
        lines.append(f"{name} {rows} {cols}")
        is_int = not t.is_floating_point()
        for r in range(rows):
            if is_int:
                lines.append(" ".join(str(int(v)) for v in t[r].tolist()))
            else:
                lines.append(" ".join(repr(float(v)) for v in t[r].tolist()))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return os.path.getsize(path)


# --------------------------------------------------------------------------
# HSTU: shared helpers
# --------------------------------------------------------------------------

def time_bucket(dt):
    """bucket = clamp(floor(ln(max(|dt|, 1)) / 0.301), 0, 128) for an int dt."""
    d = max(abs(int(dt)), 1)
    b = math.floor(math.log(float(d)) / TIME_BUCKET_DIVISOR)
    return min(max(b, 0), NUM_TIME_BUCKETS - 1)


def query_time_index(i, h):
    """Which timestamp token i's query compares against (h = history length).

    History token: the NEXT history token's time, t[min(i+1, h-1)] (the last
    history token reuses its own). Candidate: its own time, t[i] -- so history
    never depends on the candidates and candidates never on each other, which
    is what makes KV-cached scoring equal the full forward. With no candidates
    (h = L) this is the paper's t[min(i+1, L-1)].
    """
    return min(i + 1, h - 1) if i < h else i


def hstu_time_buckets_for_sequence(ts, h):
    """ts: python list of int timestamps of one sequence -> L x L int buckets."""
    L = len(ts)
    out = [[0] * L for _ in range(L)]
    for i in range(L):
        tq = ts[query_time_index(i, h)]
        for j in range(L):
            out[i][j] = time_bucket(tq - ts[j])
    return out


# --------------------------------------------------------------------------
# HSTU: jagged reference (explicit loops over sequences and heads)
# --------------------------------------------------------------------------

def hstu_forward_jagged(x, w_uvqk, w_o, b_o, w_p, w_t,
                        offsets, timestamps, num_targets, H, dqk, dv, N):
    T, D = x.shape
    B = len(offsets) - 1

    # 1. LayerNorm without affine.
    xn = F.layer_norm(x, (D,), eps=HSTU_LN_EPS)
    # 2. One projection, SiLU on all of it, then split [U | V | Q | K].
    uvqk = F.silu(xn @ w_uvqk)
    U = uvqk[:, 0:H * dv]
    V = uvqk[:, H * dv:2 * H * dv]
    Q = uvqk[:, 2 * H * dv:2 * H * dv + H * dqk]
    K = uvqk[:, 2 * H * dv + H * dqk:2 * H * dv + 2 * H * dqk]

    # 3. Attention, one sequence at a time.
    outputs = []
    for b in range(B):
        start, end = offsets[b], offsets[b + 1]
        L = end - start
        nt = num_targets[b]
        h = L - nt  # number of history tokens
        ts = timestamps[start:end]
        buckets = hstu_time_buckets_for_sequence(ts, h)

        def pos(i):
            return min(i, h)

        # Relative bias (same for every head) and mask, element by element.
        bias = [[None] * L for _ in range(L)]
        mask = torch.zeros(L, L)
        for i in range(L):
            for j in range(L):
                bias_pos = w_p[N - 1 + pos(j) - pos(i)]
                bias_time = w_t[buckets[i][j]]
                bias[i][j] = bias_pos + bias_time
                if i < h:
                    allowed = j <= i
                else:
                    allowed = (j < h) or (j == i)
                mask[i, j] = 1.0 if allowed else 0.0
        bias = torch.stack([torch.stack(row) for row in bias])  # L x L

        head_outputs = []
        for hd in range(H):
            q = Q[start:end, hd * dqk:(hd + 1) * dqk]
            k = K[start:end, hd * dqk:(hd + 1) * dqk]
            v = V[start:end, hd * dv:(hd + 1) * dv]
            S = q @ k.T + bias
            A = F.silu(S) / N  # padded length N, not L; no softmax
            A = A * mask
            head_outputs.append(A @ v)
        outputs.append(torch.cat(head_outputs, dim=1))  # L x (H*dv)
    O = torch.cat(outputs, dim=0)  # T x (H*dv)

    # 4. LayerNorm over H*dv, no affine.
    On = F.layer_norm(O, (H * dv,), eps=HSTU_LN_EPS)
    # 5. Gate with U, project, residual.
    return x + (U * On) @ w_o + b_o


# --------------------------------------------------------------------------
# HSTU: independent padded/batched implementation (self-check only)
# --------------------------------------------------------------------------

def hstu_forward_padded(x, w_uvqk, w_o, b_o, w_p, w_t,
                        offsets, timestamps, num_targets, H, dqk, dv, N):
    T, D = x.shape
    B = len(offsets) - 1
    lengths = torch.tensor([offsets[b + 1] - offsets[b] for b in range(B)])
    nts = torch.tensor(num_targets)
    hist = lengths - nts  # [B]

    # Scatter jagged rows into [B, N, D] (padding rows are zero).
    valid = torch.arange(N)[None, :] < lengths[:, None]  # [B, N]
    row_index = torch.tensor(offsets[:-1])[:, None] + torch.arange(N)[None, :]
    row_index = torch.where(valid, row_index, torch.zeros_like(row_index))
    xp = x[row_index] * valid[..., None].to(x.dtype)  # [B, N, D]

    xn = F.layer_norm(xp, (D,), eps=HSTU_LN_EPS)
    uvqk = F.silu(xn @ w_uvqk)
    U, V, Q, K = torch.split(uvqk, [H * dv, H * dv, H * dqk, H * dqk], dim=-1)
    Qh = Q.reshape(B, N, H, dqk).permute(0, 2, 1, 3)  # [B, H, N, dqk]
    Kh = K.reshape(B, N, H, dqk).permute(0, 2, 1, 3)
    Vh = V.reshape(B, N, H, dv).permute(0, 2, 1, 3)

    ii = torch.arange(N)[None, :, None]  # [1, N, 1]
    jj = torch.arange(N)[None, None, :]  # [1, 1, N]
    hb = hist[:, None, None]
    Lb = lengths[:, None, None]

    # Positional bias via clamped positions.
    pos_i = torch.minimum(ii, hb)
    pos_j = torch.minimum(jj, hb)
    bias_pos = w_p[(N - 1 + pos_j - pos_i).clamp(0, 2 * N - 2)]  # [B, N, N]

    # Time bias: build padded int64 timestamps, compute buckets in numpy.
    ts_pad = np.zeros((B, N), dtype=np.int64)
    for b in range(B):
        seq = timestamps[offsets[b]:offsets[b + 1]]
        ts_pad[b, :len(seq)] = seq
    ar = np.arange(N)[None, :]
    h_np = hist.numpy()[:, None]
    # query_time_index, vectorised: history -> next history token, candidate -> itself.
    qidx = np.where(ar < h_np, np.minimum(ar + 1, h_np - 1), ar)
    qidx = np.clip(qidx, 0, N - 1)
    tq = np.take_along_axis(ts_pad, qidx, axis=1)  # [B, N]
    dt = np.abs(tq[:, :, None] - ts_pad[:, None, :])  # [B, N, N] int64
    dt = np.maximum(dt, 1).astype(np.float64)
    buckets = np.clip(np.floor(np.log(dt) / TIME_BUCKET_DIVISOR), 0,
                      NUM_TIME_BUCKETS - 1).astype(np.int64)
    bias_time = w_t[torch.from_numpy(buckets)]  # [B, N, N]

    in_seq = (ii < Lb) & (jj < Lb)
    causal_hist = (ii < hb) & (jj <= ii)
    candidate = (ii >= hb) & ((jj < hb) | (jj == ii))
    mask = (in_seq & (causal_hist | candidate)).to(x.dtype)  # [B, N, N]

    S = Qh @ Kh.transpose(-1, -2) + (bias_pos + bias_time)[:, None]
    A = F.silu(S) / N * mask[:, None]
    O = (A @ Vh).permute(0, 2, 1, 3).reshape(B, N, H * dv)
    On = F.layer_norm(O, (H * dv,), eps=HSTU_LN_EPS)
    yp = xp + (U * On) @ w_o + b_o  # [B, N, D]
    return yp[valid]  # back to jagged [T, D], sequences in order


# --------------------------------------------------------------------------
# SASRec: jagged reference
# --------------------------------------------------------------------------

def sasrec_forward_jagged(x, ln1_weight, ln1_bias, w_q, w_k, w_v, b_q, b_k, b_v,
                          w_o, b_o, ln2_weight, ln2_bias, w_1, b_1, w_2, b_2,
                          offsets, H, d):
    T, D = x.shape
    B = len(offsets) - 1

    z = F.layer_norm(x, (D,), ln1_weight, ln1_bias, eps=SASREC_LN_EPS)
    Q = z @ w_q + b_q
    K = z @ w_k + b_k
    V = z @ w_v + b_v

    outputs = []
    for b in range(B):
        start, end = offsets[b], offsets[b + 1]
        L = end - start
        causal = torch.tril(torch.ones(L, L, dtype=torch.bool))
        head_outputs = []
        for hd in range(H):
            q = Q[start:end, hd * d:(hd + 1) * d]
            k = K[start:end, hd * d:(hd + 1) * d]
            v = V[start:end, hd * d:(hd + 1) * d]
            S = q @ k.T / math.sqrt(d)
            S = S.masked_fill(~causal, float("-inf"))
            P = torch.softmax(S, dim=-1)  # masked entries -> exactly 0
            head_outputs.append(P @ v)
        outputs.append(torch.cat(head_outputs, dim=1))
    O = torch.cat(outputs, dim=0)  # T x (H*d)
    a = O @ w_o + b_o
    h1 = x + a

    z2 = F.layer_norm(h1, (D,), ln2_weight, ln2_bias, eps=SASREC_LN_EPS)
    f = F.relu(z2 @ w_1 + b_1) @ w_2 + b_2
    return h1 + f


SASREC_PARAM_NAMES = ["ln1_weight", "ln1_bias", "w_q", "w_k", "w_v", "b_q", "b_k",
                      "b_v", "w_o", "b_o", "ln2_weight", "ln2_bias", "w_1", "b_1",
                      "w_2", "b_2"]
HSTU_PARAM_NAMES = ["w_uvqk", "w_o", "b_o", "w_p", "w_t"]


# --------------------------------------------------------------------------
# Case construction
# --------------------------------------------------------------------------

def make_offsets(lengths):
    offsets = [0]
    for L in lengths:
        offsets.append(offsets[-1] + L)
    return offsets


def make_timestamps(lengths, rng):
    """Increasing timestamps with varied gaps, per sequence.

    Gaps cycle through: 0 (equal times), 1, units, tens, hundreds, thousands,
    ~1e5, millions and billions of seconds, so many buckets occur (including 0). The longest sequence additionally gets one
    DECREASING step (exercises |.|), and the first sequence gets one gap of
    ~1e17 s so that the clamp at bucket 128 is hit (ln(1e17)/0.301 ~ 130.8).
    """
    gap_kinds = [
        lambda: 0,
        lambda: 1,
        lambda: int(rng.integers(2, 10)),
        lambda: int(rng.integers(10, 100)),
        lambda: int(rng.integers(100, 1_000)),
        lambda: int(rng.integers(1_000, 10_000)),
        lambda: int(rng.integers(100_000, 1_000_000)),
        lambda: int(rng.integers(1_000_000, 10_000_000)),
        lambda: int(rng.integers(1_000_000_000, 10_000_000_000)),
    ]
    longest = int(np.argmax(lengths))
    all_ts = []
    kind = 0
    for b, L in enumerate(lengths):
        t = 1_700_000_000 + int(rng.integers(0, 1_000_000))
        seq = [t]
        for i in range(1, L):
            if b == longest and i == 3:
                gap = -int(rng.integers(10, 100))  # the one decreasing pair
            elif b == 0 and i == L - 1:
                gap = 100_000_000_000_000_000 + int(rng.integers(0, 1000))
            else:
                gap = gap_kinds[kind % len(gap_kinds)]()
                kind += 1
            t += gap
            seq.append(t)
        all_ts.extend(seq)
    return all_ts


def check_bucket_margins(offsets, timestamps, num_targets, min_margin=1e-6):
    """Every ln(|dt|)/0.301 with |dt| > 1 must be far from an integer, so that
    floor() cannot differ between implementations. Returns the set of buckets
    used by unmasked (i, j) pairs, i.e. the ones that matter."""
    seen = set()
    for b in range(len(offsets) - 1):
        ts = timestamps[offsets[b]:offsets[b + 1]]
        L = len(ts)
        h = L - num_targets[b]
        for i in range(L):
            tq = ts[query_time_index(i, h)]
            for j in range(L):
                dt = abs(tq - ts[j])
                if (j <= i) if i < h else (j < h or j == i):
                    seen.add(time_bucket(tq - ts[j]))
                if dt > 1:
                    v = math.log(float(dt)) / TIME_BUCKET_DIVISOR
                    frac = v - math.floor(v)
                    assert min(frac, 1 - frac) > min_margin, \
                        f"time bucket too close to a boundary: dt={dt} v={v}"
    return seen


def hstu_make_case(seed, D, H, dqk, dv, N, lengths, num_targets):
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    assert max(lengths) <= N
    assert all(0 <= nt <= L for nt, L in zip(num_targets, lengths))
    T = sum(lengths)

    def normal(shape, std):
        return torch.randn(*shape, generator=gen) * std

    params = {
        "w_uvqk": normal((D, 2 * H * dv + 2 * H * dqk), 0.3),
        "w_o": normal((H * dv, D), 0.3),
        "b_o": normal((D,), 0.1),
        "w_p": normal((2 * N - 1,), 0.3),
        "w_t": normal((NUM_TIME_BUCKETS,), 0.3),
    }
    x = normal((T, D), 1.0)
    dy = normal((T, D), 1.0)
    case = {
        "D": D, "H": H, "dqk": dqk, "dv": dv, "N": N,
        "offsets": make_offsets(lengths),
        "timestamps": make_timestamps(lengths, rng),
        "num_targets": list(num_targets),
        "x": x, "dy": dy, "params": params,
    }
    return case


def sasrec_make_case(seed, D, H, d, F_, lengths):
    gen = torch.Generator().manual_seed(seed)
    T = sum(lengths)

    def normal(shape, std):
        return torch.randn(*shape, generator=gen) * std

    params = {
        "ln1_weight": 1.0 + normal((D,), 0.1),
        "ln1_bias": normal((D,), 0.1),
        "w_q": normal((D, H * d), 0.3),
        "w_k": normal((D, H * d), 0.3),
        "w_v": normal((D, H * d), 0.3),
        "b_q": normal((H * d,), 0.1),
        "b_k": normal((H * d,), 0.1),
        "b_v": normal((H * d,), 0.1),
        "w_o": normal((H * d, D), 0.3),
        "b_o": normal((D,), 0.1),
        "ln2_weight": 1.0 + normal((D,), 0.1),
        "ln2_bias": normal((D,), 0.1),
        "w_1": normal((D, F_), 0.3),
        "b_1": normal((F_,), 0.1),
        "w_2": normal((F_, D), 0.3),
        "b_2": normal((D,), 0.1),
    }
    x = normal((T, D), 1.0)
    dy = normal((T, D), 1.0)
    return {"D": D, "H": H, "d": d, "F": F_, "offsets": make_offsets(lengths),
            "x": x, "dy": dy, "params": params}


# --------------------------------------------------------------------------
# Running a case: forward + autograd backward
# --------------------------------------------------------------------------

def hstu_run(case, forward):
    x = case["x"].clone().requires_grad_(True)
    params = {k: v.clone().requires_grad_(True) for k, v in case["params"].items()}
    y = forward(x, *[params[n] for n in HSTU_PARAM_NAMES],
                case["offsets"], case["timestamps"], case["num_targets"],
                case["H"], case["dqk"], case["dv"], case["N"])
    (y * case["dy"]).sum().backward()
    grads = {"x": x.grad}
    grads.update({n: params[n].grad for n in HSTU_PARAM_NAMES})
    return y.detach(), grads


def sasrec_run(case):
    x = case["x"].clone().requires_grad_(True)
    params = {k: v.clone().requires_grad_(True) for k, v in case["params"].items()}
    y = sasrec_forward_jagged(x, *[params[n] for n in SASREC_PARAM_NAMES],
                              case["offsets"], case["H"], case["d"])
    (y * case["dy"]).sum().backward()
    grads = {"x": x.grad}
    grads.update({n: params[n].grad for n in SASREC_PARAM_NAMES})
    return y.detach(), grads


# --------------------------------------------------------------------------
# Self-checks
# --------------------------------------------------------------------------

def check_jagged_equals_padded(case, label):
    y_j, g_j = hstu_run(case, hstu_forward_jagged)
    y_p, g_p = hstu_run(case, hstu_forward_padded)
    worst = (y_j - y_p).abs().max().item()
    for n in g_j:
        worst = max(worst, (g_j[n] - g_p[n]).abs().max().item())
    assert worst <= 1e-12, f"{label}: jagged vs padded differ by {worst}"
    return worst


def gradcheck_hstu(num_targets):
    case = hstu_make_case(seed=7, D=4, H=2, dqk=2, dv=2, N=4,
                          lengths=[3, 1, 4], num_targets=num_targets)
    inputs = [case["x"].clone().requires_grad_(True)] + \
             [case["params"][n].clone().requires_grad_(True) for n in HSTU_PARAM_NAMES]

    def fn(x, *params):
        return hstu_forward_jagged(x, *params, case["offsets"], case["timestamps"],
                                   case["num_targets"], case["H"], case["dqk"],
                                   case["dv"], case["N"])
    return torch.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-7, rtol=1e-5)


def gradcheck_sasrec():
    case = sasrec_make_case(seed=11, D=4, H=2, d=2, F_=3, lengths=[3, 1, 2])
    inputs = [case["x"].clone().requires_grad_(True)] + \
             [case["params"][n].clone().requires_grad_(True) for n in SASREC_PARAM_NAMES]

    def fn(x, *params):
        return sasrec_forward_jagged(x, *params, case["offsets"], case["H"], case["d"])
    return torch.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-7, rtol=1e-5)


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def col(values, dtype=torch.int64):
    return torch.tensor(values, dtype=dtype).reshape(-1, 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=os.path.join(REPO_ROOT, "tests", "golden"))
    args = parser.parse_args()

    lengths = [5, 1, 7, 2]
    hstu_cases = {
        "causal": hstu_make_case(seed=1234, D=8, H=2, dqk=3, dv=4, N=7,
                                 lengths=lengths, num_targets=[0, 0, 0, 0]),
        "targets": hstu_make_case(seed=1234, D=8, H=2, dqk=3, dv=4, N=7,
                                  lengths=lengths, num_targets=[2, 0, 3, 1]),
    }
    sasrec_case = sasrec_make_case(seed=4321, D=8, H=2, d=3, F_=6, lengths=[4, 1, 6])

    # ---- self-checks (before writing anything) ----
    print("self-checks:")
    for label, case in hstu_cases.items():
        buckets = check_bucket_margins(case["offsets"], case["timestamps"],
                                       case["num_targets"])
        diff = check_jagged_equals_padded(case, label)
        print(f"  hstu {label:8s} jagged == padded: max |diff| = {diff:.3g}; "
              f"time buckets used: {sorted(buckets)}")
    assert gradcheck_hstu([0, 0, 0]), "gradcheck hstu causal"
    assert gradcheck_hstu([1, 0, 2]), "gradcheck hstu targets"
    print("  gradcheck hstu (causal, targets): ok")
    assert gradcheck_sasrec(), "gradcheck sasrec"
    print("  gradcheck sasrec: ok")

    # ---- write golden files ----
    os.makedirs(args.out, exist_ok=True)
    script = "scripts/reference/sequence_layers.py"
    print("written:")
    for label, case in hstu_cases.items():
        y, grads = hstu_run(case, hstu_forward_jagged)
        tensors = [(k, torch.tensor(case[k])) for k in ["D", "H", "dqk", "dv", "N"]]
        tensors += [("x", case["x"]),
                    ("offsets", col(case["offsets"])),
                    ("timestamps", col(case["timestamps"])),
                    ("num_targets", col(case["num_targets"]))]
        tensors += [(n, case["params"][n]) for n in HSTU_PARAM_NAMES]
        tensors += [("dy", case["dy"]), ("y", y)]
        tensors += [("grad_" + n, grads[n]) for n in ["x"] + HSTU_PARAM_NAMES]
        path = os.path.join(args.out, f"hstu_layer_{label}.txt")
        size = write_golden(path, [
            f"generated by {script} (HSTU layer, case '{label}'); do not edit by hand",
            f"lengths {[case['offsets'][b + 1] - case['offsets'][b] for b in range(len(case['offsets']) - 1)]}"
            f" num_targets {case['num_targets']}; loss = sum(dy * y); float64",
        ], tensors)
        print(f"  {path} ({size} bytes, {len(tensors)} tensors)")

    y, grads = sasrec_run(sasrec_case)
    tensors = [(k, torch.tensor(sasrec_case[k])) for k in ["D", "H", "d", "F"]]
    tensors += [("x", sasrec_case["x"]), ("offsets", col(sasrec_case["offsets"]))]
    tensors += [(n, sasrec_case["params"][n]) for n in SASREC_PARAM_NAMES]
    tensors += [("dy", sasrec_case["dy"]), ("y", y)]
    tensors += [("grad_" + n, grads[n]) for n in ["x"] + SASREC_PARAM_NAMES]
    path = os.path.join(args.out, "sasrec_layer.txt")
    size = write_golden(path, [
        f"generated by {script} (SASRec layer); do not edit by hand",
        "lengths [4, 1, 6]; loss = sum(dy * y); float64",
    ], tensors)
    print(f"  {path} ({size} bytes, {len(tensors)} tensors)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
