/*
 * test_auth.c: API tokens and roles (api/auth.h), the daemon's listen-address
 * rules (api/server.h) and its ingest queue (ingest/queue.h). Table-driven,
 * rejected inputs beside accepted ones. The store-backed tests use a fresh
 * SQLite file in a temporary directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "api/auth.h"
#include "api/server.h"
#include "ingest/queue.h"
#include "store/store.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* --- roles ---------------------------------------------------------------------- */

static void t_role_names(void **state)
{
    (void)state;
    for (int i = 0; i < AUTH_ROLE_COUNT; i++) {
        enum auth_role r;
        assert_int_equal(auth_role_parse(auth_role_name((enum auth_role)i), &r), RP_OK);
        assert_int_equal(r, i);
    }
    static const char *bad[] = {"", "Admin", "root", "admin ", "view", "ingestor"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        enum auth_role r;
        assert_int_equal(auth_role_parse(bad[i], &r), RP_E_USAGE);
    }
}

static void t_role_matrix(void **state)
{
    (void)state;
    static const struct {
        enum auth_role role;
        bool read, ingest, write, respond, admin;
    } rows[] = {
        {AUTH_ROLE_ADMIN, true, true, true, true, true},
        {AUTH_ROLE_RESPONDER, true, true, true, true, false},
        {AUTH_ROLE_ANALYST, true, true, true, false, false},
        {AUTH_ROLE_VIEWER, true, false, false, false, false},
        {AUTH_ROLE_INGEST, false, true, false, false, false},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        assert_int_equal(auth_role_allows(rows[i].role, AUTH_READ), rows[i].read);
        assert_int_equal(auth_role_allows(rows[i].role, AUTH_INGEST), rows[i].ingest);
        assert_int_equal(auth_role_allows(rows[i].role, AUTH_WRITE), rows[i].write);
        assert_int_equal(auth_role_allows(rows[i].role, AUTH_RESPOND), rows[i].respond);
        assert_int_equal(auth_role_allows(rows[i].role, AUTH_ADMIN), rows[i].admin);
    }
    assert_false(auth_role_allows(AUTH_ROLE_COUNT, AUTH_READ));
}

/* --- token format and hash ------------------------------------------------------------ */

static void t_token_generate(void **state)
{
    (void)state;
    char a[AUTH_TOKEN_LEN + 1], b[AUTH_TOKEN_LEN + 1];
    assert_int_equal(auth_token_generate(a), RP_OK);
    assert_int_equal(auth_token_generate(b), RP_OK);
    assert_int_equal(strlen(a), 68);
    assert_memory_equal(a, "rpt_", 4);
    assert_true(auth_token_well_formed(a, strlen(a)));
    assert_true(auth_token_well_formed(b, strlen(b)));
    assert_string_not_equal(a, b);
}

static void t_token_shape(void **state)
{
    (void)state;
    char good[AUTH_TOKEN_LEN + 1];
    memcpy(good, "rpt_", 4);
    for (int i = 0; i < 64; i++)
        good[4 + i] = "0123456789abcdef"[i % 16];
    good[AUTH_TOKEN_LEN] = '\0';
    assert_true(auth_token_well_formed(good, AUTH_TOKEN_LEN));

    char bad[AUTH_TOKEN_LEN + 2];
    /* each row: a position to change and the byte to put there */
    static const struct {
        size_t at;
        char c;
    } edits[] = {{0, 'R'}, {3, '-'}, {4, 'A'}, {10, 'g'}, {67, 'F'}, {20, ' '}, {30, '\0'}};
    for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
        memcpy(bad, good, sizeof(good));
        bad[edits[i].at] = edits[i].c;
        assert_false(auth_token_well_formed(bad, AUTH_TOKEN_LEN));
    }
    assert_false(auth_token_well_formed(good, AUTH_TOKEN_LEN - 1)); /* 63 hex */
    memcpy(bad, good, sizeof(good));
    bad[AUTH_TOKEN_LEN] = 'a';
    assert_false(auth_token_well_formed(bad, AUTH_TOKEN_LEN + 1)); /* 65 hex */
    assert_false(auth_token_well_formed("", 0));
    assert_false(auth_token_well_formed("rpt_", 4));
}

static void t_token_hash(void **state)
{
    (void)state;
    char tok[AUTH_TOKEN_LEN + 1];
    memcpy(tok, "rpt_", 4);
    memset(tok + 4, '0', 64);
    tok[AUTH_TOKEN_LEN] = '\0';
    char hex[HASH_SHA256_HEX_LEN + 1];
    auth_token_hash(tok, AUTH_TOKEN_LEN, hex);
    /* sha256 of the whole string, prefix included (python3 hashlib) */
    assert_string_equal(hex, "4e15c30cf8ca22960ddcfe6ea8f0c9757023148079b9855828aa58f835140f71");
}

static void t_bearer(void **state)
{
    (void)state;
    static const struct {
        const char *header;
        const char *token; /* NULL: refused */
    } rows[] = {
        {"Bearer abc", "abc"},     {"bearer abc", "abc"},
        {"BEARER   abc  ", "abc"}, {"  Bearer\tabc", "abc"},
        {"Bearer", NULL},          {"Bearer ", NULL},
        {"Bearerabc", NULL},       {"Basic dXNlcjpwdw==", NULL},
        {"Bearer a b", NULL},      {"", NULL},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const char *tok = NULL;
        size_t n = 0;
        bool ok = auth_bearer(rows[i].header, &tok, &n);
        if (rows[i].token == NULL) {
            assert_false(ok);
        } else {
            assert_true(ok);
            assert_int_equal(n, strlen(rows[i].token));
            assert_memory_equal(tok, rows[i].token, n);
        }
    }
    const char *tok;
    size_t n;
    assert_false(auth_bearer(NULL, &tok, &n));
}

static void t_token_names(void **state)
{
    (void)state;
    static const char *good[] = {"ci", "splunk-hec", "alice@example.com", "a.b_c-d", "X1"};
    static const char *bad[] = {"",       "with space",       "tab\t", "quote\"", "semi;colon",
                                "slash/", "\xc3\xa9t\xc3\xa9"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(auth_token_name_valid(good[i]));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(auth_token_name_valid(bad[i]));
    char longname[RP_TOKEN_NAME_MAX + 2];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[RP_TOKEN_NAME_MAX] = '\0';
    assert_true(auth_token_name_valid(longname));
    longname[RP_TOKEN_NAME_MAX] = 'a';
    longname[RP_TOKEN_NAME_MAX + 1] = '\0';
    assert_false(auth_token_name_valid(longname));
}

/* --- listen addresses ---------------------------------------------------------------- */

static void t_listen_parse(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        const char *text; /* canonical; NULL: refused */
        bool loopback;
    } rows[] = {
        {"127.0.0.1:8080", "127.0.0.1:8080", true},
        {"127.1.2.3:1", "127.1.2.3:1", true},
        {"localhost:9000", "127.0.0.1:9000", true},
        {"[::1]:8080", "[::1]:8080", true},
        {"[0:0:0:0:0:0:0:1]:80", "[::1]:80", true},
        {"[::ffff:127.0.0.1]:80", "[::ffff:127.0.0.1]:80", true},
        {"0.0.0.0:8080", "0.0.0.0:8080", false},
        {"[::]:8080", "[::]:8080", false},
        {"10.1.2.3:443", "10.1.2.3:443", false},
        {"[fe80::1]:80", "[fe80::1]:80", false},
        {"[::ffff:10.0.0.1]:80", "[::ffff:10.0.0.1]:80", false},
        {"127.0.0.1:0", "127.0.0.1:0", true},
        {"127.0.0.1:65535", "127.0.0.1:65535", true},
        {"", NULL, false},
        {"127.0.0.1", NULL, false},
        {"127.0.0.1:", NULL, false},
        {":8080", NULL, false},
        {"127.0.0.1:65536", NULL, false},
        {"127.0.0.1:80a", NULL, false},
        {"127.0.0.1:-1", NULL, false},
        {"127.0.0.1:123456", NULL, false},
        {"::1:8080", NULL, false},
        {"[::1]8080", NULL, false},
        {"[::1]", NULL, false},
        {"[]:80", NULL, false},
        {"[127.0.0.1]:80", NULL, false},
        {"example.com:80", NULL, false},
        {"256.0.0.1:80", NULL, false},
        {"127.0.0.1 :80", NULL, false},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct server_addr a;
        struct rp_error err = {{0}};
        rp_status st = server_listen_parse(rows[i].in, &a, &err);
        if (rows[i].text == NULL) {
            if (st != RP_E_USAGE)
                fail_msg("accepted %s", rows[i].in);
            assert_true(err.msg[0] != '\0');
            continue;
        }
        if (st != RP_OK)
            fail_msg("refused %s: %s", rows[i].in, err.msg);
        assert_string_equal(a.text, rows[i].text);
        assert_int_equal(server_addr_is_loopback(&a), rows[i].loopback);
    }
}

/* --- the ingest queue ------------------------------------------------------------------- */

static void t_queue_bounds(void **state)
{
    (void)state;
    struct ingest_queue *q;
    assert_int_equal(ingest_queue_new(3, 100, &q), RP_OK);
    struct ingest_queue_item it[6] = {
        {.records = 1, .bytes = 40}, {.records = 2, .bytes = 40},  {.records = 1, .bytes = 30},
        {.records = 1, .bytes = 10}, {.records = 9, .bytes = 500}, {.records = 1, .bytes = 1},
    };
    assert_true(ingest_queue_empty(q));
    assert_int_equal(ingest_queue_push(q, &it[0]), RP_OK);
    assert_int_equal(ingest_queue_push(q, &it[1]), RP_OK);
    assert_int_equal(ingest_queue_push(q, &it[2]), RP_E_BUSY); /* 110 bytes > 100 */
    assert_int_equal(ingest_queue_push(q, &it[3]), RP_OK);     /* 90 bytes */
    assert_int_equal(ingest_queue_push(q, &it[5]), RP_E_BUSY); /* 4th item > 3 */
    struct ingest_queue_stats st;
    ingest_queue_get_stats(q, &st);
    assert_int_equal(st.items, 3);
    assert_int_equal(st.bytes, 90);
    assert_int_equal(st.pushed, 3);
    assert_int_equal(st.refused, 2);

    /* a group holds at most 3 records: items 0 and 1 */
    struct ingest_queue_item *head;
    assert_int_equal(ingest_queue_pop(q, 3, 100, &head), 2);
    assert_ptr_equal(head, &it[0]);
    assert_ptr_equal(head->next, &it[1]);
    assert_null(head->next->next);
    assert_int_equal(ingest_queue_pop(q, 3, 100, &head), 1);
    assert_ptr_equal(head, &it[3]);
    assert_int_equal(ingest_queue_pop(q, 3, 100, &head), 0);
    assert_null(head);
    assert_true(ingest_queue_empty(q));

    /* an item over the byte limit still gets into an empty queue, alone */
    assert_int_equal(ingest_queue_push(q, &it[4]), RP_OK);
    assert_int_equal(ingest_queue_push(q, &it[5]), RP_E_BUSY);
    /* and leaves as one group even though it has more records than asked */
    assert_int_equal(ingest_queue_pop(q, 3, 100, &head), 1);
    assert_ptr_equal(head, &it[4]);

    /* max_items bounds a group too */
    assert_int_equal(ingest_queue_push(q, &it[0]), RP_OK);
    assert_int_equal(ingest_queue_push(q, &it[3]), RP_OK);
    assert_int_equal(ingest_queue_pop(q, 100, 1, &head), 1);
    assert_int_equal(ingest_queue_pop(q, 100, 1, &head), 1);

    /* closed: every push refused, what is in stays to be popped */
    assert_int_equal(ingest_queue_push(q, &it[5]), RP_OK);
    ingest_queue_close(q);
    assert_int_equal(ingest_queue_push(q, &it[0]), RP_E_BUSY);
    assert_int_equal(ingest_queue_pop(q, 100, 100, &head), 1);
    assert_ptr_equal(head, &it[5]);
    ingest_queue_free(q);
    ingest_queue_free(NULL);
}

/* --- store-backed: create, verify, cache, revoke ------------------------------------------ */

struct fixture {
    char dir[64];
    char path[96];
    struct store *s;
};

static int setup_store(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/rp-test-auth-XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
    struct rp_error err = {{0}};
    if (store_open(f->path, &f->s, &err) != RP_OK) {
        fprintf(stderr, "store_open: %s\n", err.msg);
        rmdir(f->dir);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown_store(void **state)
{
    struct fixture *f = *state;
    store_close(f->s);
    static const char *sfx[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
        char p[128];
        snprintf(p, sizeof(p), "%s%s", f->path, sfx[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static void t_create_and_verify(void **state)
{
    struct fixture *f = *state;
    char tok[AUTH_TOKEN_LEN + 1];
    struct rp_error err = {{0}};
    assert_int_equal(auth_token_create(f->s, "ci", AUTH_ROLE_INGEST, tok, &err), RP_OK);
    assert_true(auth_token_well_formed(tok, strlen(tok)));

    /* the name is taken now; bad names and roles are usage errors */
    char tok2[AUTH_TOKEN_LEN + 1];
    assert_int_equal(auth_token_create(f->s, "ci", AUTH_ROLE_ADMIN, tok2, &err), RP_E_EXISTS);
    assert_non_null(strstr(err.msg, "ci"));
    assert_int_equal(auth_token_create(f->s, "bad name", AUTH_ROLE_ADMIN, tok2, &err), RP_E_USAGE);
    assert_int_equal(auth_token_create(f->s, "x", AUTH_ROLE_COUNT, tok2, &err), RP_E_USAGE);

    /* neither the token nor its hash is listed */
    json_t *list = NULL;
    assert_int_equal(store_token_list_json(f->s, &list), RP_OK);
    char *dump = json_dumps(list, 0);
    char hex[HASH_SHA256_HEX_LEN + 1];
    auth_token_hash(tok, AUTH_TOKEN_LEN, hex);
    assert_null(strstr(dump, tok));
    assert_null(strstr(dump, hex));
    assert_non_null(strstr(dump, "\"ci\""));
    free(dump);
    json_decref(list);

    struct auth *a;
    assert_int_equal(auth_new(60000, &a), RP_OK);
    struct auth_identity who;
    assert_int_equal(auth_verify(a, f->s, tok, strlen(tok), &who, &err), RP_OK);
    assert_string_equal(who.name, "ci");
    assert_int_equal(who.role, AUTH_ROLE_INGEST);
    assert_true(auth_role_allows(who.role, AUTH_INGEST));
    assert_false(auth_role_allows(who.role, AUTH_READ));

    /* second time from the cache */
    assert_int_equal(auth_verify(a, f->s, tok, strlen(tok), &who, &err), RP_OK);
    struct auth_stats st;
    auth_get_stats(a, &st);
    assert_int_equal(st.misses, 1);
    assert_int_equal(st.hits, 1);

    /* a well-formed but unknown token, a malformed one: refused, never cached */
    char other[AUTH_TOKEN_LEN + 1];
    assert_int_equal(auth_token_generate(other), RP_OK);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(auth_verify(a, f->s, other, strlen(other), &who, &err), RP_E_DENIED);
        assert_null(strstr(err.msg, other)); /* a message never shows the token */
    }
    assert_int_equal(auth_verify(a, f->s, "rpt_nothex", 10, &who, &err), RP_E_DENIED);
    /* the token with one byte more or less */
    assert_int_equal(auth_verify(a, f->s, tok, AUTH_TOKEN_LEN - 1, &who, &err), RP_E_DENIED);
    auth_get_stats(a, &st);
    assert_int_equal(st.denied, 4);
    assert_int_equal(st.misses, 3);

    /* revoked: the cache trusts it until its entry expires (or is forgotten) */
    assert_int_equal(store_token_revoke(f->s, "ci"), RP_OK);
    assert_int_equal(store_token_revoke(f->s, "ci"), RP_E_NOTFOUND);
    assert_int_equal(auth_verify(a, f->s, tok, strlen(tok), &who, &err), RP_OK);
    auth_forget(a);
    assert_int_equal(auth_verify(a, f->s, tok, strlen(tok), &who, &err), RP_E_DENIED);
    auth_free(a);

    /* without a cache a revoke takes effect at once */
    assert_int_equal(auth_token_create(f->s, "viewer1", AUTH_ROLE_VIEWER, tok, &err), RP_OK);
    assert_int_equal(auth_new(0, &a), RP_OK);
    assert_int_equal(auth_verify(a, f->s, tok, strlen(tok), &who, &err), RP_OK);
    assert_int_equal(who.role, AUTH_ROLE_VIEWER);
    assert_true(auth_role_allows(who.role, AUTH_READ));
    assert_false(auth_role_allows(who.role, AUTH_INGEST));
    assert_int_equal(store_token_revoke(f->s, "viewer1"), RP_OK);
    assert_int_equal(auth_verify(a, f->s, tok, strlen(tok), &who, &err), RP_E_DENIED);
    auth_free(a);
    auth_free(NULL);
}

static void t_cache_many(void **state)
{
    /* More tokens than the cache holds: every one still verifies. */
    struct fixture *f = *state;
    enum { N = RP_AUTH_CACHE_MAX + 40 };
    char(*toks)[AUTH_TOKEN_LEN + 1] = calloc(N, sizeof(*toks));
    assert_non_null(toks);
    struct rp_error err = {{0}};
    for (int i = 0; i < N; i++) {
        char name[32];
        snprintf(name, sizeof(name), "t%d", i);
        assert_int_equal(auth_token_create(f->s, name, AUTH_ROLE_ANALYST, toks[i], &err), RP_OK);
    }
    struct auth *a;
    assert_int_equal(auth_new(60000, &a), RP_OK);
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < N; i++) {
            struct auth_identity who;
            assert_int_equal(auth_verify(a, f->s, toks[i], AUTH_TOKEN_LEN, &who, &err), RP_OK);
            char name[32];
            snprintf(name, sizeof(name), "t%d", i);
            assert_string_equal(who.name, name);
        }
    }
    struct auth_stats st;
    auth_get_stats(a, &st);
    assert_int_equal(st.hits + st.misses, 2 * N);
    assert_true(st.misses >= N); /* the first round */
    assert_true(st.hits > 0);    /* the second round found most in the cache */
    auth_free(a);
    free(toks);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_role_names),
        cmocka_unit_test(t_role_matrix),
        cmocka_unit_test(t_token_generate),
        cmocka_unit_test(t_token_shape),
        cmocka_unit_test(t_token_hash),
        cmocka_unit_test(t_bearer),
        cmocka_unit_test(t_token_names),
        cmocka_unit_test(t_listen_parse),
        cmocka_unit_test(t_queue_bounds),
        cmocka_unit_test_setup_teardown(t_create_and_verify, setup_store, teardown_store),
        cmocka_unit_test_setup_teardown(t_cache_many, setup_store, teardown_store),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
