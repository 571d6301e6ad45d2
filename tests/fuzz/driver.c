/*
 * driver.c: runs a fuzz target over files, so that every build replays each
 * target's seed corpus (and any crash found since) as a regression test. Real
 * fuzzing links the same target with libFuzzer instead (`make fuzz`).
 *
 *   fuzz_reader DIR|FILE...   prints TAP: one line per input
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path, int n)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        printf("not ok %d - %s: cannot open\n", n, path);
        return 1;
    }
    size_t cap = 1 << 16, len = 0;
    uint8_t *buf = malloc(cap);
    size_t r;
    while (buf != NULL && (r = fread(buf + len, 1, cap - len, f)) > 0) {
        len += r;
        if (len == cap) {
            uint8_t *nb = realloc(buf, cap * 2);
            if (nb == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf == NULL) {
        printf("not ok %d - %s: out of memory\n", n, path);
        return 1;
    }
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    printf("ok %d - %s\n", n, path);
    return 0;
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    char *paths[4096];
    int np = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            DIR *d = opendir(argv[i]);
            struct dirent *e;
            while (d != NULL && (e = readdir(d)) != NULL && np < 4096) {
                if (e->d_name[0] == '.')
                    continue;
                size_t l = strlen(argv[i]) + strlen(e->d_name) + 2;
                paths[np] = malloc(l);
                if (paths[np] == NULL)
                    return 2;
                snprintf(paths[np++], l, "%s/%s", argv[i], e->d_name);
            }
            if (d != NULL)
                closedir(d);
        } else if (np < 4096) {
            paths[np++] = strdup(argv[i]);
        }
    }
    setvbuf(stdout, NULL, _IOLBF, 0); /* a crash must not lose the lines before it */
    qsort(paths, (size_t)np, sizeof(paths[0]), cmp);
    printf("1..%d\n", np);
    int failed = 0;
    for (int i = 0; i < np; i++) {
        failed += run_file(paths[i], i + 1);
        free(paths[i]);
    }
    return failed ? 1 : 0;
}
