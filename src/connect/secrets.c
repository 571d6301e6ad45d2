/*
 * secrets.c: the secret store (connect/secrets.h). Values are sealed with
 * libsodium's XChaCha20-Poly1305 AEAD (crypto_aead_xchacha20poly1305_ietf):
 * a fresh random 192-bit nonce per value, and the secret's name, behind a
 * version label, as the additional data, so that a ciphertext copied to
 * another name's row fails authentication instead of decrypting. The store
 * (store/store.h, table `secrets`) keeps only names, nonces, ciphertexts and
 * dates; the 32-byte master key never enters it.
 *
 * The key comes from $RIPOSTE_SECRET_KEY (64 hex digits) or from a key file
 * holding the same hex text, which must be a regular file that neither group
 * nor others can access (like ssh's private keys). It lives in sodium_malloc
 * memory (guard pages, locked, excluded from core dumps) that is made
 * inaccessible between uses. Values handed out are in such memory too, and
 * secrets_value_free wipes them.
 *
 * A reserved row (KEY_CHECK, a name no secret can have) holds a known text
 * sealed under the key; it is written with the first secret and checked at
 * open, so that a second key (a new key file created by mistake, a wrong
 * $RIPOSTE_SECRET_KEY) is refused at once instead of leaving a database whose
 * secrets are sealed under two keys.
 *
 * Nothing here writes a value, a key or a key's hex anywhere but the key file
 * it creates: error messages name secrets, files and variables only. One
 * struct secrets belongs to one thread (it owns a store handle).
 */
#include "connect/secrets.h"

#include "core/limits.h"
#include "core/time.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_BYTES   crypto_aead_xchacha20poly1305_ietf_KEYBYTES
#define NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_BYTES   crypto_aead_xchacha20poly1305_ietf_ABYTES

/* The additional data is AD_LABEL followed by the name: the label versions the
 * format, so that a later scheme can never accept this one's rows by accident. */
#define AD_LABEL "riposte-secret-v1:"

/* The reserved row that proves which key sealed the store (file comment). Its
 * name starts with '.', which secret names cannot. */
#define KEY_CHECK      ".key-check"
#define KEY_CHECK_TEXT "riposte secret store key check"

/* A key file holds 64 hex digits and a newline; anything much longer is not
 * a key file. */
#define KEY_FILE_READ_MAX 256

/* Where the key came from, for messages: "RIPOSTE_SECRET_KEY" or "key file P". */
#define KEY_FROM_MAX 4200

struct secrets {
    struct store *store;
    unsigned char *key; /* KEY_BYTES of sodium_malloc, noaccess between uses */
    bool checked;       /* the KEY_CHECK row exists and opened with this key */
    char key_from[KEY_FROM_MAX];
};

/* --- names ------------------------------------------------------------------------------- */

/* A secret's name: 1..RP_SECRET_NAME_MAX of A-Z a-z 0-9 _ . -, starting with a
 * letter or digit. */
static bool name_ok(const char *name)
{
    size_t n = strnlen(name, RP_SECRET_NAME_MAX + 1);
    if (n == 0 || n > RP_SECRET_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-')))
            return false;
    }
    return true;
}

static rp_status name_check(const char *name, struct rp_error *err)
{
    if (name == NULL || !name_ok(name))
        return rp_error_set(err, RP_E_INVALID,
                            "secret name '%.*s': 1-%d characters of A-Z a-z 0-9 _ . -, starting "
                            "with a letter or digit",
                            RP_SECRET_NAME_MAX + 1, name != NULL ? name : "", RP_SECRET_NAME_MAX);
    return RP_OK;
}

/* The additional data for name into ad (AD_LABEL + name); its length. */
static size_t ad_of(const char *name, unsigned char ad[sizeof AD_LABEL + RP_SECRET_NAME_MAX])
{
    size_t l = sizeof AD_LABEL - 1;
    size_t n = strnlen(name, RP_SECRET_NAME_MAX);
    memcpy(ad, AD_LABEL, l);
    memcpy(ad + l, name, n);
    return l + n;
}

/* --- sealing ----------------------------------------------------------------------------- */

/* Seals value under the key and stores it as name's row; inside the caller's
 * batch or on its own. */
static rp_status seal_put(struct secrets *s, const char *name, const unsigned char *value,
                          size_t len, struct rp_error *err)
{
    unsigned char nonce[NONCE_BYTES];
    unsigned char ad[sizeof AD_LABEL + RP_SECRET_NAME_MAX];
    size_t adlen = ad_of(name, ad);
    unsigned char *ct = malloc(len + TAG_BYTES);
    if (ct == NULL)
        return rp_error_set(err, RP_E_NOMEM, "secret %s: out of memory", name);
    randombytes_buf(nonce, sizeof nonce);
    unsigned long long ctlen = 0;
    sodium_mprotect_readonly(s->key);
    crypto_aead_xchacha20poly1305_ietf_encrypt(ct, &ctlen, value, len, ad, adlen, NULL, nonce,
                                               s->key);
    sodium_mprotect_noaccess(s->key);
    rp_status st =
        store_secret_put(s->store, name, nonce, sizeof nonce, ct, (size_t)ctlen, time_now_ms());
    if (st != RP_OK)
        rp_error_set(err, st, "secret %s: %s", name, store_errmsg(s->store));
    free(ct);
    return st;
}

/* Reads and opens name's row into a new sodium_malloc buffer (NUL-terminated). */
static rp_status open_row(struct secrets *s, const char *name, char **value, size_t *len,
                          struct rp_error *err)
{
    unsigned char *nonce = NULL, *ct = NULL;
    size_t nlen = 0, ctlen = 0;
    char *v = NULL;
    rp_status st = store_secret_get(s->store, name, &nonce, &nlen, &ct, &ctlen);
    if (st == RP_E_NOTFOUND) {
        rp_error_set(err, st, "no secret named %s", name);
        goto out;
    }
    if (st != RP_OK) {
        rp_error_set(err, st, "secret %s: %s", name, store_errmsg(s->store));
        goto out;
    }
    if (nlen != NONCE_BYTES || ctlen < TAG_BYTES || ctlen - TAG_BYTES > RP_SECRET_VALUE_MAX) {
        st = rp_error_set(err, RP_E_DENIED, "secret %s: the stored row is malformed", name);
        goto out;
    }
    size_t mlen = ctlen - TAG_BYTES;
    v = sodium_malloc(mlen + 1);
    if (v == NULL) {
        st = rp_error_set(err, RP_E_NOMEM, "secret %s: out of memory", name);
        goto out;
    }
    unsigned char ad[sizeof AD_LABEL + RP_SECRET_NAME_MAX];
    size_t adlen = ad_of(name, ad);
    unsigned long long got = 0;
    sodium_mprotect_readonly(s->key);
    int rc = crypto_aead_xchacha20poly1305_ietf_decrypt((unsigned char *)v, &got, NULL, ct, ctlen,
                                                        ad, adlen, nonce, s->key);
    sodium_mprotect_noaccess(s->key);
    if (rc != 0) {
        sodium_free(v);
        v = NULL;
        st = rp_error_set(err, RP_E_DENIED,
                          "secret %s does not decrypt with the key from %s (sealed under "
                          "another key, or the row was altered)",
                          name, s->key_from);
        goto out;
    }
    v[got] = '\0';
    *value = v;
    *len = (size_t)got;
out:
    free(nonce);
    free(ct);
    return st;
}

/* --- the master key ---------------------------------------------------------------------- */

/* Decodes 64 hex digits (surrounding white space allowed) into key. */
static bool key_from_hex(const char *hex, size_t n, unsigned char *key)
{
    while (n > 0 &&
           (hex[n - 1] == '\n' || hex[n - 1] == '\r' || hex[n - 1] == ' ' || hex[n - 1] == '\t'))
        n--;
    while (n > 0 && (hex[0] == ' ' || hex[0] == '\t')) {
        hex++;
        n--;
    }
    size_t bin = 0;
    const char *end = NULL;
    if (n != KEY_BYTES * 2)
        return false;
    if (sodium_hex2bin(key, KEY_BYTES, hex, n, NULL, &bin, &end) != 0)
        return false;
    return bin == KEY_BYTES && end == hex + n;
}

/* Reads the key file at path into key. *absent: the file does not exist (and
 * nothing else was wrong). */
static rp_status key_file_read(const char *path, unsigned char *key, bool *absent,
                               struct rp_error *err)
{
    *absent = false;
    char buf[KEY_FILE_READ_MAX];
    size_t n = 0;
    rp_status st = RP_OK;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            *absent = true;
            return RP_E_NOTFOUND;
        }
        if (errno == ELOOP)
            return rp_error_set(err, RP_E_DENIED,
                                "key file %s is a symbolic link: give the file itself", path);
        return rp_error_set(err, RP_E_IO, "key file %s: %s", path, strerror(errno));
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        st = rp_error_set(err, RP_E_IO, "key file %s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(sb.st_mode)) {
        st = rp_error_set(err, RP_E_USAGE, "key file %s is not a regular file", path);
        goto out;
    }
    if ((sb.st_mode & 077) != 0) {
        st = rp_error_set(err, RP_E_DENIED,
                          "key file %s has mode %04o: group or others can access it; "
                          "chmod 600 %s (and think about whether the key has leaked)",
                          path, (unsigned)(sb.st_mode & 07777), path);
        goto out;
    }
    for (;;) {
        ssize_t r = read(fd, buf + n, sizeof buf - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            st = rp_error_set(err, RP_E_IO, "key file %s: %s", path, strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n == sizeof buf)
            break;
    }
    if (n == sizeof buf || !key_from_hex(buf, n, key))
        st = rp_error_set(err, RP_E_USAGE, "key file %s: expected 64 hex digits (a 256-bit key)",
                          path);
out:
    sodium_memzero(buf, sizeof buf);
    close(fd);
    return st;
}

/* Creates the key file at path (mode 0600, exclusive) with a new random key. */
static rp_status key_file_create(const char *path, unsigned char *key, struct rp_error *err)
{
    char hex[KEY_BYTES * 2 + 2];
    rp_status st = RP_OK;
    randombytes_buf(key, KEY_BYTES);
    sodium_bin2hex(hex, sizeof hex, key, KEY_BYTES);
    size_t n = KEY_BYTES * 2;
    hex[n++] = '\n';
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        st = rp_error_set(err, RP_E_IO, "creating key file %s: %s", path, strerror(errno));
        goto out;
    }
    /* the umask can only take bits away, but a file system may add some */
    size_t off = 0;
    if (fchmod(fd, 0600) != 0)
        goto fail;
    while (off < n) {
        ssize_t w = write(fd, hex + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            goto fail;
        off += (size_t)w;
    }
    if (fsync(fd) != 0)
        goto fail;
    close(fd);
    goto out;
fail:
    st = rp_error_set(err, RP_E_IO, "writing key file %s: %s", path, strerror(errno));
    close(fd);
    unlink(path);
out:
    sodium_memzero(hex, sizeof hex);
    return st;
}

/* Does the store hold any row at all (secrets or the key check)? */
static rp_status store_has_rows(struct secrets *s, bool *any, struct rp_error *err)
{
    json_t *rows = NULL;
    rp_status st = store_secret_list_json(s->store, &rows);
    if (st != RP_OK)
        return rp_error_set(err, st, "secrets: %s", store_errmsg(s->store));
    *any = json_array_size(rows) > 0;
    json_decref(rows);
    return RP_OK;
}

/* Fills s->key from the environment, the key file, or a new key file. */
static rp_status key_load(struct secrets *s, const char *key_file, bool create_key,
                          struct rp_error *err)
{
    const char *env = getenv("RIPOSTE_SECRET_KEY");
    if (env != NULL && env[0] != '\0') {
        snprintf(s->key_from, sizeof s->key_from, "RIPOSTE_SECRET_KEY");
        if (!key_from_hex(env, strlen(env), s->key))
            return rp_error_set(err, RP_E_USAGE,
                                "RIPOSTE_SECRET_KEY: expected 64 hex digits (a 256-bit key)");
        return RP_OK;
    }
    snprintf(s->key_from, sizeof s->key_from, "key file %s", key_file);
    bool absent = false;
    rp_status st = key_file_read(key_file, s->key, &absent, err);
    if (!absent)
        return st;
    bool any = false;
    st = store_has_rows(s, &any, err);
    if (st != RP_OK)
        return st;
    if (any)
        return rp_error_set(err, RP_E_DENIED,
                            "this database holds secrets, but their key is not here: set "
                            "RIPOSTE_SECRET_KEY or restore the key file %s",
                            key_file);
    if (!create_key)
        return rp_error_set(err, RP_E_USAGE,
                            "no secret key: set RIPOSTE_SECRET_KEY (64 hex digits) or create the "
                            "key file %s (riposte secret set creates one)",
                            key_file);
    return key_file_create(key_file, s->key, err);
}

/* Checks the key against the KEY_CHECK row when there is one. */
static rp_status key_verify(struct secrets *s, struct rp_error *err)
{
    char *v = NULL;
    size_t len = 0;
    struct rp_error e2;
    rp_status st = open_row(s, KEY_CHECK, &v, &len, &e2);
    if (st == RP_E_NOTFOUND)
        return RP_OK;
    if (st == RP_E_DENIED ||
        (st == RP_OK && (len != sizeof KEY_CHECK_TEXT - 1 || memcmp(v, KEY_CHECK_TEXT, len) != 0)))
        st = rp_error_set(err, RP_E_DENIED,
                          "the key from %s is not the key this database's secrets are sealed "
                          "under",
                          s->key_from);
    else if (st != RP_OK)
        rp_error_set(err, st, "%s", e2.msg);
    else
        s->checked = true;
    secrets_value_free(v);
    return st;
}

/* --- the interface ----------------------------------------------------------------------- */

rp_status secrets_open(const char *db_path, const char *key_file, bool create_key,
                       struct secrets **out, struct rp_error *err)
{
    *out = NULL;
    if (sodium_init() < 0)
        return rp_error_set(err, RP_E_IO, "secrets: libsodium failed to initialise");
    struct secrets *s = calloc(1, sizeof *s);
    char *deflt = NULL;
    rp_status st = RP_OK;
    if (s == NULL)
        return rp_error_set(err, RP_E_NOMEM, "secrets: out of memory");
    s->key = sodium_malloc(KEY_BYTES);
    if (s->key == NULL) {
        st = rp_error_set(err, RP_E_NOMEM, "secrets: out of memory");
        goto fail;
    }
    if (key_file == NULL) {
        size_t n = strlen(db_path) + sizeof ".secret-key";
        deflt = malloc(n);
        if (deflt == NULL) {
            st = rp_error_set(err, RP_E_NOMEM, "secrets: out of memory");
            goto fail;
        }
        snprintf(deflt, n, "%s.secret-key", db_path);
        key_file = deflt;
    }
    st = store_open(db_path, &s->store, err);
    if (st != RP_OK)
        goto fail;
    st = key_load(s, key_file, create_key, err);
    sodium_mprotect_noaccess(s->key);
    if (st != RP_OK)
        goto fail;
    st = key_verify(s, err);
    if (st != RP_OK)
        goto fail;
    free(deflt);
    *out = s;
    return RP_OK;
fail:
    free(deflt);
    secrets_close(s);
    return st;
}

void secrets_close(struct secrets *s)
{
    if (s == NULL)
        return;
    store_close(s->store);
    if (s->key != NULL)
        sodium_free(s->key); /* makes it writable, wipes it, unmaps it */
    free(s);
}

rp_status secrets_set(struct secrets *s, const char *name, const char *value, size_t len,
                      struct rp_error *err)
{
    rp_status st = name_check(name, err);
    if (st != RP_OK)
        return st;
    if (len == 0)
        return rp_error_set(err, RP_E_INVALID, "secret %s: the value is empty", name);
    if (len > RP_SECRET_VALUE_MAX)
        return rp_error_set(err, RP_E_LIMIT, "secret %s: the value is longer than %u bytes", name,
                            RP_SECRET_VALUE_MAX);
    if (memchr(value, '\0', len) != NULL)
        return rp_error_set(err, RP_E_INVALID,
                            "secret %s: the value contains a NUL byte (values are text)", name);
    st = store_begin(s->store);
    if (st != RP_OK)
        return rp_error_set(err, st, "secret %s: %s", name, store_errmsg(s->store));
    st = seal_put(s, name, (const unsigned char *)value, len, err);
    if (st == RP_OK && !s->checked)
        st = seal_put(s, KEY_CHECK, (const unsigned char *)KEY_CHECK_TEXT,
                      sizeof KEY_CHECK_TEXT - 1, err);
    if (st == RP_OK) {
        st = store_commit(s->store);
        if (st != RP_OK)
            rp_error_set(err, st, "secret %s: %s", name, store_errmsg(s->store));
    }
    if (st != RP_OK) {
        store_rollback(s->store);
        return st;
    }
    s->checked = true;
    return RP_OK;
}

rp_status secrets_get(struct secrets *s, const char *name, char **value, size_t *len,
                      struct rp_error *err)
{
    *value = NULL;
    *len = 0;
    rp_status st = name_check(name, err);
    if (st != RP_OK)
        return st;
    return open_row(s, name, value, len, err);
}

void secrets_value_free(char *value)
{
    if (value != NULL)
        sodium_free(value); /* wipes before unmapping */
}

rp_status secrets_remove(struct secrets *s, const char *name, struct rp_error *err)
{
    rp_status st = name_check(name, err);
    if (st != RP_OK)
        return st;
    st = store_secret_remove(s->store, name);
    if (st == RP_E_NOTFOUND)
        return rp_error_set(err, st, "no secret named %s", name);
    if (st != RP_OK)
        return rp_error_set(err, st, "secret %s: %s", name, store_errmsg(s->store));
    return RP_OK;
}

rp_status secrets_list(struct secrets *s, json_t **out, struct rp_error *err)
{
    *out = NULL;
    json_t *rows = NULL;
    rp_status st = store_secret_list_json(s->store, &rows);
    if (st != RP_OK)
        return rp_error_set(err, st, "listing secrets: %s", store_errmsg(s->store));
    json_t *list = json_array();
    if (list == NULL) {
        json_decref(rows);
        return rp_error_set(err, RP_E_NOMEM, "listing secrets: out of memory");
    }
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        const char *name = json_string_value(json_object_get(row, "name"));
        if (name == NULL || name[0] == '.') /* the key check, not a secret */
            continue;
        if (json_array_append(list, row) != 0) {
            st = rp_error_set(err, RP_E_NOMEM, "listing secrets: out of memory");
            break;
        }
    }
    json_decref(rows);
    if (st != RP_OK) {
        json_decref(list);
        return st;
    }
    *out = list;
    return RP_OK;
}
