#!/usr/bin/env bash
# Installs the Debian packages peft.cpp needs to build and test, only those
# that are missing, so a machine that has them all touches no network.
set -euo pipefail
pkgs=(build-essential cmake pkg-config libdnnl-dev nlohmann-json3-dev libcli11-dev
      libgtest-dev libbenchmark-dev libhnswlib-dev libicu-dev libpcre2-dev libomp-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "[setup] installing: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
