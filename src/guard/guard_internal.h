/*
 * guard_internal.h: the loaded policy, shared by policy.c (which builds it
 * from YAML), decide.c (which reads it for every decision) and nobody else.
 *
 * Every rule keeps the line and column it was written at, so that a decision's
 * reason can point into the file. Exact names (users, mailboxes, domains) are
 * lower-cased and sorted for a binary search; host globs and address ranges are
 * matched one by one (RP_GUARD_PATTERNS_MAX bounds them). Immutable once
 * loaded: any thread may read it.
 */
#ifndef RP_GUARD_GUARD_INTERNAL_H
#define RP_GUARD_GUARD_INTERNAL_H

#include "core/limits.h"
#include "guard/guard.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GP_BIT(e) (1u << (unsigned)(e))
#define GP_EFFECTS_ABOVE_READ                                                                      \
    (GP_BIT(ACTION_EFFECT_NOTIFY) | GP_BIT(ACTION_EFFECT_CONTAIN) | GP_BIT(ACTION_EFFECT_MODIFY) | \
     GP_BIT(ACTION_EFFECT_DESTROY))
#define GP_NEFFECTS (ACTION_EFFECT_DESTROY + 1)

/* An address or a range: family 4 or 6, the address's bytes in network order
 * (4 or 16 used), and the prefix length (32 or 128 for one address). */
struct gp_net {
    int family;
    uint8_t a[16];
    int prefix;
};

/* Parses "10.0.0.0/24", "2001:db8::/32", "10.0.0.5" or "::1" (an IPv4-mapped
 * IPv6 address becomes IPv4). host_bits tells whether bits past the prefix
 * were set (they are cleared in out). False when s is not an address. */
bool gp_net_parse(const char *s, struct gp_net *out, bool *host_bits);

/* Writes the canonical text ("10.0.0.0/24", "::1") into out. */
void gp_net_format(const struct gp_net *n, char *out, size_t size);

/* Whether two ranges share an address (one contains the other). */
bool gp_net_overlap(const struct gp_net *x, const struct gp_net *y);

/* A name from the file with where it was written. */
struct gp_entry {
    char *s; /* lower-cased */
    int line;
    int col;
};

struct gp_range {
    struct gp_net net;
    char *s; /* as canonical text */
    int line;
    int col;
};

/* Who may release a hold, how long they have, and what happens then. */
struct gp_hold {
    char approver[RP_GUARD_ROLE_MAX + 1];
    int64_t timeout_ms;
    bool on_timeout_allow;
};

enum gp_kind { GP_HOSTS, GP_ADDRESSES, GP_USERS, GP_MAILBOXES, GP_DOMAINS, GP_NKINDS };

struct gp_protected {
    int line;
    int col;
    unsigned effects; /* GP_BIT(effect) */
    bool hold;        /* else deny */
    struct gp_hold h;
    /* hosts (globs, file order), users, mailboxes, domains (sorted) */
    struct gp_entry *names[GP_NKINDS];
    size_t nnames[GP_NKINDS];
    struct gp_range *ranges; /* addresses */
    size_t nranges;
};

enum gp_scope { GP_SCOPE_GLOBAL, GP_SCOPE_PLAYBOOK, GP_SCOPE_ACTION };

struct gp_budget {
    char *name;
    int line;
    int col;
    int effect;   /* -1: any effect above read */
    char *action; /* NULL: any action */
    int64_t max;
    int64_t per_ms;
    char *per_text; /* as written, for reasons */
    enum gp_scope scope;
    bool over_hold; /* else deny */
    struct gp_hold h;
};

struct gp_approval {
    int line;
    int col;
    unsigned effects;
    char **actions;
    size_t nactions;
    struct gp_hold h;
    char *timeout_text; /* as written (or the default's text) */
};

struct policy {
    char *name; /* the file, as reasons show it */
    bool simulate;
    struct gp_protected *prot;
    size_t nprot;
    struct gp_budget *budgets;
    size_t nbudgets;
    int64_t blast[GP_NEFFECTS]; /* -1: unbounded */
    int blast_line[GP_NEFFECTS];
    int blast_col[GP_NEFFECTS];
    struct gp_approval *approvals;
    size_t napprovals;
    int64_t contain_default_ms; /* 0: none */
    int64_t contain_max_ms;     /* 0: none */
    struct gp_hold kill;
};

/* Formats a duration in ms as "1h30m", "45s", "250ms" into out. */
void gp_duration_format(int64_t ms, char *out, size_t size);

#endif
