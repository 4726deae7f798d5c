// A wasi-libc program that never grows nor sizes its memory (no malloc, no stdio buffers):
// `aotc run` truncates its memory at `__heap_base`. Build with `-Wl,--export=__heap_base`;
// `-Wl,--initial-memory=1048576` gives it 16 pages to truncate.
#include <string.h>
#include <unistd.h>

static const char canary[] = "canary: data segment intact\n";

static int fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

int main(void) {
    const char *result = fib(20) == 6765 ? "fib(20) = 6765\n" : "fib(20) is wrong\n";
    write(1, result, strlen(result));
    write(1, canary, strlen(canary));
    return 0;
}
