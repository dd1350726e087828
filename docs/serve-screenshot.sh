#!/usr/bin/env bash
# Makes docs/serve.png, the search page of `peft serve`, the way the page's
# browser test uses it (scripts/drive-page.py: headless Chromium, a query
# typed into the box, Enter, the result list): an index of all 1100
# manpages-ir documents embedded with stories260K, the query "terminal
# login" in hybrid mode. Keeps what the page showed (its JSON) and the
# service's log in build/screenshots/.
#
#   docs/serve-screenshot.sh      (after building build/bin/peft)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
peft="${PEFT_BIN:-$root/build/bin/peft}"
shared="$(cd "${PEFT_SHARED:-$root/../shared}" && pwd -P)"
work="${1:-$root/build/screenshots}"
mkdir -p "$work"
browser="$(bash "$root/scripts/test-browser.sh")"
idx="$work/serve-index"
rm -rf "$idx"
"$peft" index build --model "$shared/models/stories260K.gguf" --corpus "$shared/data/manpages-ir/corpus.jsonl" \
  --out "$idx" --max-tokens 128 -q | tee "$work/serve-build.txt"
"$peft" serve --index "$idx" --port 0 > "$work/serve.out" 2> "$work/serve.log" &
pid=$!
trap 'kill -TERM $pid 2> /dev/null || true' EXIT
for _ in $(seq 600); do grep -q 'http://' "$work/serve.out" 2> /dev/null && break; sleep 0.1; done
cat "$work/serve.out"
url="$(grep -o 'http://[^ ]*' "$work/serve.out")"
/usr/bin/python3 "$root/scripts/drive-page.py" "$url" "terminal login" "$root/docs/serve.png" --mode hybrid \
  --size 1200,900 --browser "$browser" > "$work/serve-page.json"
echo "$root/docs/serve.png"
