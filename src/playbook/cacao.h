/*
 * cacao.h: OASIS CACAO 2.0 playbooks (JSON) to and from Riposte's playbooks
 * (docs/cacao.md).
 *
 * Import reads a CACAO playbook, checks what the specification requires
 * (identifiers, timestamps, step types, references between steps, agents and
 * targets), turns its workflow graph into Riposte's nested step lists, turns
 * each command into an action step `cacao.<command-type>`, variables
 * `__name__` into `vars`, and STIX comparison expressions into Lua; it writes
 * the result as Riposte YAML text. Export does the reverse from a loaded
 * struct playbook, with stable identifiers (UUIDv5) so that exporting the same
 * playbook twice gives the same bytes. What CACAO cannot say (Riposte-only step
 * kinds, `when`, retry, Lua conditions) travels in a Riposte extension
 * (`step_extensions`/`playbook_extensions`), so that import(export(pb)) gives
 * back the same steps, kinds, ids and jumps.
 *
 * Every function is pure (no I/O, no globals) and may run on any thread.
 * Errors are RP_E_INVALID with a message naming the field or step, RP_E_LIMIT
 * when a limit of core/limits.h was reached, RP_E_NOMEM.
 */
#ifndef RP_PLAYBOOK_CACAO_H
#define RP_PLAYBOOK_CACAO_H

#include "core/status.h"
#include "playbook/playbook.h"

#include <jansson.h>
#include <stddef.h>

/* Reads the CACAO JSON in json[0..len) and writes the equivalent Riposte
 * playbook as YAML into *yaml_out (NUL-terminated, length in *yaml_len when
 * not NULL). The caller frees *yaml_out; it is NULL on error. The YAML names
 * actions `cacao.*` that no connector registers: load it with
 * PB_LOAD_ANY_ACTION. */
rp_status cacao_import(const char *json, size_t len, char **yaml_out, size_t *yaml_len,
                       struct rp_error *err) RP_MUST_CHECK;

/* The same, stopping before the YAML: *tree_out is the playbook as the YAML
 * document would hold it (objects keep their order). The caller owns it. */
rp_status cacao_import_tree(const char *json, size_t len, json_t **tree_out,
                            struct rp_error *err) RP_MUST_CHECK;

/* Writes a JSON tree (objects, arrays, strings, numbers, booleans, null) as a
 * YAML document. Strings that YAML would read as something else are quoted. */
rp_status cacao_yaml_emit(json_t *tree, char **out, size_t *out_len,
                          struct rp_error *err) RP_MUST_CHECK;

/* Translates a CACAO condition (the comparison subset of the STIX patterning
 * grammar, see docs/cacao.md) into a Lua expression over `vars` and `alert`.
 * The caller frees *lua_out. */
rp_status cacao_condition_to_lua(const char *cond, char **lua_out,
                                 struct rp_error *err) RP_MUST_CHECK;

/* Writes pb as a CACAO 2.0 playbook. *out is a new object the caller owns. */
rp_status cacao_export(const struct playbook *pb, json_t **out, struct rp_error *err) RP_MUST_CHECK;

/* A name-based UUID (version 5, SHA-1, in Riposte's own namespace, see
 * docs/cacao.md) as 36 lower-case characters and a NUL. */
void cacao_uuid5(const char *name, char out[37]);

#endif
