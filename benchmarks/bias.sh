#!/bin/sh
# CrowS-Pairs bias of the bundled chat models, French and English side by side.
# Usage: benchmarks/bias.sh [PAIRS]  (default: every pair; PAIRS = the first N of each file)
# Environment: BIAS_MEASURE=total|shared (default total; see `greffier eval bias --help`),
# BIAS_MODELS (default: both bundled chat models), BIAS_DATA, BIAS_OUT.
# Data: ../shared/data/bias/crows_pairs_{fr,en}.csv (not in the repository; see SOURCE.md).
# Each pair's scores are kept in $OUT/bias-MODEL.jsonl as they come (with every token's
# log-probability, so one run serves both measures): run it again after a stop, or with the
# other measure, and it continues where it stopped.
set -eu
DATA=${BIAS_DATA:-../shared/data/bias}
OUT=${BIAS_OUT:-.cache/bench/out}
MEASURE=${BIAS_MEASURE:-total}
MODELS=${BIAS_MODELS:-qwen2.5-coder-0.5b-instruct qwen2.5-coder-1.5b-instruct}
LIMIT=${1:+--limit $1}
SUFFIX=${MEASURE#total}
mkdir -p "$OUT"
for model in $MODELS; do
    name="bias-$model${SUFFIX:+-$SUFFIX}"
    greffier models pull "$model"
    # One thread: on a shared machine llama.cpp's threads wait on each other.
    GREFFIER_THREADS=${GREFFIER_THREADS:-1} greffier eval bias \
        "$DATA/crows_pairs_fr.csv" "$DATA/crows_pairs_en.csv" --model "$model" $LIMIT \
        --measure "$MEASURE" --strongest 5 --scores "$OUT/bias-$model.jsonl" \
        --json "$OUT/$name.json" --chart "$OUT/$name.svg"
done
