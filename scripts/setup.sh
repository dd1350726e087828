#!/usr/bin/env bash
# Installs the Debian packages peft.cpp needs to build and test, only those
# that are missing, so a machine that has them all touches no network.
set -euo pipefail
#
# Debian's oneDNN CMake package (dnnl-config.cmake) calls find_package(OpenCL)
# because Debian built oneDNN with its OpenCL runtime; the package only
# *recommends* the OpenCL loader and headers, so a minimal machine lacks them
# and CMake stops. They are listed here explicitly for that reason.
#
# The search index keeps documents and its BM25 full-text index in SQLite
# (FTS5) and its vectors in hnswlib's HNSW graph; `peft serve` is built on
# cpp-httplib; data-parallel training and embedding run on Open MPI (the
# program still builds without it, single-process). The report's browser test
# reads the screenshot PNG with zlib.
# python3-numpy is for tests only: test_embed_cli reads `peft embed`'s .npy
# back with numpy.load, the reader our users have.
pkgs=(build-essential cmake pkg-config git ca-certificates
      libdnnl-dev ocl-icd-opencl-dev opencl-c-headers
      nlohmann-json3-dev libcli11-dev libgtest-dev libicu-dev libpcre2-dev
      libsqlite3-dev libhnswlib-dev libcpp-httplib-dev
      libopenmpi-dev openmpi-bin
      zlib1g-dev python3-numpy)
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
