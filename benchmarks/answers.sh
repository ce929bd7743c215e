#!/bin/sh
# Grounded answers on the CNIL FAQ for both bundled chat models, on one index built once and
# reused (--index-dir), then the levers tried on the 0.5B: passages given (k) and the
# instructions (setting grounding_instructions). The embedder as a lever:
# benchmarks/answers_embedders.sh. Compare runs: benchmarks/answers_compare.py.
# Usage: benchmarks/answers.sh [QUESTIONS]  (default 20 answerable + 10 out-of-domain)
# Data: ../shared/data/fr-qa/cnil-faq-squad.json (not in the repository).
set -eu
DATA=${QA_DATA:-../shared/data/fr-qa/cnil-faq-squad.json}
OUT=${ANSWERS_OUT:-.cache/bench/out}
INDEX=${ANSWERS_INDEX:-.cache/bench/cnil-index}
Q=${1:-20}
mkdir -p "$OUT"
run() {  # NAME MODEL [OPTIONS...]
    name=$1 model=$2
    shift 2
    greffier models pull "$model"
    greffier eval answers "$DATA" --model "$model" --questions "$Q" --out-of-domain 10 \
        --index-dir "$INDEX" --worst 5 --json "$OUT/answers-$name.json" \
        --chart "$OUT/answers-$name.svg" "$@"
}
run qwen15-k4 qwen2.5-coder-1.5b-instruct --k 4 --max-tokens 150
run qwen05-k4 qwen2.5-coder-0.5b-instruct --k 4 --max-tokens 150
run qwen05-k2 qwen2.5-coder-0.5b-instruct --k 2 --max-tokens 150
run qwen05-k6 qwen2.5-coder-0.5b-instruct --k 6 --max-tokens 150
# Instructions that ask for the passages' own words, two or three sentences, and a fixed
# reply when the passages do not answer.
GREFFIER_GROUNDING_INSTRUCTIONS="$(cat benchmarks/data/grounding_extracts_fr.txt)" \
    run qwen05-k4-extracts qwen2.5-coder-0.5b-instruct --k 4 --max-tokens 150
