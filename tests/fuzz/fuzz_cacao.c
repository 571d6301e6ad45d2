/*
 * fuzz_cacao.c: libFuzzer target for the CACAO import and export
 * (playbook/cacao.h).
 *
 * An input that starts with '?' is a condition: the rest goes through the
 * STIX-to-Lua translation, which either refuses it with a reason or gives
 * Lua the expression sandbox compiles. Any other input is a CACAO document:
 * cacao_import() either refuses it with a reason and hands nothing out, or
 * gives YAML; when that YAML loads, the playbook is exported and the export
 * imported again, which must succeed and load (export and import agree).
 * Broken invariants abort(). Memory: everything is freed before returning.
 */
#include "expr/expr.h"
#include "playbook/cacao.h"
#include "playbook/playbook.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_condition(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (text == NULL)
        return;
    memcpy(text, data, size);
    text[size] = '\0';
    char *lua = NULL;
    struct rp_error err;
    err.msg[0] = '\0';
    rp_status st = cacao_condition_to_lua(text, &lua, &err);
    if (st == RP_OK) {
        struct expr_env *env = NULL;
        if (lua == NULL || expr_env_new(&env, &err) != RP_OK)
            abort();
        if (expr_check(env, lua, &err) != RP_OK)
            abort(); /* the translation wrote something that is not Lua */
        expr_env_free(env);
    } else if (lua != NULL || err.msg[0] == '\0') {
        abort();
    }
    free(lua);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 0 && data[0] == '?') {
        if (memchr(data, '\0', size) == NULL)
            fuzz_condition(data + 1, size - 1);
        return 0;
    }
    char *yaml = NULL;
    size_t len = 0;
    struct rp_error err;
    err.msg[0] = '\0';
    rp_status st = cacao_import((const char *)data, size, &yaml, &len, &err);
    if (st != RP_OK) {
        if (yaml != NULL || err.msg[0] == '\0')
            abort(); /* a refusal hands nothing out and says why */
        return 0;
    }
    struct playbook *pb = NULL;
    if (playbook_load_string_flags("fuzz", yaml, len, PB_LOAD_ANY_ACTION, &pb, &err) == RP_OK) {
        json_t *doc = NULL;
        if (cacao_export(pb, &doc, &err) != RP_OK)
            abort(); /* whatever loads exports */
        char *text = json_dumps(doc, JSON_COMPACT);
        char *yaml2 = NULL;
        size_t len2 = 0;
        struct playbook *pb2 = NULL;
        if (text == NULL || cacao_import(text, strlen(text), &yaml2, &len2, &err) != RP_OK)
            abort(); /* an export imports */
        if (playbook_load_string_flags("fuzz2", yaml2, len2, PB_LOAD_ANY_ACTION, &pb2, &err) !=
            RP_OK)
            abort(); /* and loads */
        if (strcmp(pb2->name, pb->name) != 0)
            abort();
        playbook_free(pb2);
        free(yaml2);
        free(text);
        json_decref(doc);
    }
    playbook_free(pb);
    free(yaml);
    return 0;
}
