// Dense f64 matrix multiply, C = A * B, n x n (n <= 96). See build.sh.
#define N 96

static double a[N * N], b[N * N], c[N * N];

__attribute__((export_name("run"))) int run(int n) {
    if (n > N) n = N;
    for (int i = 0; i < n * n; i++) {
        a[i] = (double)(i % 17) * 0.25 - 1.0;
        b[i] = (double)(i % 13) * 0.5 + 0.125;
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double s = 0.0;
            for (int k = 0; k < n; k++) s += a[i * n + k] * b[k * n + j];
            c[i * n + j] = s;
        }
    double sum = 0.0;
    for (int i = 0; i < n * n; i++) sum += c[i];
    return (int)sum;
}
