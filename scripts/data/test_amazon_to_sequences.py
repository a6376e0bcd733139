#!/usr/bin/env python3
"""Offline test of amazon_to_sequences.py on a tiny hand-written review file.

Run: python3 scripts/data/test_amazon_to_sequences.py (also a ctest test).
"""

import gzip
import os
import subprocess
import sys
import tempfile
import unittest

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "amazon_to_sequences.py")


def review(user, asin, time, loose=False):
    if loose:  # the Python-literal form of some 2014 files
        return "{'reviewerID': '%s', 'asin': '%s', 'overall': 5.0, 'unixReviewTime': %d}" % (user, asin, time)
    return '{"reviewerID": "%s", "asin": "%s", "overall": 4.0, "unixReviewTime": %d}' % (user, asin, time)


class AmazonToSequencesTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)

    def path(self, name):
        return os.path.join(self.dir.name, name)

    def write_gz(self, name, lines):
        path = self.path(name)
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def convert(self, src, dst):
        return subprocess.run([sys.executable, SCRIPT, src, dst], capture_output=True, text=True)

    def test_sorts_stably_and_numbers_by_first_appearance(self):
        src = self.write_gz(
            "reviews.json.gz",
            [
                review("B", "x", 300),
                review("A", "y", 200),
                review("B", "z", 100),
                review("A", "x", 100, loose=True),
                review("B", "w", 300),  # same time as B's "x": stays after it
                "",  # blank lines are ignored
                review("C", "z", 50),
                review("A", "v", 200),  # same time as A's "y": stays after it
            ],
        )
        dst = self.path("out.txt")
        result = self.convert(src, dst)
        self.assertEqual(result.returncode, 0, result.stderr)
        # B (user 1): z@100 x@300 w@300 -> items z=1 x=2 w=3
        # A (user 2): x@100 y@200 v@200 -> x=2 y=4 v=5
        # C (user 3): z@50 -> 1
        with open(dst) as f:
            self.assertEqual(f.read(), "1 1 2 3\n2 2 4 5\n3 1\n")
        self.assertIn("3 users, 5 items, 7 interactions", result.stderr)
        self.assertFalse(os.path.exists(dst + ".tmp"))

    def test_plain_json_input(self):
        src = self.path("reviews.json")
        with open(src, "w") as f:
            f.write(review("u", "a", 2) + "\n" + review("u", "b", 1) + "\n")
        dst = self.path("out.txt")
        result = self.convert(src, dst)
        self.assertEqual(result.returncode, 0, result.stderr)
        with open(dst) as f:
            self.assertEqual(f.read(), "1 1 2\n")

    def test_bad_lines_name_file_and_line(self):
        src = self.write_gz("bad.json.gz", [review("A", "x", 1), '{"reviewerID": "A", "unixReviewTime": 5}'])
        result = self.convert(src, self.path("out.txt"))
        self.assertEqual(result.returncode, 1)
        self.assertIn(f"{src}:2: missing asin", result.stderr)
        self.assertFalse(os.path.exists(self.path("out.txt")))

        src = self.write_gz("junk.json.gz", [review("A", "x", 1), "not a review"])
        result = self.convert(src, self.path("out.txt"))
        self.assertEqual(result.returncode, 1)
        self.assertIn(f"{src}:2: neither JSON nor a Python literal", result.stderr)

        src = self.write_gz("time.json.gz", ['{"reviewerID": "A", "asin": "x", "unixReviewTime": "soon"}'])
        result = self.convert(src, self.path("out.txt"))
        self.assertEqual(result.returncode, 1)
        self.assertIn(f"{src}:1: unixReviewTime is not an integer: 'soon'", result.stderr)

    def test_missing_and_empty_input(self):
        result = self.convert(self.path("nope.json.gz"), self.path("out.txt"))
        self.assertEqual(result.returncode, 1)
        self.assertIn("cannot read", result.stderr)
        src = self.write_gz("empty.json.gz", [])
        result = self.convert(src, self.path("out.txt"))
        self.assertEqual(result.returncode, 1)
        self.assertIn("holds no reviews", result.stderr)

    def test_usage(self):
        result = subprocess.run([sys.executable, SCRIPT], capture_output=True, text=True)
        self.assertEqual(result.returncode, 2)
        self.assertIn("Usage", result.stderr)


if __name__ == "__main__":
    unittest.main()
