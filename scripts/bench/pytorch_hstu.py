#!/usr/bin/env python3
"""The HSTU retrieval model of configs/hstu_beauty.yaml in plain PyTorch (CPU), for a
same-machine training-throughput and peak-memory comparison with shardrec
(scripts/bench/hstu_vs_pytorch.sh runs both).

Written the way a PyTorch user would write it for speed: padded [B, L, D] batches
(L = longest sequence of the batch, at most max_len), masks, fused U|V|Q|K
projection, batched matmuls for the attention, autograd for the backward pass.
--layout jagged keeps the token-wise work (LayerNorms, projections, SiLU, gating,
dropout) on the real tokens only, [T, D], and pads V|Q|K to [B, L, .] just for the
attention, as the official HSTU code's PyTorch path does with jagged tensors.
Both layouts compute the same function (checked: equal loss and gradients).

Model (matching include/shardrec/nn/hstu_layer.h, src/nn/hstu_attention.cc,
src/models/sequence_encoder.cc, src/train/sequence_trainer.cc):
  data      leave-one-out: training sequence = items[0..n-2); keep its last max_len+1
            items; tokens = all kept but the last, target of token i = kept[i+1].
            Global batch of `batch` users, a fresh shuffled user order every epoch,
            epochs concatenated without a seam.
  input     x = emb[item] * sqrt(D) + pos_emb[i]; dropout(0.5)
  block     x_hat = LayerNorm(x)                       (no affine, eps 1e-6)
            U|V|Q|K = SiLU(x_hat W_uvqk)               (no bias)
            A = SiLU(Q K^T + rab) / N, causal mask;   O = A V   (no softmax, no 1/sqrt(d))
            rab[i, j] = w_p[N-1 + j-i] + w_t[0]        (no timestamps -> time bucket 0)
            y = x + dropout(U * LayerNorm(O)) W_o + b_o
  output    u = x / max(|x|, 1e-6) per token
  loss      sampled softmax: 128 item ids uniform in 1..max_item shared by the batch,
            logits = cos(u, item) / 0.05 with L2-normalised item embeddings, a negative
            equal to the token's target masked out, mean CE over tokens with a target.
  optimiser AdamW(lr 1e-3, wd 0) for dense parameters; the item table with
            SparseAdam (sparse=True embedding, lazy like shardrec's) or dense Adam.

Prints one JSON line. Timed: S steps after W warm-up steps, each step including the
batch assembly, forward, backward and both optimiser steps (as shardrec's Step()).
"""
import argparse
import json
import math
import resource
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def read_sequences(path, max_len):
    """Padded training samples of every user: tokens [U, max_len], targets [U, max_len]
    (0 = padding / no target), lengths [U]; and the largest item id."""
    users = []
    max_item = 0
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) < 2:
                continue
            items = [int(p) for p in parts[1:]]
            if len(items) < 3:  # shardrec's data.sequence.min_length default (leave-one-out)
                continue
            max_item = max(max_item, max(items))
            users.append(items)
    n = len(users)
    tok = np.zeros((n, max_len), dtype=np.int64)
    tgt = np.zeros((n, max_len), dtype=np.int64)
    lens = np.zeros(n, dtype=np.int64)
    for u, items in enumerate(users):
        train = items[:-2]
        kept = train[-(max_len + 1):]
        if len(kept) == 1:  # a single token with no next item
            tok[u, 0] = kept[0]
            lens[u] = 1
        else:
            k = len(kept) - 1
            tok[u, :k] = kept[:-1]
            tgt[u, :k] = kept[1:]
            lens[u] = k
    return tok, tgt, lens, max_item


class HstuLayer(nn.Module):
    def __init__(self, dim, dqk, dv, max_len, dropout):
        super().__init__()
        self.dim, self.dqk, self.dv, self.max_len = dim, dqk, dv, max_len
        self.w_uvqk = nn.Parameter(torch.empty(dim, 2 * dv + 2 * dqk).normal_(0.0, 0.02))
        self.w_o = nn.Parameter(torch.empty(dim, dv))  # F.linear layout: out x in
        nn.init.xavier_uniform_(self.w_o)
        self.b_o = nn.Parameter(torch.zeros(dim))
        self.pos_bias = nn.Parameter(torch.empty(2 * max_len - 1).normal_(0.0, 0.02))
        self.time_bias = nn.Parameter(torch.empty(129).normal_(0.0, 0.02))  # 129 buckets; only [0] is used
        self.dropout = nn.Dropout(dropout)

    def forward(self, x, rab_index, mask, jagged=None):
        # x: [B, L, D] (padded) or [T, D] (jagged: jagged = (idx, B, L), idx the
        # flat positions of the T real tokens in B x L); rab_index: [L, L] into
        # pos_bias; mask: [L, L] causal / N.
        h = F.layer_norm(x, (self.dim,), eps=1e-6)
        uvqk = F.silu(torch.matmul(h, self.w_uvqk))
        u, vqk = uvqk[..., : self.dv], uvqk[..., self.dv:]
        if jagged is not None:  # pad V|Q|K for the attention only
            idx, b, l = jagged
            vqk = vqk.new_zeros(b * l, vqk.shape[-1]).index_put((idx,), vqk).view(b, l, -1)
        v, q, k = torch.split(vqk, [self.dv, self.dqk, self.dqk], dim=-1)
        rab = self.pos_bias[rab_index] + self.time_bias[0]
        scores = torch.baddbmm(rab, q, k.transpose(1, 2))  # rab broadcast over the batch
        attn = F.silu(scores) * mask
        o = torch.bmm(attn, v)
        if jagged is not None:
            o = o.reshape(-1, self.dv)[idx]
        gated = u * F.layer_norm(o, (self.dv,), eps=1e-6)
        return x + F.linear(self.dropout(gated), self.w_o, self.b_o)


class HstuRetrieval(nn.Module):
    def __init__(self, num_rows, dim, max_len, blocks, dropout, sparse):
        super().__init__()
        self.dim, self.max_len = dim, max_len
        self.item_emb = nn.Embedding(num_rows, dim, padding_idx=0, sparse=sparse)  # 0 = padding
        a = math.sqrt(1.0 / num_rows)  # shardrec: uniform +-sqrt(1/rows)
        nn.init.uniform_(self.item_emb.weight, -a, a)
        std = math.sqrt(1.0 / dim)
        self.pos_emb = nn.Parameter(torch.empty(max_len, dim))
        nn.init.trunc_normal_(self.pos_emb, std=std, a=-2 * std, b=2 * std)
        self.input_dropout = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(HstuLayer(dim, dim, dim, max_len, dropout) for _ in range(blocks))
        idx = torch.arange(max_len)
        self.register_buffer("rab_index", max_len - 1 + idx[None, :] - idx[:, None], persistent=False)
        self.register_buffer("mask", torch.tril(torch.ones(max_len, max_len)) / max_len, persistent=False)

    def forward(self, tok, tgt, negs, temperature, jagged=False):
        b, l = tok.shape
        rab_index, mask = self.rab_index[:l, :l], self.mask[:l, :l]
        if not jagged:
            # Everything on [B, L, D]; padding rows are computed and ignored.
            valid = tgt > 0                   # tokens with a next item (padding has none)
            pos_ids = tgt[valid]
            n_tok = b * l
            # One lookup for the padded history, the positives and the negatives.
            e = self.item_emb(torch.cat([tok.reshape(-1), pos_ids, negs]))
            x = e[:n_tok].view(b, l, self.dim) * math.sqrt(self.dim) + self.pos_emb[:l]
            x = self.input_dropout(x)
            for blk in self.blocks:
                x = blk(x, rab_index, mask)
            x = x[valid]
        else:
            # Token-wise ops on the T real tokens only ([T, D]); V|Q|K padded to
            # [B, L, .] for the attention inside each block.
            idx = (tok.reshape(-1) > 0).nonzero().squeeze(1)
            tgt_t = tgt.reshape(-1)[idx]
            valid = tgt_t > 0
            pos_ids = tgt_t[valid]
            n_tok = idx.numel()
            e = self.item_emb(torch.cat([tok.reshape(-1)[idx], pos_ids, negs]))
            x = e[:n_tok] * math.sqrt(self.dim) + self.pos_emb[idx % l]
            x = self.input_dropout(x)
            for blk in self.blocks:
                x = blk(x, rab_index, mask, (idx, b, l))
            x = x[valid]
        users = F.normalize(x, dim=-1, eps=1e-6)  # [Q, D], Q = tokens with a target
        items = F.normalize(e[n_tok:], dim=-1, eps=1e-6)
        pos, neg = items[: pos_ids.numel()], items[pos_ids.numel():]
        pos_logit = (users * pos).sum(-1) / temperature
        neg_logit = torch.matmul(users, neg.t()) / temperature
        neg_logit = neg_logit.masked_fill(negs[None, :] == pos_ids[:, None], float("-inf"))
        logits = torch.cat([pos_logit[:, None], neg_logit], dim=1)
        return (torch.logsumexp(logits, dim=1) - pos_logit).mean()


class UserStream:
    """Endless concatenation of epochs, each a fresh permutation of the users."""

    def __init__(self, num_users, seed):
        self.n = num_users
        self.rng = np.random.default_rng(seed)
        self.order = self.rng.permutation(num_users)
        self.pos = 0

    def next(self, batch):
        out = []
        while batch > 0:
            take = min(batch, self.n - self.pos)
            out.append(self.order[self.pos:self.pos + take])
            self.pos += take
            batch -= take
            if self.pos == self.n:
                self.order = self.rng.permutation(self.n)
                self.pos = 0
        return np.concatenate(out) if len(out) > 1 else out[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="Amazon ITEM_LINES file (user item1 item2 ...)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=100, help="timed training steps")
    ap.add_argument("--warmup", type=int, default=10, help="untimed training steps before them")
    ap.add_argument("--max-len", type=int, default=50)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--blocks", type=int, default=2)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--negatives", type=int, default=128)
    ap.add_argument("--temperature", type=float, default=0.05)
    ap.add_argument("--dropout", type=float, default=0.5)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--emb-optimizer", choices=["sparse_adam", "adam"], default="sparse_adam",
                    help="item table: torch.optim.SparseAdam on a sparse=True embedding, or dense Adam")
    ap.add_argument("--pad", choices=["batch", "max"], default="batch",
                    help="pad each batch to its longest sequence or always to max_len")
    ap.add_argument("--layout", choices=["padded", "jagged"], default="padded",
                    help="padded: every op on [B, L, D]; jagged: token-wise ops on the real tokens only, "
                         "padding just for the attention (as the official HSTU code's PyTorch path)")
    ap.add_argument("--seed", type=int, default=1234)
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rss_import_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

    tok_all, tgt_all, len_all, max_item = read_sequences(a.data, a.max_len)
    sparse = a.emb_optimizer == "sparse_adam"
    model = HstuRetrieval(max_item + 1, a.dim, a.max_len, a.blocks, a.dropout, sparse)
    model.train()
    dense = [p for n, p in model.named_parameters() if not n.startswith("item_emb.")]
    opt_dense = torch.optim.AdamW(dense, lr=a.lr, weight_decay=0.0, betas=(0.9, 0.999), eps=1e-8)
    if sparse:
        opt_emb = torch.optim.SparseAdam([model.item_emb.weight], lr=a.lr, betas=(0.9, 0.999), eps=1e-8)
    else:
        opt_emb = torch.optim.Adam([model.item_emb.weight], lr=a.lr, betas=(0.9, 0.999), eps=1e-8)
    stream = UserStream(len(tok_all), a.seed)
    gen = torch.Generator().manual_seed(a.seed + 1)

    def step():
        users = stream.next(a.batch)
        lens = len_all[users]
        l = a.max_len if a.pad == "max" else int(lens.max())
        tok = torch.from_numpy(tok_all[users, :l])
        tgt = torch.from_numpy(tgt_all[users, :l])
        negs = torch.randint(1, max_item + 1, (a.negatives,), generator=gen)
        loss = model(tok, tgt, negs, a.temperature, a.layout == "jagged")
        opt_dense.zero_grad(set_to_none=True)
        opt_emb.zero_grad(set_to_none=True)
        loss.backward()
        opt_dense.step()
        opt_emb.step()
        return loss.item(), int(lens.sum())

    for _ in range(a.warmup):
        step()
    losses, tokens = [], 0
    t0 = time.perf_counter()
    for _ in range(a.steps):
        loss, n = step()
        losses.append(loss)
        tokens += n
    secs = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    tail = losses[-min(len(losses), 50):]
    print(json.dumps({
        "impl": "pytorch",
        "sequences_per_sec": a.steps * a.batch / secs,
        "tokens_per_sec": tokens / secs,
        "peak_rss_mb": peak_mb,
        "threads": a.threads,
        "final_loss": sum(tail) / len(tail),   # mean over the last <= 50 timed steps
        "mean_loss": sum(losses) / len(losses),  # over all timed steps
        "steps": a.steps,
        "warmup": a.warmup,
        "train_s": secs,
        "rss_after_import_mb": rss_import_mb,
        "emb_optimizer": a.emb_optimizer,
        "pad": a.pad,
        "layout": a.layout,
        "users": len(tok_all),
        "max_item_id": max_item,
        "torch": torch.__version__,
    }))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
