#!/usr/bin/env python3
"""Prints the test metrics of sequence-model runs as a Markdown table.

    python3 scripts/results/sequence_table.py runs/hstu_beauty runs/sasrec_beauty ...

Each argument is a train.output_dir; its metrics.jsonl "final" event holds the
test metrics of the best checkpoint by validation NDCG@10 (both protocols).
Standard library only.
"""
import json
import sys


def final_event(run):
    final = None
    with open(f"{run}/metrics.jsonl") as f:
        for line in f:
            event = json.loads(line)
            if event.get("event") == "final":
                final = event
    if final is None:
        sys.exit(f"{run}/metrics.jsonl has no final event (the run did not finish)")
    return final


def main(runs):
    cols = [("HR@10", "hr@10"), ("NDCG@10", "ndcg@10"), ("HR@50", "hr@50"), ("NDCG@50", "ndcg@50"),
            ("HR@200", "hr@200"), ("MRR", "mrr")]
    print("| run | protocol | best step | " + " | ".join(c for c, _ in cols) + " |")
    print("|---|---|---|" + "---|" * len(cols))
    for run in runs:
        e = final_event(run)
        name = run.rstrip("/").split("/")[-1]
        for proto, label in (("seen0", "seen items scored 0"), ("all", "all items")):
            if f"test_{proto}_mrr" not in e:
                continue
            values = " | ".join(f"{e[f'test_{proto}_{k}']:.4f}" for _, k in cols)
            print(f"| {name} | {label} | {int(e['best_step'])} | {values} |")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
