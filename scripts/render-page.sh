#!/usr/bin/env bash
# Renders a report page in headless Chromium to a PNG, after checking that
# the page's script ran without errors: the page marks
# <html data-report-status="ok N"> when it did, "error: ..." when a script
# error happened (src/report/page.h). Used by the report's browser test and
# by docs/screenshots.sh, so the README's pictures come the tested way.
#
#   scripts/render-page.sh PAGE.html OUT.png WIDTH,HEIGHT [BROWSER]
set -euo pipefail
page="$1" png="$2" size="$3" browser="${4:-${PEFT_BROWSER:-chromium}}"
[ -f "$page" ] || { echo "error: [render] '$page' does not exist" >&2; exit 2; }
url="file://$(cd "$(dirname "$page")" && pwd)/$(basename "$page")"
flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --allow-file-access-from-files
       --virtual-time-budget=5000)
dom="$(timeout 120 "$browser" "${flags[@]}" --dump-dom "$url" 2> /dev/null)" ||
  { echo "error: [render] $browser could not load $page" >&2; exit 2; }
status="$(printf '%s' "$dom" | grep -o 'data-report-status="[^"]*"' | head -1 || true)"
case "$status" in
  'data-report-status="ok '*) ;;
  *) echo "error: [render] the page did not finish its script cleanly (${status:-no status marker})" >&2; exit 2 ;;
esac
rm -f "$png"
timeout 120 "$browser" "${flags[@]}" --screenshot="$png" --window-size="$size" "$url" > /dev/null 2>&1 || true
[ -s "$png" ] || { echo "error: [render] $browser wrote no screenshot" >&2; exit 2; }
echo "$png"
