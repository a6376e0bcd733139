#!/usr/bin/env python3
"""The embedding_bench workload on TorchRec's FusedEmbeddingBagCollection (CPU):
one table, uniformly random ids (a fresh batch every step, as there), sum-pooled
bags, forward + backward with the sparse optimizer fused into backward (FBGEMM's
batched table kernels).

    torchrec_embedding.py [--rows 4000000] [--dim 16] [--batch 16384] [--bag 4]
                          [--iters 30] [--threads 2] [--optimizer sgd|rowwise_adagrad]

Bytes are counted as build/tests/bench/embedding_bench counts them (row
traffic only: forward reads each looked-up row, backward reads and writes it,
plus 4 bytes of row-wise Adagrad state each way; that bench counts the
backward's distinct rows, and with these uniform ids over millions of rows
99% of the ids are distinct, so counting ids here differs by under 1%), so the
GB/s figures compare directly; scripts/bench/embedding_vs_torchrec.sh runs both.
Needs torch, torchrec and fbgemm-gpu-cpu at matching versions.
"""
import argparse
import time

import numpy as np
import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=4000000)
    ap.add_argument("--dim", type=int, default=16)
    ap.add_argument("--batch", type=int, default=16384)
    ap.add_argument("--bag", type=int, default=4)
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--optimizer", choices=["sgd", "rowwise_adagrad"], default="rowwise_adagrad")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    from torchrec.modules.embedding_configs import EmbeddingBagConfig
    from torchrec.modules.fused_embedding_modules import FusedEmbeddingBagCollection
    from torchrec.optim import RowWiseAdagrad
    from torchrec.sparse.jagged_tensor import KeyedJaggedTensor

    opt = torch.optim.SGD if a.optimizer == "sgd" else RowWiseAdagrad
    ebc = FusedEmbeddingBagCollection(
        tables=[EmbeddingBagConfig(name="t", embedding_dim=a.dim, num_embeddings=a.rows, feature_names=["f"])],
        optimizer_type=opt, optimizer_kwargs={"lr": 0.01}, device=torch.device("cpu"))
    rng = np.random.default_rng(5)
    n = a.batch * a.bag
    batches = [KeyedJaggedTensor.from_lengths_sync(
        keys=["f"], values=torch.from_numpy(rng.integers(0, a.rows, n, dtype=np.int64)),
        lengths=torch.full((a.batch,), a.bag, dtype=torch.int32)) for _ in range(a.iters + 2)]
    grad = torch.full((a.batch, a.dim), 1e-3)
    fwd = bwd = 0.0
    for it in range(-2, a.iters):  # two warm-up steps
        kjt = batches[it + 2]
        t0 = time.perf_counter()
        out = ebc(kjt).values()
        t1 = time.perf_counter()
        out.backward(grad)
        t2 = time.perf_counter()
        if it >= 0:
            fwd += t1 - t0
            bwd += t2 - t1
    ids = float(n) * a.iters
    row_bytes = 4.0 * a.dim
    state = 4.0 if a.optimizer == "rowwise_adagrad" else 0.0
    fwd_bytes, bwd_bytes = ids * row_bytes, ids * (2 * row_bytes + 2 * state)
    print(f"torchrec FusedEmbeddingBagCollection ({a.optimizer}, torch {torch.__version__}, {a.threads} threads): "
          f"forward {fwd_bytes / fwd / 1e9:.2f} GB/s ({ids / fwd / 1e6:.1f} M ids/s), backward+update "
          f"{bwd_bytes / bwd / 1e9:.2f} GB/s, total {(fwd_bytes + bwd_bytes) / (fwd + bwd) / 1e9:.2f} GB/s; "
          f"step {(fwd + bwd) / a.iters * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
