#!/usr/bin/env bash
# Installs what the WASI C test programs are compiled with (clang 16, lld and wasi-libc from
# Debian's packages), only when missing: safe to run again. Run as root (CI is).
set -euo pipefail
# lld-19: the first ld.lld with s390x, the prelink oracle (spec-tests/tests/prelink_lld.rs).
packages=(clang-16 lld-16 wasi-libc libclang-rt-16-dev-wasm32 lld-19)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
