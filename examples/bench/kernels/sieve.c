// Sieve of Eratosthenes over a byte array, repeated: returns the number of primes below n
// (n <= 1 << 20) times the repetitions. See build.sh.
#define N (1 << 20)

static unsigned char composite[N];

__attribute__((export_name("run"))) int run(int n) {
    if (n > N) n = N;
    int count = 0;
    for (int rep = 0; rep < 4; rep++) {
        for (int i = 0; i < n; i++) composite[i] = 0;
        for (int i = 2; i * i < n; i++)
            if (!composite[i])
                for (int j = i * i; j < n; j += i) composite[j] = 1;
        for (int i = 2; i < n; i++) count += !composite[i];
    }
    return count;
}
