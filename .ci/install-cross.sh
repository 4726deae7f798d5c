#!/usr/bin/env bash
# Installs what building the loader-only spec runner for another architecture and running it
# under user-mode emulation needs, from the distribution's packages (Debian bookworm): a Rust
# compiler (`rustc-web`) with that architecture's standard library (`libstd-rust-web-dev:ARCH`
# for aarch64; for s390x, whose packaged standard library is older than the workspace's Rust,
# the library's source `rust-web-src`, built with the runner), its C cross-compiler and C
# library as linker, and `qemu-user`. Idempotent: installs only what is missing
# (`apt-get update` once, then `apt-get install`), as root or through sudo.
#
# usage: .ci/install-cross.sh aarch64|s390x
set -euo pipefail

arch=${1:-aarch64}
case "$arch" in
    aarch64) deb_arch=arm64 std=("libstd-rust-web-dev:$deb_arch") ;;
    s390x) deb_arch=s390x std=(rust-web-src) ;;
    *)
        echo "install-cross: unsupported architecture \`$arch\` (supported: aarch64, s390x)" >&2
        exit 2
        ;;
esac
packages=(rustc-web "${std[@]}" "gcc-$arch-linux-gnu" "libc6-dev-$deb_arch-cross" qemu-user)

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$package")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null; then
        echo "install-cross: missing ${missing[*]}; run this script as root to install them" >&2
        exit 1
    fi
    as_root=(sudo)
fi
echo "install-cross: installing ${missing[*]}" >&2
if [[ " ${missing[*]} " == *":$deb_arch "* ]] && ! dpkg --print-foreign-architectures | grep -qx "$deb_arch"; then
    "${as_root[@]}" dpkg --add-architecture "$deb_arch"
fi
"${as_root[@]}" apt-get update
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"
