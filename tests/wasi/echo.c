// Prints its arguments, its environment and the names in the pre-opened `/data`, one a line.
#include <dirent.h>
#include <stdio.h>
#include <string.h>

extern char **environ;

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) printf("arg %s\n", argv[i]);
    for (char **e = environ; *e; e++) printf("env %s\n", *e);
    DIR *d = opendir("/data");
    if (!d) { perror("/data"); return 1; }
    struct dirent *entry;
    while ((entry = readdir(d))) {
        if (entry->d_name[0] != '.') printf("file %s\n", entry->d_name);
    }
    closedir(d);
    return 0;
}
