// A freestanding kernel clang auto-vectorises with -O3 -msimd128: integer multiply-add,
// shift, absolute value and a reduction, and an element-wise float update. `run(iters)`
// returns a checksum that is the same with and without SIMD. The two builds next to this file
// (the benchmark compares them; `cargo xtask bench` prints the ratio) were made with the
// distribution's clang 16:
//   clang-16 --target=wasm32 -O3 -msimd128 -nostdlib -Wl,--no-entry -Wl,--export=run \
//       -o vec_kernel_simd.wasm vec_kernel.c
//   clang-16 --target=wasm32 -O3 -nostdlib -Wl,--no-entry -Wl,--export=run \
//       -o vec_kernel_scalar.wasm vec_kernel.c
#define N 4096

static int a[N], b[N], c[N];
static float x[N], y[N];

__attribute__((export_name("run"))) int run(int iters) {
    for (int i = 0; i < N; i++) {
        a[i] = i * 7 + 3;
        b[i] = (i ^ 0x55) - 100;
        x[i] = (float)i * 0.5f;
        y[i] = (float)(N - i);
    }
    unsigned sum = 0;
    for (int k = 0; k < iters; k++) {
        for (int i = 0; i < N; i++) c[i] = a[i] * b[i] + (a[i] >> 3) - k;
        for (int i = 0; i < N; i++) y[i] = y[i] * 0.999f + x[i];
        for (int i = 0; i < N; i++) sum += (unsigned)c[i];
        for (int i = 0; i < N; i++) {
            int v = b[i] + k;
            a[i] = (v < 0 ? -v : v) & 0xffff;
        }
    }
    unsigned fs = 0;
    for (int i = 0; i < N; i++) fs = fs * 31 + (unsigned)(int)y[i];
    return (int)(sum ^ fs);
}
