#!/usr/bin/env bash
# Long fuzz run of the snapshot and dataset readers (issue 10): 100 000 seeded cases per format
# by default, against a debug build (bounds and overflow checks on).
#
#   scripts/fuzz.sh                 100 000 cases per format, seed 0x5EED2025
#   scripts/fuzz.sh 20000 12345     20 000 cases per format, seed 12345
#
# Formats: safetensors, session.json (store level, with snapshot folders), IDX raw, IDX gzip,
# CIFAR binary. A failing case is reported as "seed S case N" with its input saved under
# $TMPDIR/spherelab-fuzz-failures/; replay it with
#   SPHERELAB_FUZZ_SEED=S SPHERELAB_FUZZ_CASE=N swift test --filter <suite>
# If the test process dies (a trap) or is killed by the time limit (a hang), the case that was
# running is printed from /dev/shm (or $TMPDIR)/spherelab-fuzz-current-<format>.txt.
set -u
cd "$(dirname "$0")/.."

CASES="${1:-100000}"
SEED="${2:-0x5EED2025}"
LIMIT="${SPHERELAB_FUZZ_TIME_LIMIT:-3600}"   # seconds for the whole run
TMP="${TMPDIR:-/tmp}"
TMP="${TMP%/}"
# The running case is written once per case: to memory when possible.
if [ -w /dev/shm ]; then TRACE=/dev/shm; else TRACE="$TMP"; fi

swift build --build-tests >/dev/null || { echo "fuzz.sh: build failed" >&2; exit 2; }
rm -f "$TRACE"/spherelab-fuzz-current-*.txt

start=$(date +%s)
SPHERELAB_FUZZ_CASES="$CASES" SPHERELAB_FUZZ_SEED="$SEED" SPHERELAB_FUZZ_TRACE=1 SPHERELAB_FUZZ_TRACE_DIR="$TRACE" \
    timeout --signal=KILL "$LIMIT" \
    swift test --skip-build --filter 'SafeTensorsFuzzTests|SessionJSONFuzzTests|DataFuzzTests' 2>&1 \
    | grep -E '^fuzz |✘|✔ Test run|Test run with|error:' 
status=${PIPESTATUS[0]}
end=$(date +%s)

echo "fuzz.sh: $CASES cases per format, seed $SEED, $((end - start)) s, exit status $status"
if [ "$status" -ne 0 ]; then
    for f in "$TRACE"/spherelab-fuzz-current-*.txt; do
        [ -e "$f" ] && echo "last case started for $(basename "$f" .txt | sed 's/spherelab-fuzz-current-//'): $(cat "$f")"
    done
    [ "$status" -eq 137 ] && echo "fuzz.sh: killed after $LIMIT s (a hang, or raise SPHERELAB_FUZZ_TIME_LIMIT)"
    exit 1
fi
