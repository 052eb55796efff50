#!/usr/bin/env bash
# scripts/fuzz.sh BUILD SECS: runs each libFuzzer target for SECS seconds on a copy of its
# corpus; new crashes are left in tests/fuzz/artifacts/ to be added to the corpus.
set -uo pipefail
cd "$(dirname "$0")/.."
B=$1; SECS=${2:-20}; rc=0
mkdir -p tests/fuzz/artifacts
for t in "$B"/fuzz/fuzz_*; do
  n=${t##*/fuzz_}; work=$(mktemp -d)
  cp -r tests/fuzz/corpus/"$n"/. "$work"/ 2>/dev/null || true
  dict=tests/fuzz/$n.dict; dopt=(); [[ -f $dict ]] && dopt=(-dict="$dict")
  echo "fuzz: $n for ${SECS}s"
  "$t" "$work" "${dopt[@]}" -max_total_time="$SECS" -max_len=65536 -timeout=10 \
      -artifact_prefix=tests/fuzz/artifacts/"$n"- -print_final_stats=1 2>&1 | tail -n 3 || rc=1
  rm -rf "$work"
done
exit $rc
