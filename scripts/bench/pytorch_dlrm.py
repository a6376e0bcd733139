#!/usr/bin/env python3
"""The same DLRM in PyTorch, trained on a shardrec binary file, for a same-machine
throughput comparison (scripts/bench/dlrm_vs_pytorch.sh runs both).

Model: bottom MLP 13-512-256-64-16 (ReLU), 26 sum-pooled embedding bags of dim 16,
DLRM dot interaction (lower triangle, no self), top MLP 367-512-256-1, BCE-with-logits,
plain SGD for dense and sparse parameters. Ids are mapped into tables by
`id % rows`, as shardrec's MODULO id transform does.

--embeddings pytorch (default): one nn.EmbeddingBag(sparse=True) per table,
sparse gradients, torch.optim.SGD.
--embeddings torchrec: TorchRec's FusedEmbeddingBagCollection on the CPU (FBGEMM's
batched table kernels, SGD fused into the backward), what a TorchRec user runs;
needs `pip install torchrec fbgemm-gpu-cpu` at versions matching torch.
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


class PyTorchTables(nn.Module):
    """One sparse-gradient EmbeddingBag per table; ids B x F -> F pooled B x dim tensors."""

    def __init__(self, rows, dim):
        super().__init__()
        self.bags = nn.ModuleList(nn.EmbeddingBag(r, dim, mode="sum", sparse=True) for r in rows)

    def forward(self, ids, offsets):
        return [t(ids[:, f], offsets) for f, t in enumerate(self.bags)]


class TorchRecTables(nn.Module):
    """TorchRec's FusedEmbeddingBagCollection (SGD applied inside backward); ids B x F -> B x F x dim."""

    def __init__(self, rows, dim, lr):
        super().__init__()
        from torchrec.modules.embedding_configs import EmbeddingBagConfig
        from torchrec.modules.fused_embedding_modules import FusedEmbeddingBagCollection

        self.keys = [f"f{i}" for i in range(len(rows))]
        configs = [EmbeddingBagConfig(name=f"t{i}", embedding_dim=dim, num_embeddings=r, feature_names=[k])
                   for i, (r, k) in enumerate(zip(rows, self.keys))]
        self.ebc = FusedEmbeddingBagCollection(tables=configs, optimizer_type=torch.optim.SGD,
                                               optimizer_kwargs={"lr": lr}, device=torch.device("cpu"))

    def forward(self, ids, offsets):
        from torchrec.sparse.jagged_tensor import KeyedJaggedTensor

        b, f = ids.shape
        kjt = KeyedJaggedTensor.from_lengths_sync(keys=self.keys, values=ids.t().contiguous().view(-1),
                                                  lengths=torch.ones(b * f, dtype=torch.int32))
        return self.ebc(kjt).values().view(b, f, -1)


class Dlrm(nn.Module):
    def __init__(self, rows, dim=16, bottom=(512, 256, 64, 16), top=(512, 256, 1), tables=None):
        super().__init__()
        layers, width = [], 13
        for w in bottom:
            layers += [nn.Linear(width, w), nn.ReLU()]
            width = w
        self.bottom = nn.Sequential(*layers)
        self.tables = tables if tables is not None else PyTorchTables(rows, dim)
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
        embs = self.tables(ids, offsets)
        if isinstance(embs, list):  # one copy either way: stack the bags, or put z beside TorchRec's block
            t = torch.stack([z] + embs, dim=1)  # B x (F+1) x d
        else:
            t = torch.cat([z.unsqueeze(1), embs], dim=1)
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
    ap.add_argument("--embeddings", choices=["pytorch", "torchrec"], default="pytorch")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    rows = [int(r) for r in a.rows.split(",")]
    data = read_binary(a.data)
    fused = a.embeddings == "torchrec"
    model = Dlrm(rows, tables=TorchRecTables(rows, 16, a.lr) if fused else None)
    dense = [p for n, p in model.named_parameters() if not n.startswith("tables.")]
    opt_dense = torch.optim.SGD(dense, lr=a.lr)
    # TorchRec applies SGD to its tables inside backward; PyTorch's sparse gradients need a step.
    opt_sparse = None if fused else torch.optim.SGD(model.tables.parameters(), lr=a.lr)
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
        if opt_sparse is not None:
            opt_sparse.zero_grad(set_to_none=True)
        loss.backward()
        opt_dense.step()
        if opt_sparse is not None:
            opt_sparse.step()
    secs = time.perf_counter() - start
    print(f"{'torchrec' if fused else 'pytorch'} (torch {torch.__version__}): {a.steps} steps, loss {loss.item():.5f}, "
          f"{a.steps * a.batch / secs:.0f} samples/s ({a.threads} threads{', bf16 autocast' if a.bf16 else ''})")


if __name__ == "__main__":
    main()
