// The SIMD benchmark kernel (examples/bench/vec_kernel.c) as a WASI command printing its
// checksum, so a program built with wasi-libc and auto-vectorised by clang (-O3 -msimd128) can
// be compared with its scalar build in normal and XIP modes.
#include <stdio.h>

#include "../../examples/bench/vec_kernel.c"

int main(void) {
    printf("checksum %d\n", run(20));
    return 0;
}
