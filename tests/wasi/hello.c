// The start-up benchmark's WASI program (`cargo xtask wasi --startup`).
#include <stdio.h>

int main(void) {
    puts("hello");
    return 0;
}
