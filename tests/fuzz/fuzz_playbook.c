/*
 * fuzz_playbook.c: libFuzzer target for the playbook loader (playbook/playbook.h).
 *
 * The input is loaded as a playbook YAML file, once as written and once with
 * PB_LOAD_ANY_ACTION. Broken invariants abort(): an accepted playbook has a
 * name and at least one step; every step has an id that playbook_step finds,
 * every jump was resolved to an index inside its list; nsteps_total counts the
 * steps and stays within RP_PLAYBOOK_STEPS_MAX; a rejected one has a message
 * and no playbook. Memory: playbook_free releases everything.
 */
#include "core/limits.h"
#include "engine/action.h"
#include "playbook/playbook.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_ref(const struct pb_ref *r, const struct pb_list *list)
{
    if (r->id == NULL ? r->index != -1
                      : r->index < 0 || (size_t)r->index >= list->n ||
                            strcmp(list->steps[r->index].id, r->id) != 0)
        abort();
}

/* Returns the steps counted; recursion bounded by RP_PLAYBOOK_NESTING_MAX. */
static size_t check_list(const struct playbook *pb, const struct pb_list *list, int depth)
{
    size_t n = list->n;
    if (n == 0 || depth > RP_PLAYBOOK_NESTING_MAX)
        abort();
    for (size_t i = 0; i < list->n; i++) {
        const struct pb_step *s = &list->steps[i];
        if (s->id == NULL || playbook_step(pb, s->id) != s || s->pos.line < 1 || s->pos.col < 1)
            abort();
        check_ref(&s->next, list);
        check_ref(&s->on_error_target, list);
        if ((s->on_error == PB_ON_ERROR_GOTO) != (s->on_error_target.id != NULL))
            abort();
        switch (s->kind) {
        case PB_SWITCH:
            for (size_t k = 0; k < s->u.sw.ncases; k++)
                check_ref(&s->u.sw.cases[k].target, list);
            check_ref(&s->u.sw.default_target, list);
            break;
        case PB_FOR_EACH:
            n += check_list(pb, &s->u.for_each.body, depth + 1);
            break;
        case PB_WHILE:
            n += check_list(pb, &s->u.loop.body, depth + 1);
            break;
        case PB_PARALLEL:
            n += check_list(pb, &s->u.parallel.branches, depth + 1);
            break;
        case PB_GROUP:
            n += check_list(pb, &s->u.group.body, depth + 1);
            break;
        case PB_PROMPT:
            if (json_array_size(s->u.prompt.options) == 0 || s->u.prompt.timeout_ms <= 0)
                abort();
            break;
        default:
            break;
        }
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    action_registry_init();
    for (unsigned flags = 0; flags <= PB_LOAD_ANY_ACTION; flags++) {
        struct playbook *pb = NULL;
        struct rp_error err;
        err.msg[0] = '\0';
        rp_status st =
            playbook_load_string_flags("fuzz.yml", (const char *)data, size, flags, &pb, &err);
        if (st == RP_OK) {
            if (pb == NULL || pb->name == NULL || pb->steps.n == 0 || pb->text_len != size)
                abort();
            if (check_list(pb, &pb->steps, 1) != pb->nsteps_total ||
                pb->nsteps_total > RP_PLAYBOOK_STEPS_MAX)
                abort();
            if ((pb->trigger.type == PB_TRIGGER_SCHEDULE) != (pb->trigger.cron != NULL))
                abort();
        } else if (pb != NULL || err.msg[0] == '\0') {
            abort(); /* a rejection always says why, and returns nothing */
        }
        playbook_free(pb);
    }
    return 0;
}
