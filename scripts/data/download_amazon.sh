#!/usr/bin/env bash
# Downloads an Amazon 2014 5-core review file (McAuley et al.) and converts it
# into the one-line-per-user sequences of S3-Rec / ICLRec (`user item1 item2
# ...`, read with data.sequence.format ITEM_LINES) with amazon_to_sequences.py.
#   scripts/data/download_amazon.sh <Beauty|Sports_and_Outdoors> [dest_dir]
# dest_dir defaults to data/ in the repository (ignored by git); the result is
# <dest_dir>/<Category>.txt. Nothing is downloaded when the review file is
# already there. The review data is for research use.
set -euo pipefail

prog=$(basename "$0")
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
die() {
  echo "$prog: $*" >&2
  exit 1
}
usage() {
  echo "usage: $prog <Beauty|Sports_and_Outdoors> [dest_dir]   (dest_dir default: $repo/data)" >&2
  exit 2
}

if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage; fi
category=$1
dest=${2:-$repo/data}
case "$category" in
  Beauty | Sports_and_Outdoors) ;;
  *) usage ;;
esac
command -v python3 >/dev/null || die "python3 is needed for the conversion"
file="reviews_${category}_5.json.gz"
url="http://snap.stanford.edu/data/amazon/productGraph/categoryFiles/$file"
reviews="$dest/$file"
out="$dest/$category.txt"

# Writes $1 to $2; fails (without a partial file) when the server cannot be reached.
fetch() {
  if command -v curl >/dev/null; then
    curl -fL --connect-timeout 20 --retry 2 -sS -o "$2" "$1"
  elif command -v wget >/dev/null; then
    wget -q --timeout=20 --tries=2 -O "$2" "$1"
  else
    die "neither curl nor wget is installed"
  fi
}

if [ -s "$reviews" ]; then
  echo "$prog: $reviews is already there, not downloading" >&2
else
  mkdir -p "$dest"
  echo "$prog: downloading $url" >&2
  if ! fetch "$url" "$reviews.part"; then
    rm -f "$reviews.part"
    die "cannot download $url: no network, or the server cannot be reached. On a machine with a network, download it into $dest/ and run this again."
  fi
  # A proxy's error page is not gzip: say so instead of failing obscurely later.
  gzip -t "$reviews.part" 2>/dev/null || {
    rm -f "$reviews.part"
    die "$url did not return a gzip file (a proxy or login page?)"
  }
  mv "$reviews.part" "$reviews"
fi

python3 "$here/amazon_to_sequences.py" "$reviews" "$out"
echo "sequences file: $out"
echo "data.sequence.format: ITEM_LINES"
echo "(e.g. --set data.source=SEQUENCES --set data.train_path=$out --set data.sequence.format=ITEM_LINES)"
