/*
 * jsonmem.h: a per-thread cache of small blocks in front of malloc() for
 * jansson's nodes.
 *
 * An alert is 25-40 JSON values, and each costs jansson two or three small
 * allocations (the node, its string, the object's key pair): about 80 malloc()
 * and as many free() calls per alert, most of them under 256 bytes. The binary
 * turns glibc's fastbins off (src/cli/main.c: with them, each multi-KB
 * allocation first consolidated every freed node), so each of those frees
 * goes through glibc's general path once its 7-entry per-size cache is full:
 * measured at a third of the CEF parser's time (bench/RESULTS-lines.md).
 *
 * jsonmem_install() gives jansson allocation functions that keep freed blocks
 * of up to RP_JSONMEM_MAX_BLOCK bytes on per-thread, per-size free lists, bounded
 * to RP_JSONMEM_CLASS_BYTES per size (limits.h), and hand them back on the next
 * allocation of that size. Nothing is ever returned to a different allocator:
 * a block over the bound, or any larger one, goes to free(). Blocks freed by a
 * thread other than the one that allocated them simply join that thread's
 * lists. A thread's lists are emptied when it exits, the main thread's at
 * exit().
 *
 * Under AddressSanitizer the cache is not installed, so a use after free of
 * a JSON node is still caught; RIPOSTE_JSONMEM=0 in the environment keeps it
 * out too (to hunt such a bug with valgrind in the binary).
 */
#ifndef RP_CORE_JSONMEM_H
#define RP_CORE_JSONMEM_H

#include <stdbool.h>
#include <stddef.h>

/* Install the cache as jansson's allocator; returns whether it was installed.
 * Blocks stay plain malloc() blocks: what jansson hands out (json_dumps())
 * is still released with free(), and values made before the call may be freed
 * after it. Call it early, before other threads start (jansson's functions
 * are process-wide); safe to call more than once. */
bool jsonmem_install(void);

/* Empty the calling thread's lists (free() every cached block). Called by
 * the thread-exit hook and at exit(); callable at any time. */
void jsonmem_flush(void);

/* Blocks and bytes the calling thread holds cached (for tests). */
size_t jsonmem_cached_blocks(void);
size_t jsonmem_cached_bytes(void);

#endif
