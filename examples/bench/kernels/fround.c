// Float rounding and conversion mix: floor, ceil, trunc and nearest of f64 and f32, and
// conversions between floats and integers. See build.sh.
__attribute__((export_name("run"))) int run(int n) {
    double x = 0.37;
    float y = 1.61f;
    long long acc = 0;
    for (int i = 0; i < n; i++) {
        x = x * 1.0001 + 0.731;
        if (x > 1000.0) x -= 1999.5;
        y = y * 0.999f + 0.417f;
        if (y > 500.0f) y -= 999.25f;
        acc += (long long)__builtin_floor(x) + (int)__builtin_ceil(x * 0.5);
        acc += (int)__builtin_trunc(x * 3.0) - (int)__builtin_nearbyint(x * 0.25);
        acc += (int)__builtin_floorf(y) + (int)__builtin_ceilf(y * 2.0f);
        acc += (unsigned)__builtin_truncf(y < 0 ? -y : y) + (int)__builtin_nearbyintf(y * 0.5f);
        x += (double)(acc & 7) * 0.001;
        y += (float)(i & 3) * 0.01f;
    }
    return (int)(acc ^ (acc >> 32));
}
