/*
 * jansson_parse.c: bench_jansson, the parsing limit of the ingest benchmark
 * (bench/run.sh).
 *
 *   bench_jansson FILE [--dump]
 *
 * Parses every non-empty line of the NDJSON file FILE with json_loadb() and
 * frees it, on one thread, and prints
 *   {"records":N,"errors":E,"bytes":B,"seconds":S,"records_per_s":R,"mb_per_s":M}
 * With --dump it then makes a second pass that also serialises each parsed
 * record back with json_dumps(JSON_COMPACT), as Riposte does when it stores the
 * normalized alert, and adds "dump_seconds" and "parse_dump_records_per_s".
 *
 * No Riposte ingest path can beat the first figure, since each alert is parsed
 * by jansson at least once; the benchmark reports Riposte's rates as a fraction
 * of it. The file is mapped, not read into memory; the first pass is preceded by
 * one untimed read of the whole file so that both passes find it in the page
 * cache. Records longer than BJ_RECORD_MAX count as errors, as Riposte would
 * reject them (limits.h: RP_RECORD_MAX_BYTES). Exit 1 if the file cannot be read.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The same bound as Riposte's RP_RECORD_MAX_BYTES. */
#define BJ_RECORD_MAX (1024u * 1024u)

struct pass {
    uint64_t records, errors;
    double seconds;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One pass over the lines of data[0..size). dump: serialise each record too. */
static struct pass run_pass(const char *data, size_t size, bool dump)
{
    struct pass p = {0, 0, 0};
    double t0 = now_s();
    size_t pos = 0;
    while (pos < size) {
        const char *nl = memchr(data + pos, '\n', size - pos);
        size_t end = nl != NULL ? (size_t)(nl - data) : size;
        size_t len = end - pos;
        if (len > 0) {
            json_error_t err;
            json_t *j = len <= BJ_RECORD_MAX ? json_loadb(data + pos, len, 0, &err) : NULL;
            if (j == NULL || !json_is_object(j)) {
                p.errors++;
            } else if (dump) {
                char *s = json_dumps(j, JSON_COMPACT);
                if (s == NULL)
                    p.errors++;
                free(s);
            }
            json_decref(j);
            p.records++;
        }
        pos = end + 1;
    }
    p.seconds = now_s() - t0;
    return p;
}

int main(int argc, char **argv)
{
    bool dump = argc == 3 && strcmp(argv[2], "--dump") == 0;
    if (argc < 2 || argc > 3 || (argc == 3 && !dump)) {
        fprintf(stderr, "usage: bench_jansson FILE [--dump]\n");
        return 2;
    }
    int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size <= 0) {
        fprintf(stderr, "bench_jansson: cannot read %s: %s\n", argv[1],
                fd < 0 ? strerror(errno) : "empty file");
        if (fd >= 0)
            close(fd);
        return 1;
    }
    size_t size = (size_t)st.st_size;
    const char *data = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (data == MAP_FAILED) {
        fprintf(stderr, "bench_jansson: mmap %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    (void)madvise((void *)data, size, MADV_SEQUENTIAL);

    /* Touch every page first: the timed passes measure parsing, not the disk. */
    volatile unsigned char sink = 0;
    for (size_t i = 0; i < size; i += 4096)
        sink ^= (unsigned char)data[i];
    (void)sink;

    struct pass p = run_pass(data, size, false);
    double div = p.seconds > 0 ? p.seconds : 1e-9;
    printf("{\"records\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"bytes\":%zu,\"seconds\":%.3f,"
           "\"records_per_s\":%.0f,\"mb_per_s\":%.1f",
           p.records, p.errors, size, p.seconds, (double)p.records / div, (double)size / 1e6 / div);
    if (dump) {
        struct pass d = run_pass(data, size, true);
        double dd = d.seconds > 0 ? d.seconds : 1e-9;
        printf(",\"dump_seconds\":%.3f,\"parse_dump_records_per_s\":%.0f", d.seconds,
               (double)d.records / dd);
    }
    printf("}\n");
    munmap((void *)data, size);
    return 0;
}
