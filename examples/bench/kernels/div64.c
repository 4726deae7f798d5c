// 64-bit integer division and remainder, signed and unsigned, in a dependent chain.
// See build.sh.
__attribute__((export_name("run"))) int run(int n) {
    unsigned long long u = 0x123456789abcdefULL, acc = 0;
    long long s = -0x0fedcba987654321LL;
    for (int i = 0; i < n; i++) {
        unsigned long long d = (u >> 40) | 3;
        acc += u / d + u % (d + 7);
        long long e = (long long)(acc & 0xffff) - 0x8000;
        if (e == 0) e = 1;
        acc ^= (unsigned long long)(s / e) + (unsigned long long)(s % (e | 1));
        u = u * 6364136223846793005ULL + 1442695040888963407ULL;
        s = (long long)(u ^ acc) >> 3;
    }
    return (int)(acc ^ (acc >> 32));
}
