#!/usr/bin/env python3
"""The same DLRM in PyTorch, trained on a shardrec binary file, for a same-machine
throughput comparison (scripts/bench/dlrm_vs_pytorch.sh runs both).

Model: bottom MLP 13-512-256-64-16 (ReLU), 26 sum-pooled embedding bags of dim 16,
DLRM dot interaction (lower triangle, no self), top MLP 367-512-256-1, BCE-with-logits,
plain SGD for dense and sparse parameters. Ids are mapped into tables by
`id % rows`, as shardrec's MODULO id transform does.
"""
import argparse
import struct
import time

import numpy as np
import torch
from torch import nn


def read_binary(path):
    with open(path, "rb") as f:
        magic = f.read(8)
        assert magic == b"SRBIN001", f"{path}: not a shardrec binary file"
        (header_len,) = struct.unpack("<I", f.read(4))
        offset = 12 + header_len
    rec = np.dtype([("label", "<f4"), ("dense", "<f4", 13), ("ids", "<u8", 26)])
    return np.memmap(path, dtype=rec, mode="r", offset=offset)


class Dlrm(nn.Module):
    def __init__(self, rows, dim=16, bottom=(512, 256, 64, 16), top=(512, 256, 1)):
        super().__init__()
        layers, width = [], 13
        for w in bottom:
            layers += [nn.Linear(width, w), nn.ReLU()]
            width = w
        self.bottom = nn.Sequential(*layers)
        self.tables = nn.ModuleList(nn.EmbeddingBag(r, dim, mode="sum", sparse=True) for r in rows)
        n = len(rows) + 1
        self.li, self.lj = torch.tril_indices(n, n, offset=-1)
        layers, width = [], dim + n * (n - 1) // 2
        for i, w in enumerate(top):
            layers.append(nn.Linear(width, w))
            if i + 1 < len(top):
                layers.append(nn.ReLU())
            width = w
        self.top = nn.Sequential(*layers)

    def forward(self, dense, ids, offsets):
        z = self.bottom(dense)
        embs = [t(ids[:, f], offsets) for f, t in enumerate(self.tables)]
        t = torch.stack([z] + embs, dim=1)  # B x (F+1) x d
        dots = torch.bmm(t, t.transpose(1, 2))[:, self.li, self.lj]
        return self.top(torch.cat([z, dots], dim=1)).squeeze(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--rows", required=True, help="comma-separated table sizes")
    ap.add_argument("--batch", type=int, default=2048)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--bf16", action="store_true", help="torch.autocast(cpu, bfloat16) around the forward")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    rows = [int(r) for r in a.rows.split(",")]
    data = read_binary(a.data)
    model = Dlrm(rows)
    sparse = list(model.tables.parameters())
    dense = [p for n, p in model.named_parameters() if not n.startswith("tables.")]
    opt_dense = torch.optim.SGD(dense, lr=a.lr)
    opt_sparse = torch.optim.SGD(sparse, lr=a.lr)
    loss_fn = nn.BCEWithLogitsLoss()
    row_mod = np.array(rows, dtype=np.uint64)
    offsets = torch.arange(a.batch, dtype=torch.int64)
    start = time.perf_counter()
    for step in range(a.steps):
        lo = (step * a.batch) % (len(data) - a.batch + 1)
        chunk = data[lo : lo + a.batch]
        dense_x = torch.from_numpy(np.ascontiguousarray(chunk["dense"]))
        ids = torch.from_numpy((chunk["ids"] % row_mod).astype(np.int64))
        labels = torch.from_numpy(np.ascontiguousarray(chunk["label"]))
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.bf16):
            logits = model(dense_x, ids, offsets)
        loss = loss_fn(logits.float(), labels)
        opt_dense.zero_grad(set_to_none=True)
        opt_sparse.zero_grad(set_to_none=True)
        loss.backward()
        opt_dense.step()
        opt_sparse.step()
    secs = time.perf_counter() - start
    print(f"pytorch {torch.__version__}: {a.steps} steps, loss {loss.item():.5f}, "
          f"{a.steps * a.batch / secs:.0f} samples/s ({a.threads} threads{', bf16 autocast' if a.bf16 else ''})")


if __name__ == "__main__":
    main()
