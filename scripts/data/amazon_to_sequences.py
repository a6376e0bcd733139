#!/usr/bin/env python3
"""Converts an Amazon review file (2014 release, e.g. reviews_Beauty_5.json.gz)
into the one-line-per-user sequence format of the S3-Rec / ICLRec papers:

    user item1 item2 ...

- Each user's reviews are sorted by unixReviewTime with a stable sort, so
  reviews with the same time keep the file's order.
- Users are numbered from 1 in the order of their first review in the file.
- Items are numbered from 1 in the order they first appear in the output,
  i.e. walking the users in that order, each through its sorted history.

shardrec reads the result with data.sequence.format: ITEM_LINES.

Usage: amazon_to_sequences.py INPUT.json[.gz] OUTPUT.txt

Standard library only. Every line of the input is one review: strict JSON, or
the Python-literal form some of the 2014 files use (single quotes), which is
read with ast.literal_eval (it evaluates literals only, never code).
"""

import ast
import gzip
import json
import os
import sys

REQUIRED = ("reviewerID", "asin", "unixReviewTime")


class ConvertError(Exception):
    pass


def open_text(path):
    with open(path, "rb") as f:
        magic = f.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, "rt", encoding="utf-8")


def parse_review(text, where):
    try:
        review = json.loads(text)
    except ValueError:
        try:
            review = ast.literal_eval(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as e:
            raise ConvertError(f"{where}: neither JSON nor a Python literal: {e}") from None
    if not isinstance(review, dict):
        raise ConvertError(f"{where}: expected an object, got {type(review).__name__}")
    missing = [k for k in REQUIRED if k not in review]
    if missing:
        raise ConvertError(f"{where}: missing {', '.join(missing)}")
    try:
        time = int(review["unixReviewTime"])
    except (TypeError, ValueError):
        raise ConvertError(f"{where}: unixReviewTime is not an integer: {review['unixReviewTime']!r}") from None
    return str(review["reviewerID"]), str(review["asin"]), time


def read_histories(path):
    """Returns {reviewerID: [(time, asin), ...]} in order of first appearance."""
    histories = {}
    with open_text(path) as f:
        for number, line in enumerate(f, start=1):
            line = line.strip()
            if not line:
                continue
            user, item, time = parse_review(line, f"{path}:{number}")
            histories.setdefault(user, []).append((time, item))
    return histories


def to_sequences(histories):
    """Sorts each history by time (stable) and renumbers users and items from 1."""
    item_ids = {}
    sequences = []
    for user_index, reviews in enumerate(histories.values(), start=1):
        reviews = sorted(reviews, key=lambda r: r[0])  # sorted() is stable
        items = [item_ids.setdefault(asin, len(item_ids) + 1) for _, asin in reviews]
        sequences.append((user_index, items))
    return sequences, len(item_ids)


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    src, dst = argv[1], argv[2]
    try:
        histories = read_histories(src)
    except (OSError, EOFError, UnicodeDecodeError) as e:
        print(f"amazon_to_sequences: cannot read {src}: {e}", file=sys.stderr)
        return 1
    except ConvertError as e:
        print(f"amazon_to_sequences: {e}", file=sys.stderr)
        return 1
    if not histories:
        print(f"amazon_to_sequences: {src} holds no reviews", file=sys.stderr)
        return 1
    sequences, num_items = to_sequences(histories)
    # Written beside the target and renamed, so a failed run leaves no half file.
    tmp = dst + ".tmp"
    with open(tmp, "w", encoding="ascii") as out:
        for user, items in sequences:
            out.write(f"{user} {' '.join(map(str, items))}\n")
    os.replace(tmp, dst)
    interactions = sum(len(items) for _, items in sequences)
    print(f"amazon_to_sequences: {dst}: {len(sequences)} users, {num_items} items, {interactions} interactions",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
