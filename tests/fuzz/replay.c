/* tests/fuzz/replay.c: runs a libFuzzer target's LLVMFuzzerTestOneInput over every file of a
 * corpus directory (or the files named), without libFuzzer, so `make test` replays each corpus
 * under ASan+UBSan with gcc (Janus fuzzers/engines/standalone.c). A crash aborts the run. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        return -1;
    }
    uint8_t *data = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 4096;
            data = realloc(data, cap);
        }
        size_t n = fread(data + len, 1, cap - len, f);
        if (n == 0) {
            break;
        }
        len += n;
    }
    fclose(f);
    /* an exact-size copy, so ASan catches a read one past the input */
    uint8_t *exact = malloc(len ? len : 1);
    memcpy(exact, data, len);
    free(data);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    return 0;
}

int main(int argc, char **argv)
{
    int passed = 0, failed = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: cannot stat %s\n", argv[i]);
            failed++;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            run_file(argv[i]) == 0 ? passed++ : failed++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (e->d_name[0] == '.') {
                continue;
            }
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
            run_file(path) == 0 ? passed++ : failed++;
        }
        if (d) {
            closedir(d);
        }
    }
    /* the whole corpus is one test: it passes when no input crashed */
    printf("%d passed, %d failed\n", failed ? 0 : 1, failed ? 1 : 0);
    fprintf(stderr, "replayed %d inputs\n", passed);
    return failed ? 1 : 0;
}
