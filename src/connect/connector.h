/*
 * connector.h: connectors, the integrations with outside systems (DESIGN.md
 * §4, issue 5). A connector instance is configured by name in the
 * configuration file and offers actions named INSTANCE.ACTION to playbooks
 * (engine/action.h), and optionally sources that poll for alerts:
 *
 *   secrets:
 *     key_file: /etc/riposte/secret.key   # or $RIPOSTE_SECRET_KEY (hex)
 *   connectors:
 *     edr:                     # instance name: actions are edr.contain_host, ...
 *       pack: crowdstrike      # a vendor pack (packs/crowdstrike.yml) over `http`
 *       url: https://api.crowdstrike.com
 *       client_id: abc
 *       client_secret: { secret: cs_secret }   # from the secret store, never inline
 *       sources: { detections: { every: 60s } }
 *     directory:
 *       type: ldap             # a protocol module
 *       url: ldaps://dc.example.org
 *       bind_dn: cn=riposte,dc=example,dc=org
 *       password: { secret: ldap_password }
 *     mail: { type: smtp, url: smtp://127.0.0.1:25, from: soc@example.org }
 *
 * Exactly one of `pack` or `type` names what an instance is. The values of a
 * section are the module's business: it validates them at load and reports
 * errors as "connectors.NAME.KEY: problem". A value {secret: NAME} is resolved
 * through the secret store (connect/secrets.h) by the module itself, only
 * where it is used, and never copied into logs, traces, run outputs, Lua, or
 * an exec child's environment.
 *
 * Threads: connectors_load runs on the main thread before any loop starts
 * (it registers actions, which the registry requires); actions then run on
 * the engine's loop thread (action.h's calling convention); sources run on
 * the loop they are started on and hand what they fetch to a sink.
 */
#ifndef RP_CONNECT_CONNECTOR_H
#define RP_CONNECT_CONNECTOR_H

#include "core/status.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct secrets;
struct uv_loop_s;

/* Where a source's fetched alerts go: the daemon's ingest path. data is one
 * document (a JSON object or array, NDJSON, a mail...), format names the
 * parser ("auto", "json", "mail", a vendor name); source names the origin. The
 * sink copies what it keeps. May be called on the loop thread only. */
struct source_sink {
    rp_status (*submit)(void *ctx, const char *source, const char *format, const char *data,
                        size_t len);
    /* Where a source keeps its position across restarts (both may be NULL:
     * the position then lives in memory only). load gives the saved JSON
     * (a new reference) or NULL when none; save is called after a submit
     * succeeded, so a position never runs ahead of what was stored. */
    rp_status (*cursor_load)(void *ctx, const char *source, json_t **out);
    rp_status (*cursor_save)(void *ctx, const char *source, json_t *state);
    void *ctx;
};

/* What a module needs to build an instance. */
struct connector_env {
    struct secrets *secrets; /* may be NULL: {secret: ...} values are then an error */
    const char *packs_dir;   /* where `pack: NAME` is looked up (NAME.yml) */
};

/* A protocol module ("http", "smtp", "imap", "ldap", "exec", "lua", "geoip",
 * "dns") or the pack loader ("pack"). create() validates conf (the instance's
 * section as JSON), builds the instance and registers its actions under
 * "INSTANCE.ACTION" with action_register. It returns the instance (opaque, kept
 * for sources and freeing). */
struct connector_type {
    const char *name;
    rp_status (*create)(const char *instance, json_t *conf, const struct connector_env *env,
                        void **out, struct rp_error *err);
    /* Starts the instance's sources on loop, sending alerts to sink; NULL when
     * the module has none. */
    rp_status (*start_sources)(void *inst, struct uv_loop_s *loop, const struct source_sink *sink,
                               struct rp_error *err);
    /* Stops sources (their handles close on the loop). May be NULL. */
    void (*stop)(void *inst);
    /* Frees the instance after its loop has closed its handles. Accepts NULL. */
    void (*destroy)(void *inst);
};

/* The connector instances of one process. */
struct connectors;

/* Builds every instance of the `connectors:` section (a JSON object; NULL or
 * empty: none) and registers their actions. All or nothing: on an error
 * nothing stays registered from the failing instance, err names it, and the
 * caller exits. The built-in actions (engine/action.h) are registered first. */
rp_status connectors_load(json_t *section, const struct connector_env *env, struct connectors **out,
                          struct rp_error *err) RP_MUST_CHECK;

/* Starts every instance's sources. */
rp_status connectors_start_sources(struct connectors *c, struct uv_loop_s *loop,
                                   const struct source_sink *sink,
                                   struct rp_error *err) RP_MUST_CHECK;

/* Stops the sources; run the loop afterwards so their handles close. */
void connectors_stop(struct connectors *c);

/* Accepts NULL. */
void connectors_free(struct connectors *c);

/* The module of a given name, NULL when unknown (for messages and tests). */
const struct connector_type *connector_type_find(const char *name);

/* --- helpers for modules ---------------------------------------------------- */

/* The value of key in conf as a string: a plain string, or {secret: NAME}
 * resolved through env->secrets. *out is a new string the caller frees (and
 * should wipe with connector_secret_free when it held a secret). NULL in *out
 * when the key is absent and not required. err: "connectors.INSTANCE.KEY: ..." */
rp_status connector_string(const char *instance, json_t *conf, const char *key, bool required,
                           const struct connector_env *env, char **out,
                           struct rp_error *err) RP_MUST_CHECK;

/* One string key for connector_strings: where its value goes, and whether an
 * absent (or null) key is an error. */
struct connector_string_spec {
    const char *key;
    bool required;
    char **out; /* a new string the instance owns, or NULL (absent, optional) */
};

/* Reads the keys of specs[0..n) in that order with connector_string, stopping
 * at the first error (returned, err as connector_string says). The strings
 * read before it stay in their *out, which the caller frees as on success; the
 * failing spec's *out is NULL and the later ones are left untouched. */
rp_status connector_strings(const char *instance, json_t *conf, const struct connector_env *env,
                            const struct connector_string_spec *specs, size_t n,
                            struct rp_error *err) RP_MUST_CHECK;

/* RP_E_INVALID "connectors.INSTANCE.KEY: unknown key (known: a, b, ...)" for
 * the first key of conf not in keys (NULL-terminated): a typo in a
 * configuration must not fall back to a default silently. */
rp_status connector_keys_check(const char *instance, json_t *conf, const char *const *keys,
                               struct rp_error *err) RP_MUST_CHECK;

/* Overwrites then frees a string that may hold a secret. Accepts NULL. */
void connector_secret_free(char *s);

/* The readers below name a key "connectors.INSTANCE.KEY" in their messages;
 * for a mapping nested in the section, INSTANCE may be the path to it
 * ("mail.sources.inbox"), with conf that mapping. */

/* What a reader makes of a key whose value is null (YAML `key:` with nothing
 * after it). Modules differ, and a module keeps what it always accepted. */
enum connector_null {
    CONNECTOR_NULL_REJECT,  /* a value of the wrong type: an error */
    CONNECTOR_NULL_DEFAULT, /* the same as an absent key */
};

/* The value of key in conf as a boolean in *out: dflt when absent (or null,
 * with CONNECTOR_NULL_DEFAULT). Anything else is RP_E_INVALID
 * "connectors.INSTANCE.KEY: true or false". */
rp_status connector_bool(const char *instance, json_t *conf, const char *key, bool dflt,
                         enum connector_null null, bool *out, struct rp_error *err) RP_MUST_CHECK;

/* How connector_duration reads a key: a module keeps one of these per kind of
 * duration, as a constant, with its bounds from core/limits.h. */
struct connector_duration_spec {
    int64_t min_ms;           /* accepted values, both inclusive */
    int64_t max_ms;           /* ... */
    const char *range;        /* the message out of bounds: "between 1ms and 1h" */
    const char *expected;     /* the message for another type: "a duration such as 10s" */
    bool hide_reason;         /* a string that does not parse: expected, not the parser's reason */
    enum connector_null null; /* what a null value is (0: CONNECTOR_NULL_REJECT) */
};

/* The value of key in conf as a duration in milliseconds in *out_ms: an integer
 * of seconds or a duration string ("30s", "1h30m"; core/time.h); dflt_ms when
 * absent (not checked against the bounds). Otherwise RP_E_INVALID
 * "connectors.INSTANCE.KEY: " followed by d->range, d->expected, or for a
 * string that does not parse the parser's reason (d->expected with
 * d->hide_reason). */
rp_status connector_duration(const char *instance, json_t *conf, const char *key, int64_t dflt_ms,
                             const struct connector_duration_spec *d, int64_t *out_ms,
                             struct rp_error *err) RP_MUST_CHECK;

/* A macro's value as a string literal, to put a limit into a message constant
 * ("between 1s and " CONNECTOR_STR(RP_LDAP_TIMEOUT_MAX_S) "s"). */
#define CONNECTOR_STR(x)  CONNECTOR_STR_(x)
#define CONNECTOR_STR_(x) #x

/* Whether s is a name that becomes the part of an action name "INSTANCE.ACTION"
 * (an instance's name, an exec instance's action name): 1-64 of a-z 0-9 _ -,
 * the same rule as playbook step ids. */
bool connector_name_ok(const char *s);

#endif
