#!/usr/bin/env python3
"""Plot a CAFE study: eval AUC vs compression ratio, one line per storage.

    scripts/bench/plot_cafe_study.py RESULTS.tsv OUT.png

RESULTS.tsv is what scripts/bench/cafe_study.sh writes (columns storage, cr,
auc, logloss, samples_per_sec, planted_optimum_auc, ...). The compression
ratio axis is logarithmic; the FULL run (CR 1) is drawn as a horizontal line
and the planted click model's best achievable AUC as a dashed line. Runs that
failed (AUC nan) are left out of their line and listed in the legend.

--x effective puts each run at its effective compression ratio instead (the
full tables' bytes / the bytes the run really allocated, column effective_cr),
labelling each point with its nominal CR: CAFE keeps tables with at most
2000 x CR ids full and Q-R needs at least 2 sqrt(ids) rows, so the nominal
ratio overstates how much some runs compress.
Needs matplotlib (pip install matplotlib).
"""
import argparse
import csv
import math
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

STYLE = {  # storage -> (label, marker)
    "HASH": ("hash", "s"),
    "QR": ("Q-R trick", "^"),
    "CAFE": ("CAFE", "o"),
    "CAFE_MULTILEVEL": ("CAFE multi-level", "D"),
}


def read(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    if not rows:
        sys.exit(f"{path}: no runs")
    for r in rows:
        r["cr"] = float(r["cr"])
        r["auc"] = float(r["auc"])
        r["planted_optimum_auc"] = float(r["planted_optimum_auc"])
        r["effective_cr"] = float(r.get("effective_cr") or "nan")
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", help="results.tsv from scripts/bench/cafe_study.sh")
    ap.add_argument("out", help="output image (.png, .svg, ...)")
    ap.add_argument("--x", choices=["cr", "effective"], default="cr",
                    help="x axis: the nominal compression ratio (default) or the effective one (memory really used)")
    ap.add_argument("--title", default=None)
    args = ap.parse_args()
    rows = read(args.results)
    effective = args.x == "effective"
    if effective:
        if all(math.isnan(r["effective_cr"]) for r in rows):
            sys.exit(f"{args.results}: no effective_cr column")
        for r in rows:
            r["nominal_cr"], r["cr"] = r["cr"], r["effective_cr"]
    title = args.title or ("CAFE study: eval AUC vs " + ("effective (memory) " if effective else "")
                           + "compression ratio (synthetic data, drift halfway)")

    fig, ax = plt.subplots(figsize=(8, 5.2), dpi=120)
    crs = sorted({r["cr"] for r in rows if r["storage"] != "FULL" and not math.isnan(r["cr"])}) or [10.0, 10000.0]
    lo, hi = min(crs) / 1.5, max(crs) * 1.5

    optimum = [r["planted_optimum_auc"] for r in rows if not math.isnan(r["planted_optimum_auc"])]
    if optimum:
        ax.axhline(optimum[0], color="black", linestyle="--", linewidth=1.2,
                   label=f"planted optimum ({optimum[0]:.4f})")
    full = [r for r in rows if r["storage"] == "FULL" and not math.isnan(r["auc"])]
    if full:
        ax.axhline(full[0]["auc"], color="tab:gray", linestyle="-", linewidth=2, alpha=0.8,
                   label=f"full table ({full[0]['auc']:.4f})")

    failed = []
    storages = [s for s in STYLE if any(r["storage"] == s for r in rows)]
    storages += sorted({r["storage"] for r in rows} - set(STYLE) - {"FULL"})
    for i, s in enumerate(storages):
        mine = sorted((r for r in rows if r["storage"] == s), key=lambda r: r["cr"])
        failed += [f"{s} {r.get('nominal_cr', r['cr']):g}x" for r in mine if math.isnan(r["auc"]) or math.isnan(r["cr"])]
        mine = [r for r in mine if not math.isnan(r["auc"]) and not math.isnan(r["cr"])]
        if not mine:
            continue
        label, marker = STYLE.get(s, (s, "x"))
        (line,) = ax.plot([r["cr"] for r in mine], [r["auc"] for r in mine], marker=marker, linewidth=1.6,
                          markersize=6, label=label)
        if effective:
            for r in mine:
                ax.annotate(f"{r['nominal_cr']:g}x", (r["cr"], r["auc"]), textcoords="offset points", xytext=(4, 5 if i % 2 == 0 else -11),
                            fontsize=7, color=line.get_color())
    if failed:
        ax.plot([], [], " ", label="failed: " + ", ".join(failed))

    ax.set_xscale("log")
    ax.set_xlim(lo, hi)
    if effective:
        ax.set_xlabel("effective compression ratio = full tables' bytes / bytes allocated (log scale);"
                      " labels: nominal CR", fontsize=9)
    else:
        ax.set_xticks(crs)
        ax.set_xticklabels([f"{c:g}x" for c in crs])
        ax.set_xlabel("compression ratio (log scale)")
    ax.set_ylabel("eval AUC")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
