/*
 * jsonmem.c: the per-thread cache of small blocks behind jansson (jsonmem.h).
 *
 * Runs on whatever thread makes or frees JSON; each thread owns its own lists
 * (thread-local storage), so there is no lock. The blocks are plain malloc()
 * blocks with no header of ours: jansson hands strings it made (json_dumps())
 * to callers who free() them, and a block freed here may have come from
 * malloc() before the cache was installed. The size class of a freed block is
 * read from malloc_usable_size(), rounded down, so a block is only ever handed
 * out again for a size it was allocated for: a class-c block is allocated as
 * (c + 1) * 16 bytes, and glibc (and valgrind) report at least that. A failed
 * malloc() is returned to jansson as NULL, which it reports as its own
 * allocation failure.
 */
#include "core/jsonmem.h"

#include "core/limits.h"

#include <jansson.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define JSONMEM_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define JSONMEM_UNDER_ASAN 1
#endif
#endif
#ifndef JSONMEM_UNDER_ASAN
#define JSONMEM_UNDER_ASAN 0
#endif

#define JSONMEM_GRAIN   16u
#define JSONMEM_CLASSES (RP_JSONMEM_MAX_BLOCK / JSONMEM_GRAIN)

/* A cached block's payload holds the link to the next one. */
struct jsonmem_free {
    struct jsonmem_free *next;
};

struct jsonmem_cache {
    struct jsonmem_free *head[JSONMEM_CLASSES];
    uint32_t count[JSONMEM_CLASSES];
    bool registered; /* the thread-exit hook is set for this thread */
};

static _Thread_local struct jsonmem_cache cache;
static pthread_key_t exit_key;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;
static bool installed;

static size_t class_size(uint32_t cls)
{
    return ((size_t)cls + 1) * JSONMEM_GRAIN;
}

static void on_thread_exit(void *unused)
{
    (void)unused;
    jsonmem_flush();
}

static void make_exit_key(void)
{
    /* Without the key a thread's cache would leak at its exit; the cache
     * still works, so a failure here only costs that. */
    if (pthread_key_create(&exit_key, on_thread_exit) != 0)
        exit_key = (pthread_key_t)-1;
}

static void register_thread(void)
{
    pthread_once(&exit_once, make_exit_key);
    if (exit_key != (pthread_key_t)-1)
        (void)pthread_setspecific(exit_key, &cache);
    cache.registered = true;
}

static void *jsonmem_malloc(size_t size)
{
    if (size > RP_JSONMEM_MAX_BLOCK)
        return malloc(size);
    uint32_t cls = size == 0 ? 0 : (uint32_t)((size - 1) / JSONMEM_GRAIN);
    struct jsonmem_free *f = cache.head[cls];
    if (f == NULL)
        return malloc(class_size(cls));
    cache.head[cls] = f->next;
    cache.count[cls]--;
    return f;
}

static void jsonmem_free_block(void *p)
{
    if (p == NULL)
        return;
    size_t usable = malloc_usable_size(p);
    if (usable >= JSONMEM_GRAIN && usable < RP_JSONMEM_MAX_BLOCK + JSONMEM_GRAIN) {
        uint32_t cls = (uint32_t)(usable / JSONMEM_GRAIN) - 1;
        if (cache.count[cls] < RP_JSONMEM_CLASS_BYTES / class_size(cls)) {
            if (!cache.registered)
                register_thread();
            struct jsonmem_free *f = p;
            f->next = cache.head[cls];
            cache.head[cls] = f;
            cache.count[cls]++;
            return;
        }
    }
    free(p);
}

void jsonmem_flush(void)
{
    for (uint32_t c = 0; c < JSONMEM_CLASSES; c++) {
        struct jsonmem_free *f = cache.head[c];
        while (f != NULL) {
            struct jsonmem_free *next = f->next;
            free(f);
            f = next;
        }
        cache.head[c] = NULL;
        cache.count[c] = 0;
    }
}

static void flush_at_exit(void)
{
    jsonmem_flush();
}

bool jsonmem_install(void)
{
    if (JSONMEM_UNDER_ASAN)
        return false; /* ASan's own allocator must see every free */
    if (installed)
        return true;
    const char *env = getenv("RIPOSTE_JSONMEM");
    if (env != NULL && strcmp(env, "0") == 0)
        return false;
    json_set_alloc_funcs(jsonmem_malloc, jsonmem_free_block);
    atexit(flush_at_exit);
    installed = true;
    return true;
}

size_t jsonmem_cached_blocks(void)
{
    size_t n = 0;
    for (uint32_t c = 0; c < JSONMEM_CLASSES; c++)
        n += cache.count[c];
    return n;
}

size_t jsonmem_cached_bytes(void)
{
    size_t n = 0;
    for (uint32_t c = 0; c < JSONMEM_CLASSES; c++)
        n += cache.count[c] * class_size(c);
    return n;
}
