// A wasi-libc reactor that exports its `malloc` and `free` (`-Wl,--export=malloc,--export=free`):
// the host's app heap goes through them. `canary_ok` checks the program's own data.
#include <string.h>

char canary[] = "canary: the program's own data";

__attribute__((export_name("canary_ok"))) int canary_ok(void) {
    return strcmp(canary, "canary: the program's own data") == 0;
}

__attribute__((export_name("sum"))) int sum(const unsigned char *p, int n) {
    int s = 0;
    for (int i = 0; i < n; i++) s += p[i];
    return s;
}
