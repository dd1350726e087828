#!/usr/bin/env bash
# Makes sure a headless browser is there for the tests that render pages
# (the search page of `peft serve`, the HTML report): Debian's chromium,
# installed when missing. Browsers are a test tool, not a build dependency,
# so scripts/setup.sh leaves them out; the CTest fixture "browser" runs
# this before the tests that need it.
#
#   scripts/test-browser.sh      prints the browser's path on success
set -euo pipefail
find_browser() {
  for b in chromium chromium-browser; do
    command -v "$b" 2> /dev/null && return 0
  done
  return 1
}
if ! find_browser > /dev/null; then
  echo "[test-browser] installing chromium" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  # Another fixture (scripts/test-data.sh) may be installing packages at
  # the same moment under ctest -j: apt holds its locks without waiting, so
  # we wait for them here (up to 10 minutes) instead of failing.
  $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends chromium fonts-dejavu-core > /dev/null
fi
browser="$(find_browser)" || { echo "error: [test-browser] chromium is not installed" >&2; exit 2; }
# A browser that cannot start (missing libraries, sandbox refused as root)
# is found here rather than in each test.
if ! timeout 60 "$browser" --headless --no-sandbox --disable-gpu --dump-dom 'data:text/html,<p>ok</p>' 2> /dev/null | grep -q '<p>ok</p>'; then
  echo "error: [test-browser] $browser does not render a page headless" >&2
  exit 2
fi
echo "$browser"
