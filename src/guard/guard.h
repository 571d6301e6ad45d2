/*
 * guard.h: the guard rails (DESIGN.md §5, issue 6). Before every action whose
 * effect is above `read`, whatever the playbook says, the engine asks
 * guard_decide() and gets allow, deny, hold (wait for an approval) or
 * simulate, with the rule that decided and why.
 *
 * The policy file (YAML; docs/policy.md):
 *
 *   mode: enforce                      # or simulate: every effect above read is simulated
 *   protected:
 *     - { hosts: ["dc-*", "mail-gw-01"], effects: [contain, modify, destroy], action: deny }
 *     - { addresses: ["10.0.0.0/24"], action: hold, approver: soc-lead }
 *     - { users: ["ceo", "cfo"], action: hold, approver: soc-lead }
 *     - { mailboxes: ["ceo@example.org"], action: deny }
 *     - { domains: ["example.org"], effects: [modify], action: deny }
 *   budgets:
 *     - { name: containments, effect: contain, max: 5, per: 1h }            # global
 *     - { name: resets, action: directory.reset_password, max: 20, per: 1d, scope: playbook }
 *     - { name: everything, max: 500, per: 1h, over: deny }                 # over: deny | hold
 *   blast_radius: { contain: 10, modify: 50, destroy: 20 }   # distinct targets per run
 *   approvals:
 *     - { effects: [destroy], approver: soc-lead, timeout: 30m, on_timeout: deny }
 *     - { actions: [edr.contain_host], approver: analyst, timeout: 15m, on_timeout: allow }
 *   containment:
 *     default_duration: 4h                # a contain without a duration gets this one
 *     max_duration: 24h
 *   kill_switch: { approver: admin, timeout: 24h }  # who may release its holds, for how long
 *
 * Targets: what an action touches is read from its parameters by name
 * (guard_targets): host/hostname/device/machine/hosts..., ip/address/ips...,
 * user/username/users..., mailbox/email/to..., domain/domains..., each value or
 * list of values. Packs may name more (action_def targets; later).
 *
 * Order of rules (first that applies decides): kill switch (hold), global
 * mode simulate (simulate), protected assets (their action), blast radius
 * (deny), budgets (their `over`), approvals (hold), else allow. Inside the
 * protected and budget stages a deny wins over a hold, and a protected
 * asset's deny stands under the kill switch too.
 *
 * Pure logic: guard_decide reads counters through the callbacks of struct
 * guard_counts (the engine answers them from the store), so this file has no
 * I/O and is unit-testable. A struct policy is immutable once loaded; any
 * thread may read it.
 */
#ifndef RP_GUARD_GUARD_H
#define RP_GUARD_GUARD_H

#include "core/status.h"
#include "engine/action.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct policy;

enum guard_verdict {
    GUARD_ALLOW,
    GUARD_DENY,
    GUARD_HOLD,
    GUARD_SIMULATE,
};

const char *guard_verdict_name(enum guard_verdict v);

/* What is asked. Strings are borrowed for the call. */
struct guard_request {
    const char *run_id;
    const char *playbook;
    const char *step_key;
    const char *action; /* registry name */
    enum action_effect effect;
    json_t *params;  /* the rendered parameters */
    json_t *targets; /* guard_targets(params): [{type, value}] */
    int64_t now_ms;
};

/* Counts the decision needs, answered by the caller (from the store, so that
 * budgets hold across restarts and nodes). Each returns the number of actions
 * allowed (and not simulated) since since_ms matching the filter; a NULL
 * filter field (an effect of -1) matches anything. run_targets: distinct
 * targets of effect in the given run. */
struct guard_counts {
    rp_status (*actions_since)(void *ctx, int64_t since_ms, const char *action, int effect,
                               const char *playbook, int64_t *out);
    rp_status (*run_targets)(void *ctx, const char *run_id, int effect, json_t *adding,
                             int64_t *out); /* distinct targets of effect in the run, counting
                                               the ones in adding that are new */
    bool stopped;                           /* the kill switch is on */
    void *ctx;
};

struct guard_decision {
    enum guard_verdict verdict;
    char rule[128];   /* "kill switch", "protected hosts[0]", "budget containments", ... */
    char reason[512]; /* for people: what matched and why */
    /* hold: who may approve, until when, and what happens then */
    char approver[64];
    int64_t deadline_ms;
    bool on_timeout_allow;
    /* allow of a contain: how long until the engine releases it (0: not time-boxed) */
    int64_t contain_ms;
};

/* Loads and validates a policy; errors read "file:line:col: problem". */
rp_status policy_load_file(const char *path, struct policy **out,
                           struct rp_error *err) RP_MUST_CHECK;
rp_status policy_load_string(const char *name, const char *text, size_t len, struct policy **out,
                             struct rp_error *err) RP_MUST_CHECK;

/* Accepts NULL. */
void policy_free(struct policy *p);

/* The targets an action's parameters name, as [{type, value}] with types
 * host, address, user, mailbox, domain (values canonical: lower-cased names,
 * parsed addresses), each once, at most RP_GUARD_TARGETS_MAX + 1 (more:
 * guard_decide denies). A new reference; NULL only when out of memory. */
json_t *guard_targets(json_t *params);

/* Decides on one request. A NULL policy allows everything but still honours
 * the kill switch. err only when a counter failed (the caller holds the
 * action then: when in doubt, do not act). */
rp_status guard_decide(const struct policy *p, const struct guard_counts *c,
                       const struct guard_request *req, struct guard_decision *out,
                       struct rp_error *err) RP_MUST_CHECK;

/* For `riposte check --policy`: {"bounds": [rule names of the budgets and
 * blast radius that bound an action of this name and effect; empty:
 * unbounded], "protected": whether a protected-asset rule could apply to it,
 * "approvals": [the approval rules that hold it], "simulate": mode simulate}.
 * A new reference. */
json_t *guard_bounds(const struct policy *p, const char *action, enum action_effect effect);

/* The containment durations of the policy (0 when unset). */
int64_t policy_contain_default_ms(const struct policy *p);
int64_t policy_contain_max_ms(const struct policy *p);

/* --- the audit chain ------------------------------------------------------------ */

/* The hash of one audit entry: hex SHA-256 over the previous entry's hash and
 * the entry's fields in a fixed, unambiguous encoding (length-prefixed). The
 * store keeps entries in order with their hash; verification recomputes the
 * chain and reports the first entry whose hash or link does not match. */
void audit_hash(const char *prev_hash, int64_t seq, int64_t ts_ms, const char *actor,
                const char *kind, const char *detail_json, char out[65]);

#endif
