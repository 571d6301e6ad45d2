/*
 * config.h: the configuration file (YAML), shared by `serve` and the CLI.
 *
 *   db: /var/lib/riposte/riposte.db
 *   listen: 127.0.0.1:8080
 *   log_level: info
 *   correlation:
 *     window: 24h
 *   sources:
 *     crowdstrike:
 *       fingerprint: [rule, host.name, file.sha256]
 *   syslog:
 *     udp: 127.0.0.1:5514
 *     tcp: 127.0.0.1:5514
 *   playbooks: /etc/riposte/playbooks
 *   policy: /etc/riposte/policy.yml
 *   public_url: https://soc.example.org
 *   prompt_key: /var/lib/riposte/prompt.key
 *   prompt_mail: mail.send             # mails each prompt with its answer link
 *   packs: /usr/share/riposte/packs
 *   secrets: { key_file: /etc/riposte/secret.key }
 *   connectors: { edr: { pack: crowdstrike, ... } }   (connect/connector.h)
 *   kpi: { minutes_saved: { default: 5 }, sla: { critical: 1h } }   (kpi/kpi.h)
 *   detect:                                           (detect/detect.h)
 *     failed_logins:
 *       - { name: ssh-brute, threshold: 5, window: 10m, group_by: user,
 *           severity: high, suppress: 30m }
 *
 * Every key is optional; unknown keys are errors (a typo must not silently fall
 * back to a default). Errors read `file:line:col: what is wrong`. Command-line
 * flags and RIPOSTE_* environment variables override the file. Loaded once at
 * start-up by the main thread; read-only afterwards, so any thread may read it.
 */
#ifndef RP_CORE_CONFIG_H
#define RP_CORE_CONFIG_H

#include "core/limits.h"
#include "core/log.h"
#include "core/status.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* A per-source override of the fingerprint: the normalized-alert fields (dotted
 * paths such as "host.name") whose values make the dedup key. */
struct config_source {
    char *name;
    size_t nfields;
    char *fields[RP_FINGERPRINT_FIELDS_MAX];
};

/* What a failed-login rule counts by: the user, the device (the host's name,
 * else the source address), or the pair. */
enum config_group_by { CONFIG_GROUP_USER, CONFIG_GROUP_DEVICE, CONFIG_GROUP_USER_DEVICE };

/* One rule of detect.failed_logins (detect/detect.h). */
struct config_detect_rule {
    char *name;                    /* unique; the raised alert's rule */
    uint32_t threshold;            /* raise when more than this many failures fall in... */
    int64_t window_ms;             /* ...this sliding window */
    enum config_group_by group_by; /* default user */
    int severity;                  /* 0-100 of the raised alert; default 70 (high) */
    int64_t suppress_ms;           /* the same group does not raise again within this; 0: no */
};

struct config {
    char *db_path;               /* NULL: RIPOSTE_DB or "riposte.db" */
    char *listen;                /* NULL: "127.0.0.1:8080" */
    enum log_level log_level;    /* default LOG_INFO */
    int64_t correlate_window_ms; /* default RP_CORRELATE_WINDOW_DEFAULT_MS */
    size_t nsources;
    struct config_source *sources;
    char *syslog_udp;      /* "HOST:PORT" to receive syslog on, or NULL */
    char *syslog_tcp;      /* the same over TCP (octet-counted or newline framing) */
    char *playbooks_dir;   /* playbooks: DIR (serve; default ./playbooks when present) */
    char *public_url;      /* public_url: base of prompt answer links */
    char *prompt_key;      /* prompt_key: the key file that signs answer links */
    char *prompt_mail;     /* prompt_mail: the action that mails prompts ("mail.send") */
    char *packs_dir;       /* packs: DIR of vendor packs (default ./packs) */
    char *policy_path;     /* policy: FILE, the guard rails (guard/guard.h) */
    char *secret_key_file; /* secrets.key_file */
    json_t *connectors;    /* connectors: the section as JSON (connect/connector.h), or NULL */
    json_t *kpi;           /* kpi: the section as JSON (kpi/kpi.h checks it), or NULL */
    size_t ndetect;        /* detect.failed_logins rules */
    struct config_detect_rule *detect;
};

/* Fills c with the defaults. */
void config_init(struct config *c);

/* Frees what c owns; c can be initialised again. Accepts NULL. */
void config_fini(struct config *c);

/* Reads the YAML file at path into c (which config_init prepared). On error c
 * keeps what it had and err reads "path:line:col: problem". */
rp_status config_load(struct config *c, const char *path, struct rp_error *err) RP_MUST_CHECK;

/* Same, from a buffer; name is used in messages. */
rp_status config_load_buffer(struct config *c, const char *name, const char *data, size_t len,
                             struct rp_error *err) RP_MUST_CHECK;

/* The override for source, or NULL when the default fingerprint applies. */
const struct config_source *config_source_find(const struct config *c, const char *source);

#endif
