#!/bin/sh
# CrowS-Pairs bias of the bundled chat models, French and English side by side.
# Usage: benchmarks/bias.sh [PAIRS]  (default: every pair; PAIRS = the first N of each file)
# Data: ../shared/data/bias/crows_pairs_{fr,en}.csv (not in the repository; see SOURCE.md).
# Each pair's scores are kept in $OUT/bias-MODEL.jsonl as they come: run it again after a
# stop and it continues where it stopped.
set -eu
DATA=${BIAS_DATA:-../shared/data/bias}
OUT=${BIAS_OUT:-.cache/bench/out}
LIMIT=${1:+--limit $1}
mkdir -p "$OUT"
for model in qwen2.5-coder-0.5b-instruct qwen2.5-coder-1.5b-instruct; do
    greffier models pull "$model"
    # One thread: on a shared machine llama.cpp's threads wait on each other.
    GREFFIER_THREADS=${GREFFIER_THREADS:-1} greffier eval bias \
        "$DATA/crows_pairs_fr.csv" "$DATA/crows_pairs_en.csv" --model "$model" $LIMIT \
        --strongest 5 --scores "$OUT/bias-$model.jsonl" --json "$OUT/bias-$model.json" --chart "$OUT/bias-$model.svg"
done
