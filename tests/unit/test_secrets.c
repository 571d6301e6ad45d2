/*
 * test_secrets.c: the secret store (connect/secrets.h) and the way connectors
 * reach it (connector_string): values round-trip, never reach the database
 * file in clear, do not decrypt under another key or another name, and the
 * key's sources (environment, 0600 key file, created key file) are checked.
 * Each test works in a temporary directory of its own.
 */
#include "connect/connector.h"
#include "connect/secrets.h"
#include "core/limits.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#define KEY_A "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define KEY_B "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"

struct fx {
    char dir[64];
    char db[128];
    char key[128];
};

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/rp-secrets-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(f->db, sizeof f->db, "%s/riposte.db", f->dir);
    snprintf(f->key, sizeof f->key, "%s/secret.key", f->dir);
    unsetenv("RIPOSTE_SECRET_KEY");
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        return -1;
    unsetenv("RIPOSTE_SECRET_KEY");
    free(f);
    return 0;
}

static struct secrets *open_ok(struct fx *f, bool create)
{
    struct secrets *s = NULL;
    struct rp_error err = {{0}};
    rp_status st = secrets_open(f->db, f->key, create, &s, &err);
    if (st != RP_OK)
        print_error("secrets_open: %s\n", err.msg);
    assert_int_equal(st, RP_OK);
    return s;
}

static void set_ok(struct secrets *s, const char *name, const char *value)
{
    struct rp_error err = {{0}};
    rp_status st = secrets_set(s, name, value, strlen(value), &err);
    if (st != RP_OK)
        print_error("secrets_set: %s\n", err.msg);
    assert_int_equal(st, RP_OK);
}

static void expect_secret(struct secrets *s, const char *name, const char *want)
{
    char *v = NULL;
    size_t len = 0;
    struct rp_error err = {{0}};
    assert_int_equal(secrets_get(s, name, &v, &len, &err), RP_OK);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(v, want, len);
    assert_int_equal(v[len], '\0');
    secrets_value_free(v);
}

static rp_status get_status(struct secrets *s, const char *name, struct rp_error *err)
{
    char *v = NULL;
    size_t len = 0;
    rp_status st = secrets_get(s, name, &v, &len, err);
    if (st != RP_OK)
        assert_null(v);
    secrets_value_free(v);
    return st;
}

static void sql(struct fx *f, const char *q)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    char *msg = NULL;
    int rc = sqlite3_exec(db, q, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        print_error("sql %s: %s\n", q, msg);
    sqlite3_free(msg);
    assert_int_equal(rc, SQLITE_OK);
    sqlite3_close(db);
}

/* Does any file of the database (main, WAL, journal) contain needle? */
static bool db_files_contain(struct fx *f, const char *needle)
{
    const char *suffix[] = {"", "-wal", "-journal", "-shm"};
    for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
        char p[160];
        snprintf(p, sizeof p, "%s%s", f->db, suffix[i]);
        FILE *fp = fopen(p, "rb");
        if (fp == NULL)
            continue;
        fseek(fp, 0, SEEK_END);
        long n = ftell(fp);
        rewind(fp);
        char *buf = malloc((size_t)n + 1);
        size_t got = fread(buf, 1, (size_t)n, fp);
        fclose(fp);
        bool hit = memmem(buf, got, needle, strlen(needle)) != NULL;
        free(buf);
        if (hit)
            return true;
    }
    return false;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    unlink(path);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    assert_int_equal(chmod(path, mode), 0);
}

/* --- tests ---------------------------------------------------------------------------------- */

static void t_set_get_list_remove(void **state)
{
    struct fx *f = *state;
    struct secrets *s = open_ok(f, true);
    struct stat sb;
    assert_int_equal(stat(f->key, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);

    set_ok(s, "ldap_password", "correct horse battery staple");
    set_ok(s, "cs.client-secret", "s3cr3t-Value-0001");
    expect_secret(s, "ldap_password", "correct horse battery staple");
    expect_secret(s, "cs.client-secret", "s3cr3t-Value-0001");
    set_ok(s, "ldap_password", "rotated-value"); /* replace */
    expect_secret(s, "ldap_password", "rotated-value");

    json_t *list = NULL;
    struct rp_error err = {{0}};
    assert_int_equal(secrets_list(s, &list, &err), RP_OK);
    assert_int_equal(json_array_size(list), 2); /* the key check row is not listed */
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "name")),
                        "cs.client-secret");
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 1), "name")),
                        "ldap_password");
    assert_true(json_is_string(json_object_get(json_array_get(list, 1), "updated")));
    char *dump = json_dumps(list, 0);
    assert_null(strstr(dump, "rotated-value"));
    free(dump);
    json_decref(list);

    assert_int_equal(secrets_remove(s, "ldap_password", &err), RP_OK);
    assert_int_equal(get_status(s, "ldap_password", &err), RP_E_NOTFOUND);
    assert_int_equal(secrets_remove(s, "ldap_password", &err), RP_E_NOTFOUND);
    assert_int_equal(get_status(s, "never-set", &err), RP_E_NOTFOUND);
    secrets_close(s);

    /* reopened: still there, and nothing readable in the files */
    s = open_ok(f, false);
    expect_secret(s, "cs.client-secret", "s3cr3t-Value-0001");
    secrets_close(s);
    assert_false(db_files_contain(f, "s3cr3t-Value-0001"));
    assert_false(db_files_contain(f, "rotated-value"));
    assert_false(db_files_contain(f, "correct horse"));
}

static void t_rejected_input(void **state)
{
    struct fx *f = *state;
    struct secrets *s = open_ok(f, true);
    struct rp_error err = {{0}};
    const char *bad_names[] = {
        "",       ".hidden",
        "-x",     "a b",
        "a/b",    "é",
        "name\n", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        assert_int_equal(secrets_set(s, bad_names[i], "v", 1, &err), RP_E_INVALID);
        assert_int_equal(get_status(s, bad_names[i], &err), RP_E_INVALID);
    }
    /* the reserved key-check row cannot be read or removed as a secret */
    assert_int_equal(get_status(s, ".key-check", &err), RP_E_INVALID);
    assert_int_equal(secrets_remove(s, ".key-check", &err), RP_E_INVALID);

    assert_int_equal(secrets_set(s, "empty", "", 0, &err), RP_E_INVALID);
    assert_int_equal(secrets_set(s, "nul", "a\0b", 3, &err), RP_E_INVALID);
    char *big = malloc(RP_SECRET_VALUE_MAX + 1);
    memset(big, 'x', RP_SECRET_VALUE_MAX + 1);
    assert_int_equal(secrets_set(s, "big", big, RP_SECRET_VALUE_MAX + 1, &err), RP_E_LIMIT);
    assert_int_equal(secrets_set(s, "big", big, RP_SECRET_VALUE_MAX, &err), RP_OK);
    char *v = NULL;
    size_t len = 0;
    assert_int_equal(secrets_get(s, "big", &v, &len, &err), RP_OK);
    assert_int_equal(len, RP_SECRET_VALUE_MAX);
    assert_memory_equal(v, big, len);
    secrets_value_free(v);
    secrets_value_free(NULL);
    free(big);
    /* the longest name is fine */
    set_ok(s, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "v");
    secrets_close(s);
    secrets_close(NULL);
}

static void t_wrong_key_denied(void **state)
{
    struct fx *f = *state;
    setenv("RIPOSTE_SECRET_KEY", KEY_A, 1);
    struct secrets *s = open_ok(f, true);
    set_ok(s, "token", "value-under-key-a");
    secrets_close(s);
    assert_int_equal(access(f->key, F_OK), -1); /* the environment's key: no file made */

    /* another key is refused at open, by the key check */
    setenv("RIPOSTE_SECRET_KEY", KEY_B, 1);
    struct rp_error err = {{0}};
    s = NULL;
    assert_int_equal(secrets_open(f->db, f->key, true, &s, &err), RP_E_DENIED);
    assert_null(s);
    assert_non_null(strstr(err.msg, "RIPOSTE_SECRET_KEY"));
    assert_null(strstr(err.msg, KEY_B));

    /* without the check row, each value still refuses to decrypt */
    sql(f, "DELETE FROM secrets WHERE name = '.key-check'");
    s = open_ok(f, false);
    assert_int_equal(get_status(s, "token", &err), RP_E_DENIED);
    assert_null(strstr(err.msg, "value-under-key-a"));
    secrets_close(s);

    setenv("RIPOSTE_SECRET_KEY", KEY_A, 1);
    s = open_ok(f, false);
    expect_secret(s, "token", "value-under-key-a");
    secrets_close(s);

    /* a malformed environment key */
    const char *bad[] = {"1234", KEY_A "00",
                         "zz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("RIPOSTE_SECRET_KEY", bad[i], 1);
        assert_int_equal(secrets_open(f->db, f->key, true, &s, &err), RP_E_USAGE);
        assert_null(strstr(err.msg, bad[i]));
    }
}

static void t_tampered_rows(void **state)
{
    struct fx *f = *state;
    struct secrets *s = open_ok(f, true);
    set_ok(s, "alpha", "alpha-value");
    set_ok(s, "beta", "beta-value");
    secrets_close(s);

    struct rp_error err = {{0}};
    /* alpha's sealed value copied into beta's row */
    sql(f, "UPDATE secrets SET nonce = (SELECT nonce FROM secrets WHERE name = 'alpha'), "
           "ciphertext = (SELECT ciphertext FROM secrets WHERE name = 'alpha') "
           "WHERE name = 'beta'");
    /* alpha's row renamed */
    sql(f, "UPDATE secrets SET name = 'gamma' WHERE name = 'alpha'");
    s = open_ok(f, false);
    assert_int_equal(get_status(s, "beta", &err), RP_E_DENIED);
    assert_int_equal(get_status(s, "gamma", &err), RP_E_DENIED);
    assert_null(strstr(err.msg, "alpha-value"));
    secrets_close(s);

    /* one flipped bit, a truncated row, a short nonce */
    sql(f, "UPDATE secrets SET name = 'alpha' WHERE name = 'gamma'");
    s = open_ok(f, false);
    expect_secret(s, "alpha", "alpha-value");
    secrets_close(s);
    sql(f, "UPDATE secrets SET ciphertext = "
           "substr(ciphertext, 1, 3) || x'00' || substr(ciphertext, 5) WHERE name = 'alpha'");
    sql(f, "INSERT INTO secrets (name, nonce, ciphertext, updated_ms) "
           "VALUES ('short', x'00', x'0011', 0), ('nononce', x'', x'00', 0)");
    s = open_ok(f, false);
    char *v = NULL;
    size_t len = 0;
    rp_status st = secrets_get(s, "alpha", &v, &len, &err);
    if (st == RP_OK) { /* the flip may have hit a byte equal to 0: then it is intact */
        assert_string_equal(v, "alpha-value");
        secrets_value_free(v);
    } else {
        assert_int_equal(st, RP_E_DENIED);
    }
    assert_int_equal(get_status(s, "short", &err), RP_E_DENIED);
    assert_int_equal(get_status(s, "nononce", &err), RP_E_DENIED);
    secrets_close(s);
}

static void t_key_file_checks(void **state)
{
    struct fx *f = *state;
    struct rp_error err = {{0}};
    struct secrets *s = NULL;

    /* no key anywhere, and not asked to create one */
    assert_int_equal(secrets_open(f->db, f->key, false, &s, &err), RP_E_USAGE);
    assert_non_null(strstr(err.msg, "RIPOSTE_SECRET_KEY"));
    assert_non_null(strstr(err.msg, f->key));
    assert_int_equal(access(f->key, F_OK), -1);

    /* a key file others may read, or the group */
    const mode_t exposed[] = {0644, 0640, 0604, 0660, 0606};
    for (size_t i = 0; i < sizeof exposed / sizeof exposed[0]; i++) {
        write_file(f->key, KEY_A "\n", exposed[i]);
        assert_int_equal(secrets_open(f->db, f->key, true, &s, &err), RP_E_DENIED);
        assert_non_null(strstr(err.msg, "chmod 600"));
        assert_null(strstr(err.msg, KEY_A));
    }
    /* a symbolic link to a good key file */
    write_file(f->key, KEY_A "\n", 0600);
    char link[160];
    snprintf(link, sizeof link, "%s/link.key", f->dir);
    assert_int_equal(symlink(f->key, link), 0);
    assert_int_equal(secrets_open(f->db, link, true, &s, &err), RP_E_DENIED);
    /* not a key */
    write_file(f->key, "not a key\n", 0600);
    assert_int_equal(secrets_open(f->db, f->key, true, &s, &err), RP_E_USAGE);
    write_file(f->key, KEY_A KEY_A "\n", 0600);
    assert_int_equal(secrets_open(f->db, f->key, true, &s, &err), RP_E_USAGE);
    /* a directory */
    assert_int_equal(secrets_open(f->db, f->dir, true, &s, &err), RP_E_USAGE);

    /* a good hand-made key file (0400 too) */
    write_file(f->key, KEY_A "\n", 0400);
    s = open_ok(f, false);
    set_ok(s, "x", "y");
    secrets_close(s);
    /* the same key from the environment reads it */
    setenv("RIPOSTE_SECRET_KEY", KEY_A, 1);
    s = open_ok(f, false);
    expect_secret(s, "x", "y");
    secrets_close(s);
    unsetenv("RIPOSTE_SECRET_KEY");

    /* the key file lost while the database holds secrets: no new key is made */
    unlink(f->key);
    assert_int_equal(secrets_open(f->db, f->key, true, &s, &err), RP_E_DENIED);
    assert_int_equal(access(f->key, F_OK), -1);

    /* the default key file is DB.secret-key */
    char db2[160], key2[176];
    snprintf(db2, sizeof db2, "%s/other.db", f->dir);
    snprintf(key2, sizeof key2, "%s.secret-key", db2);
    assert_int_equal(secrets_open(db2, NULL, true, &s, &err), RP_OK);
    secrets_close(s);
    struct stat sb;
    assert_int_equal(stat(key2, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
}

static void t_connector_string(void **state)
{
    struct fx *f = *state;
    struct secrets *s = open_ok(f, true);
    set_ok(s, "ldap_pw", "Sup3r-Secret!");
    struct connector_env env = {.secrets = s, .packs_dir = NULL};
    json_t *conf = json_pack("{s:{s:s}, s:s, s:{s:s}, s:{s:s, s:s}}", "password", "secret",
                             "ldap_pw", "url", "ldaps://dc", "missing", "secret", "nope", "bad",
                             "secret", "ldap_pw", "extra", "x");
    char *out = NULL;
    struct rp_error err = {{0}};
    assert_int_equal(connector_string("dir", conf, "password", true, &env, &out, &err), RP_OK);
    assert_string_equal(out, "Sup3r-Secret!");
    connector_secret_free(out);
    assert_int_equal(connector_string("dir", conf, "url", true, &env, &out, &err), RP_OK);
    assert_string_equal(out, "ldaps://dc");
    connector_secret_free(out);
    assert_int_equal(connector_string("dir", conf, "missing", true, &env, &out, &err),
                     RP_E_NOTFOUND);
    assert_non_null(strstr(err.msg, "connectors.dir.missing"));
    assert_int_equal(connector_string("dir", conf, "bad", true, &env, &out, &err), RP_E_INVALID);
    /* no store open: an error that names the secret, never a value */
    struct connector_env none = {.secrets = NULL};
    assert_int_equal(connector_string("dir", conf, "password", true, &none, &out, &err),
                     RP_E_INVALID);
    assert_null(strstr(err.msg, "Sup3r"));
    json_decref(conf);
    secrets_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(t_set_get_list_remove, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(t_rejected_input, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(t_wrong_key_denied, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(t_tampered_rows, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(t_key_file_checks, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(t_connector_string, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
