// Reads in.txt from the pre-opened directory and writes out.txt (its bytes reversed), then reads
// stdin, writes 1 MiB to large.bin, creates and removes 200 files, and sleeps 50 ms through
// poll_oneoff. Exits 7 so the exit code is checked too.
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(void) {
    FILE *in = fopen("in.txt", "rb");
    if (!in) { perror("in.txt"); return 1; }
    char data[4096];
    size_t n = fread(data, 1, sizeof data, in);
    fclose(in);
    FILE *out = fopen("out.txt", "wb");
    if (!out) { perror("out.txt"); return 1; }
    for (size_t i = 0; i < n; i++) fputc(data[n - 1 - i], out);
    fclose(out);

    char line[256] = {0};
    if (!fgets(line, sizeof line, stdin)) { puts("no stdin"); return 1; }
    printf("stdin: %s", line);

    static char big[1 << 20];
    memset(big, 'x', sizeof big);
    int fd = open("large.bin", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, big, sizeof big) != (ssize_t)sizeof big) { perror("large"); return 1; }
    close(fd);

    for (int i = 0; i < 200; i++) {
        char name[32];
        snprintf(name, sizeof name, "many-%d", i);
        int f = open(name, O_WRONLY | O_CREAT, 0644);
        if (f < 0) { perror(name); return 1; }
        close(f);
    }
    for (int i = 0; i < 200; i++) {
        char name[32];
        snprintf(name, sizeof name, "many-%d", i);
        if (unlink(name) != 0) { perror(name); return 1; }
    }

    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    poll(NULL, 0, 50);
    clock_gettime(CLOCK_MONOTONIC, &b);
    long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
    printf("slept %s\n", ms >= 50 ? "at least 50 ms" : "too short");
    return 7;
}
