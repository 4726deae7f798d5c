// Every way out of the pre-opened directory must be refused. Run with the pre-open `/` mapped to
// a directory whose parent holds `secret.txt`; prints one line per attempt and exits with the
// number of escapes that succeeded (0: all refused).
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int escapes = 0;

static void refused(const char *what, int result) {
    if (result >= 0) {
        escapes++;
        printf("ESCAPED %s\n", what);
    } else {
        printf("refused %s: %s\n", what, strerror(errno));
    }
}

int main(void) {
    struct stat st;
    char buf[64];
    refused("open ../secret.txt", open("../secret.txt", O_RDONLY));
    refused("open /../secret.txt", open("/../secret.txt", O_RDONLY));
    refused("open sub/../../secret.txt", (mkdir("sub", 0755), open("sub/../../secret.txt", O_RDONLY)));
    refused("stat ../secret.txt", stat("../secret.txt", &st));
    refused("mkdir ../made", mkdir("../made", 0755));
    refused("create ../made.txt", open("../made.txt", O_WRONLY | O_CREAT, 0644));
    refused("unlink ../secret.txt", unlink("../secret.txt"));
    refused("rename in.txt ../moved", (close(open("in.txt", O_WRONLY | O_CREAT, 0644)), rename("in.txt", "../moved")));
    refused("link in.txt ../linked", link("in.txt", "../linked"));
    refused("opendir ..", opendir("..") ? 0 : -1);
    // Symlinks the guest makes that point outside: creating may work, following must not.
    symlink("../secret.txt", "up");
    refused("open symlink ../secret.txt", open("up", O_RDONLY));
    refused("stat symlink ../secret.txt", stat("up", &st));
    symlink("/etc/passwd", "abs");
    refused("open symlink /etc/passwd", open("abs", O_RDONLY));
    symlink("sub/../..", "dotdot");
    refused("open symlink dir ../ then secret", open("dotdot/secret.txt", O_RDONLY));
    refused("mkdir through symlink", mkdir("dotdot/made", 0755));
    refused("readlink outside", readlink("../secret.txt", buf, sizeof buf) >= 0 ? 0 : -1);
    printf("%d escapes\n", escapes);
    return escapes;
}
