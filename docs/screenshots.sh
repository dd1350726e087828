#!/usr/bin/env bash
# Makes the README's pictures from real runs:
#   docs/report.png       the report `peft demo` writes (its runs, each method's picture)
#   docs/pretraining.png  the curves of `peft demo --pretraining` on tinyshakespeare
#   docs/report-embedding.png  a LoRA embedding run (peft train --task embedding:
#                         stories260K mean-pooled, mnrl on manpages-ir, 40 steps)
# and keeps the runs' printed output next to them (build/screenshots/*.txt),
# which is where the README's numbers come from.
#
#   docs/screenshots.sh            (after building build/bin/peft)
#   docs/screenshots.sh DIR embedding   only the embedding run's picture
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
peft="${PEFT_BIN:-$root/build/bin/peft}"
shared="${PEFT_SHARED:-$root/../shared}"
work="${1:-$root/build/screenshots}"
only="${2:-}"
mkdir -p "$work"
browser="$(bash "$root/scripts/test-browser.sh")"
rm -rf "$work/embedding"
"$peft" train --task embedding --model "$shared/models/stories260K.gguf" --data "$shared/data/manpages-ir" \
  --eval-retrieval "$shared/data/manpages-ir" --method lora --loss mnrl --rank 8 --targets q,k,v,o,up,down \
  --pooling mean --max-length 48 --batch-size 16 --lr 5e-3 --steps 40 --eval-every 10 --seed 1 \
  --out "$work/embedding" 2>&1 | tee "$work/embedding.txt"
"$peft" report "$work/embedding" --title "peft.cpp report: a LoRA embedding run" -o "$work/embedding/report.html"
bash "$root/scripts/render-page.sh" "$work/embedding/report.html" "$root/docs/report-embedding.png" 1360,2500 "$browser"
[ "$only" = embedding ] && exit 0
"$peft" demo -o "$work/demo" | tee "$work/demo.txt"
"$peft" demo --pretraining --data "$shared/data/tinyshakespeare/input.txt" -o "$work/pretraining" |
  tee "$work/pretraining.txt"
bash "$root/scripts/render-page.sh" "$work/demo/report.html" "$root/docs/report.png" 1360,1500 "$browser"
bash "$root/scripts/render-page.sh" "$work/pretraining/report.html" "$root/docs/pretraining.png" 1360,640 "$browser"
