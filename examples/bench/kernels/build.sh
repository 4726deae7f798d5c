#!/bin/sh
# Rebuilds the committed benchmark kernels (`*.wasm` next to their `.c`) with the
# distribution's clang 16 and wasm-ld 16, freestanding (`-mbulk-memory`: struct copies and
# zeroing loops become `memory.copy`/`memory.fill`, not calls to a C library there is none of).
# The `.wasm` files are committed so the benchmarks, their tests and CI need no C compiler;
# run this after changing a `.c` file.
set -eu
cd "$(dirname "$0")"
for c in *.c; do
    clang-16 --target=wasm32 -O2 -mbulk-memory -nostdlib \
        -Wl,--no-entry -Wl,--export=run -o "${c%.c}.wasm" "$c"
done
