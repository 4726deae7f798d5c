// A wasi-libc program whose malloc grows memory (`memory.grow`): never truncated.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    size_t n = 200000 * (size_t)argc;
    char *p = malloc(n);
    if (!p) return 1;
    memset(p, argc, n);
    printf("%zu bytes of %d\n", n, p[n - 1]);
    free(p);
    return 0;
}
