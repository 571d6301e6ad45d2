/*
 * connector.c: the table of connector modules and the loading of the
 * `connectors:` section (connector.h). Main thread at start-up; the instance
 * list is then only read (sources) and freed at exit.
 */
#include "connect/connector.h"

#include "connect/connect_internal.h"
#include "connect/secrets.h"
#include "core/limits.h"
#include "core/time.h"
#include "engine/action.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static const struct connector_type *const TYPES[] = {
    &connector_pack, &connector_http, &connector_smtp,  &connector_imap, &connector_ldap,
    &connector_exec, &connector_lua,  &connector_geoip, &connector_dns,
};

const struct connector_type *connector_type_find(const char *name)
{
    for (size_t i = 0; name != NULL && i < sizeof TYPES / sizeof TYPES[0]; i++)
        if (strcmp(TYPES[i]->name, name) == 0)
            return TYPES[i];
    return NULL;
}

struct instance {
    char *name;
    const struct connector_type *type;
    void *impl;
};

struct connectors {
    struct instance *items;
    size_t n;
};

rp_status connectors_load(json_t *section, const struct connector_env *env, struct connectors **out,
                          struct rp_error *err)
{
    action_registry_init();
    struct connectors *c = calloc(1, sizeof *c);
    if (c == NULL)
        return rp_error_set(err, RP_E_NOMEM, "out of memory");
    size_t n = json_object_size(section);
    if (n > RP_CONNECTORS_MAX) {
        free(c);
        return rp_error_set(err, RP_E_LIMIT, "connectors: more than %d instances",
                            RP_CONNECTORS_MAX);
    }
    c->items = calloc(n + 1, sizeof *c->items);
    if (c->items == NULL) {
        free(c);
        return rp_error_set(err, RP_E_NOMEM, "out of memory");
    }
    const char *name;
    json_t *conf;
    rp_status st = RP_OK;
    json_object_foreach(section, name, conf)
    {
        if (!connector_name_ok(name)) {
            st = rp_error_set(err, RP_E_INVALID,
                              "connectors.%s: instance names are 1-64 of a-z 0-9 _ -", name);
            break;
        }
        if (!json_is_object(conf)) {
            st = rp_error_set(err, RP_E_INVALID, "connectors.%s: expected a mapping", name);
            break;
        }
        const char *pack = json_string_value(json_object_get(conf, "pack"));
        const char *type = json_string_value(json_object_get(conf, "type"));
        if ((pack == NULL) == (type == NULL)) {
            st =
                rp_error_set(err, RP_E_INVALID,
                             "connectors.%s: give exactly one of pack: NAME or type: MODULE", name);
            break;
        }
        const struct connector_type *t = connector_type_find(pack != NULL ? "pack" : type);
        if (t == NULL || (type != NULL && strcmp(type, "pack") == 0)) {
            st = rp_error_set(err, RP_E_INVALID,
                              "connectors.%s: unknown type %s (known: http, smtp, imap, ldap, "
                              "exec, lua, geoip, dns)",
                              name, type);
            break;
        }
        void *impl = NULL;
        st = t->create(name, conf, env, &impl, err);
        if (st != RP_OK)
            break;
        struct instance *in = &c->items[c->n++];
        in->name = strdup(name);
        in->type = t;
        in->impl = impl;
    }
    if (st != RP_OK) {
        connectors_free(c);
        return st;
    }
    *out = c;
    return RP_OK;
}

rp_status connectors_start_sources(struct connectors *c, struct uv_loop_s *loop,
                                   const struct source_sink *sink, struct rp_error *err)
{
    for (size_t i = 0; c != NULL && i < c->n; i++) {
        struct instance *in = &c->items[i];
        if (in->type->start_sources == NULL)
            continue;
        rp_status st = in->type->start_sources(in->impl, loop, sink, err);
        if (st != RP_OK) {
            rp_error_prefix(err, "connectors.%s", in->name);
            return st;
        }
    }
    return RP_OK;
}

void connectors_stop(struct connectors *c)
{
    for (size_t i = 0; c != NULL && i < c->n; i++)
        if (c->items[i].type->stop != NULL)
            c->items[i].type->stop(c->items[i].impl);
}

void connectors_free(struct connectors *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n; i++) {
        if (c->items[i].type->destroy != NULL)
            c->items[i].type->destroy(c->items[i].impl);
        free(c->items[i].name);
    }
    free(c->items);
    free(c);
}

rp_status connector_string(const char *instance, json_t *conf, const char *key, bool required,
                           const struct connector_env *env, char **out, struct rp_error *err)
{
    *out = NULL;
    json_t *v = json_object_get(conf, key);
    if (v == NULL || json_is_null(v)) {
        if (required)
            return rp_error_set(err, RP_E_INVALID, "connectors.%s.%s: required", instance, key);
        return RP_OK;
    }
    if (json_is_string(v)) {
        *out = strdup(json_string_value(v));
        return *out != NULL ? RP_OK : rp_error_set(err, RP_E_NOMEM, "out of memory");
    }
    const char *secret = json_string_value(json_object_get(v, "secret"));
    if (!json_is_object(v) || secret == NULL || json_object_size(v) != 1)
        return rp_error_set(err, RP_E_INVALID, "connectors.%s.%s: a string or {secret: NAME}",
                            instance, key);
    if (env == NULL || env->secrets == NULL)
        return rp_error_set(err, RP_E_INVALID,
                            "connectors.%s.%s: names secret %s but no secret store is open "
                            "(set secrets.key_file or RIPOSTE_SECRET_KEY)",
                            instance, key, secret);
    char *value = NULL;
    size_t len = 0;
    struct rp_error e2;
    rp_status st = secrets_get(env->secrets, secret, &value, &len, &e2);
    if (st != RP_OK)
        return rp_error_set(err, st, "connectors.%s.%s: %s", instance, key, e2.msg);
    /* a plain copy the module owns; it wipes it with connector_secret_free */
    *out = malloc(len + 1);
    if (*out != NULL) {
        memcpy(*out, value, len);
        (*out)[len] = '\0';
    }
    secrets_value_free(value);
    return *out != NULL ? RP_OK : rp_error_set(err, RP_E_NOMEM, "out of memory");
}

rp_status connector_strings(const char *instance, json_t *conf, const struct connector_env *env,
                            const struct connector_string_spec *specs, size_t n,
                            struct rp_error *err)
{
    for (size_t i = 0; i < n; i++) {
        rp_status st = connector_string(instance, conf, specs[i].key, specs[i].required, env,
                                        specs[i].out, err);
        if (st != RP_OK)
            return st;
    }
    return RP_OK;
}

rp_status connector_keys_check(const char *instance, json_t *conf, const char *const *keys,
                               struct rp_error *err)
{
    const char *key;
    json_t *v;
    json_object_foreach(conf, key, v)
    {
        size_t i = 0;
        while (keys[i] != NULL && strcmp(keys[i], key) != 0)
            i++;
        if (keys[i] != NULL)
            continue;
        char known[512] = "";
        size_t n = 0;
        for (i = 0; keys[i] != NULL && n < sizeof known; i++) {
            int w = snprintf(known + n, sizeof known - n, "%s%s", i ? ", " : "", keys[i]);
            if (w < 0)
                break;
            n += (size_t)w;
        }
        return rp_error_set(err, RP_E_INVALID, "connectors.%s.%s: unknown key (known: %s)",
                            instance, key, known);
    }
    return RP_OK;
}

void connector_secret_free(char *s)
{
    if (s == NULL)
        return;
    sodium_memzero(s, strlen(s));
    free(s);
}

rp_status connector_bool(const char *instance, json_t *conf, const char *key, bool dflt,
                         enum connector_null null, bool *out, struct rp_error *err)
{
    json_t *v = json_object_get(conf, key);
    *out = dflt;
    if (v == NULL || (json_is_null(v) && null == CONNECTOR_NULL_DEFAULT))
        return RP_OK;
    if (!json_is_boolean(v))
        return rp_error_set(err, RP_E_INVALID, "connectors.%s.%s: true or false", instance, key);
    *out = json_is_true(v);
    return RP_OK;
}

rp_status connector_duration(const char *instance, json_t *conf, const char *key, int64_t dflt_ms,
                             const struct connector_duration_spec *d, int64_t *out_ms,
                             struct rp_error *err)
{
    json_t *v = json_object_get(conf, key);
    *out_ms = dflt_ms;
    if (v == NULL || (json_is_null(v) && d->null == CONNECTOR_NULL_DEFAULT))
        return RP_OK;
    int64_t ms = 0;
    struct rp_error e2;
    if (json_is_integer(v))
        ms = json_integer_value(v) * 1000;
    else if (!json_is_string(v))
        return rp_error_set(err, RP_E_INVALID, "connectors.%s.%s: %s", instance, key, d->expected);
    else if (time_parse_duration(json_string_value(v), &ms, &e2) != RP_OK)
        return rp_error_set(err, RP_E_INVALID, "connectors.%s.%s: %s", instance, key,
                            d->hide_reason ? d->expected : e2.msg);
    if (ms < d->min_ms || ms > d->max_ms)
        return rp_error_set(err, RP_E_INVALID, "connectors.%s.%s: %s", instance, key, d->range);
    *out_ms = ms;
    return RP_OK;
}

bool connector_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}

rp_status connector_mail_link_read(const char *instance, json_t *conf,
                                   const struct connector_duration_spec *d,
                                   struct connector_mail_link *l, struct rp_error *err)
{
    int64_t connect_ms = 0, ms = 0;
    rp_status st =
        connector_bool(instance, conf, "starttls", false, CONNECTOR_NULL_REJECT, &l->starttls, err);
    if (st == RP_OK)
        st = connector_bool(instance, conf, "tls_verify", true, CONNECTOR_NULL_REJECT, &l->verify,
                            err);
    if (st == RP_OK)
        st = connector_duration(instance, conf, "connect_timeout",
                                RP_MAIL_CONNECT_TIMEOUT_S * 1000L, d, &connect_ms, err);
    if (st == RP_OK)
        st = connector_duration(instance, conf, "timeout", RP_MAIL_TIMEOUT_S * 1000L, d, &ms, err);
    l->connect_timeout_ms = (long)connect_ms;
    l->timeout_ms = (long)ms;
    return st;
}

void connector_mail_link_apply(const struct connector_mail_link *l, CURL *c, const char *protocols,
                               char *errbuf)
{
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, protocols);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, l->connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, l->timeout_ms);
    if (l->starttls)
        curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
    if (!l->verify) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (l->ca_file != NULL)
        curl_easy_setopt(c, CURLOPT_CAINFO, l->ca_file);
}
