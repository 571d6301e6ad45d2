/*
 * fuzz_policy.c: libFuzzer target for the guard rails' policy reader
 * (guard/guard.h, policy.c).
 *
 * The input is read as a policy file. Broken invariants abort(): a rejected
 * policy always says why, as "fuzz.yml:LINE:COL: ..." or "fuzz.yml: ..."; an
 * accepted one is decided on with a few fixed requests (the decision must be
 * one of the four verdicts, a hold must name an approver and a deadline
 * after now, a deny never carries a containment, a containment never exceeds
 * the policy's maximum) and bounded for `riposte check`.
 * Memory: policy_free releases everything, accepted or not.
 */
#include "guard/guard.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static rp_status count(void *ctx, int64_t since_ms, const char *action, int effect,
                       const char *playbook, int64_t *out)
{
    (void)ctx, (void)since_ms, (void)action, (void)effect, (void)playbook;
    *out = 3;
    return RP_OK;
}

static rp_status run_targets(void *ctx, const char *run_id, int effect, json_t *adding,
                             int64_t *out)
{
    (void)ctx, (void)run_id, (void)effect;
    *out = 2 + (int64_t)json_array_size(adding);
    return RP_OK;
}

static void check(const struct policy *p, const char *action, enum action_effect effect,
                  const char *params_json, bool stopped)
{
    json_t *params = json_loads(params_json, 0, NULL);
    if (params == NULL)
        abort();
    struct guard_counts c = {
        .actions_since = count, .run_targets = run_targets, .stopped = stopped};
    struct guard_request req = {.run_id = "r",
                                .playbook = "pb",
                                .step_key = "s",
                                .action = action,
                                .effect = effect,
                                .params = params,
                                .now_ms = 1796032800000LL};
    struct guard_decision d;
    struct rp_error err;
    if (guard_decide(p, &c, &req, &d, &err) != RP_OK)
        abort(); /* the counters never fail here */
    if (d.verdict > GUARD_SIMULATE || d.rule[0] == '\0' || d.reason[0] == '\0')
        abort();
    if (d.verdict == GUARD_HOLD && (d.approver[0] == '\0' || d.deadline_ms <= req.now_ms))
        abort();
    if (d.verdict == GUARD_DENY && d.contain_ms != 0)
        abort();
    if (policy_contain_max_ms(p) > 0 && d.contain_ms > policy_contain_max_ms(p))
        abort();
    json_t *b = guard_bounds(p, action, effect);
    if (b == NULL || !json_is_array(json_object_get(b, "bounds")))
        abort();
    json_decref(b);
    json_decref(params);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct policy *p = NULL;
    struct rp_error err;
    err.msg[0] = '\0';
    rp_status st = policy_load_string("fuzz.yml", (const char *)data, size, &p, &err);
    if (st == RP_OK) {
        if (p == NULL)
            abort();
        check(p, "edr.contain_host", ACTION_EFFECT_CONTAIN,
              "{\"host\": \"dc-01.corp\", \"duration\": \"48h\"}", false);
        check(p, "fw.block", ACTION_EFFECT_MODIFY,
              "{\"ips\": [\"10.0.0.5\", \"2001:db8::1\"], \"user\": \"CORP\\\\ceo\"}", false);
        check(p, "mail.purge", ACTION_EFFECT_DESTROY,
              "{\"to\": \"CEO <ceo@example.org>\", \"domain\": \"mail.example.org\"}", false);
        check(p, "mail.send", ACTION_EFFECT_NOTIFY, "{\"to\": \"a@b.c\"}", true);
        policy_free(p);
    } else {
        if (p != NULL || err.msg[0] == '\0' || strncmp(err.msg, "fuzz.yml", 8) != 0)
            abort(); /* a rejection always says why and where */
    }
    return 0;
}
