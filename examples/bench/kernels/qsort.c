// Quicksort through comparator function pointers (call_indirect): the array is sorted
// ascending, then descending, then by absolute value, each comparator reached through the
// module's table. See build.sh.
#define N 20000

typedef int (*cmp_fn)(int, int);

static int data[N];

static int ascending(int a, int b) { return (a > b) - (a < b); }
static int descending(int a, int b) { return (a < b) - (a > b); }
static int by_magnitude(int a, int b) {
    int x = a < 0 ? -a : a, y = b < 0 ? -b : b;
    return (x > y) - (x < y);
}

static volatile cmp_fn comparators[3] = {ascending, descending, by_magnitude};

__attribute__((noinline)) static void sort(int *v, int lo, int hi, cmp_fn cmp) {
    while (lo < hi) {
        int pivot = v[lo + (hi - lo) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (cmp(v[i], pivot) < 0) i++;
            while (cmp(v[j], pivot) > 0) j--;
            if (i <= j) {
                int t = v[i];
                v[i] = v[j];
                v[j] = t;
                i++;
                j--;
            }
        }
        if (j - lo < hi - i) {
            sort(v, lo, j, cmp);
            lo = i;
        } else {
            sort(v, i, hi, cmp);
            hi = j;
        }
    }
}

__attribute__((export_name("run"))) int run(int n) {
    if (n > N) n = N;
    unsigned seed = 12345, sum = 0;
    for (int k = 0; k < 3; k++) {
        for (int i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            data[i] = (int)(seed >> 8) - (1 << 22);
        }
        sort(data, 0, n - 1, comparators[k]);
        for (int i = 0; i < n; i += 97) sum = sum * 31 + (unsigned)data[i];
    }
    return (int)sum;
}
