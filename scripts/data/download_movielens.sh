#!/usr/bin/env bash
# Downloads a MovieLens ratings set from GroupLens, unzips it, and prints the
# ratings file and the data.sequence.format that reads it.
#   scripts/data/download_movielens.sh <ml-100k|ml-1m|ml-20m> [dest_dir]
# dest_dir defaults to data/ in the repository (ignored by git). Nothing is
# downloaded when the ratings file is already there.
# MovieLens is under the GroupLens usage license (research, non-commercial, no
# redistribution): see the README inside each zip.
set -euo pipefail

prog=$(basename "$0")
repo=$(cd "$(dirname "$0")/../.." && pwd)
die() {
  echo "$prog: $*" >&2
  exit 1
}
usage() {
  echo "usage: $prog <ml-100k|ml-1m|ml-20m> [dest_dir]   (dest_dir default: $repo/data)" >&2
  exit 2
}

if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage; fi
name=$1
dest=${2:-$repo/data}
case "$name" in
  ml-100k) ratings=u.data format=MOVIELENS_TAB ;;
  ml-1m) ratings=ratings.dat format=MOVIELENS_DAT ;;
  ml-20m) ratings=ratings.csv format=MOVIELENS_CSV ;;
  *) usage ;;
esac
url="https://files.grouplens.org/datasets/movielens/$name.zip"
target="$dest/$name/$ratings"  # each zip holds one folder named like the set

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

unpack() {
  if command -v unzip >/dev/null; then
    unzip -q -o "$1" -d "$2"
  elif command -v python3 >/dev/null; then
    python3 -m zipfile -e "$1" "$2"
  else
    die "cannot unzip $1: install unzip (or python3)"
  fi
}

if [ -s "$target" ]; then
  echo "$prog: $target is already there, not downloading" >&2
else
  mkdir -p "$dest"
  zip="$dest/$name.zip"
  echo "$prog: downloading $url" >&2
  if ! fetch "$url" "$zip.part"; then
    rm -f "$zip.part"
    die "cannot download $url: no network, or the server cannot be reached. On a machine with a network, download it and unzip it into $dest/ (it holds the folder $name/)."
  fi
  mv "$zip.part" "$zip"
  # A proxy's error page is not a zip: say so instead of failing obscurely later.
  if ! unpack "$zip" "$dest"; then
    rm -f "$zip"
    die "$url did not return a valid zip file (a proxy or login page?)"
  fi
  [ -s "$target" ] || die "$zip unpacked, but $target is not in it"
  rm -f "$zip"
fi

echo "ratings file: $target"
echo "data.sequence.format: $format"
echo "(e.g. --set data.source=SEQUENCES --set data.train_path=$target --set data.sequence.format=$format)"
