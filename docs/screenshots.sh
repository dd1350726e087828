#!/usr/bin/env bash
# Makes the README's pictures from real runs:
#   docs/report.png       the report `peft demo` writes (its runs, each method's picture)
#   docs/pretraining.png  the curves of `peft demo --pretraining` on tinyshakespeare
# and keeps the runs' printed output next to them (build/screenshots/*.txt),
# which is where the README's numbers come from.
#
#   docs/screenshots.sh            (after building build/bin/peft)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
peft="${PEFT_BIN:-$root/build/bin/peft}"
shared="${PEFT_SHARED:-$root/../shared}"
work="${1:-$root/build/screenshots}"
mkdir -p "$work"
browser="$(bash "$root/scripts/test-browser.sh")"
"$peft" demo -o "$work/demo" | tee "$work/demo.txt"
"$peft" demo --pretraining --data "$shared/data/tinyshakespeare/input.txt" -o "$work/pretraining" |
  tee "$work/pretraining.txt"
bash "$root/scripts/render-page.sh" "$work/demo/report.html" "$root/docs/report.png" 1360,1500 "$browser"
bash "$root/scripts/render-page.sh" "$work/pretraining/report.html" "$root/docs/pretraining.png" 1360,640 "$browser"
