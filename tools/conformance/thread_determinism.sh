#!/usr/bin/env bash
# ctest conformance_thread_determinism: the conformance output hash (every output of every
# test that loads) must be the same at --threads 1 and --threads 2.
#   thread_determinism.sh RUNNER DEBIAN_DATA_DIR [GENERATED_CACHE_DIR]
# Exit 77 (ctest: skipped) when no test data is installed.
set -euo pipefail
runner="$1" debian="$2" cache="${3:-}"
suites=()
for kind in node pytorch-converted pytorch-operator simple; do
  [[ -d "$debian/$kind" ]] && suites+=(--suite "debian-onnx/$kind=$debian/$kind")
done
if [[ -n "$cache" ]]; then
  for dir in "$cache"/onnx-*/node; do
    [[ -d "$dir" ]] && suites+=(--suite "$(basename "$(dirname "$dir")")/node=$dir")
  done
fi
if ((${#suites[@]} == 0)); then
  echo "no conformance data (install libonnx-testdata); skipping"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
hashes=()
for threads in 1 2; do
  # Failing tests are the conformance report's business; here only the hash matters.
  "$runner" "${suites[@]}" --threads "$threads" --report "$tmp/report-$threads.txt" >"$tmp/out-$threads.txt" || true
  line=$(grep '^output hash: ' "$tmp/out-$threads.txt") || { cat "$tmp/out-$threads.txt"; echo "runner printed no hash"; exit 1; }
  echo "threads $threads: $line; $(tail -n 1 "$tmp/out-$threads.txt")"
  hashes+=("$line")
done
if [[ "${hashes[0]}" != "${hashes[1]}" ]]; then
  echo "FAIL: output hash differs between 1 and 2 threads"
  # Name the first test whose line differs, if any (outputs differ silently otherwise).
  diff <(grep -v '^output hash' "$tmp/report-1.txt") <(grep -v '^output hash' "$tmp/report-2.txt") | head -n 10 || true
  exit 1
fi
echo "PASS: identical output hash at 1 and 2 threads"
