#!/usr/bin/env python3
"""test_cacao.py: `riposte cacao import` and `riposte cacao export` through the
real binary, against docs/cacao.md.

- The CACAO playbooks of <repo>/../shared/corpus/cacao (skipped when that folder
  is absent): the valid ones import to YAML that loads (the binary loads it
  before printing), with one Riposte action step per command; the deliberately
  invalid ones (SOURCES.md names them) are refused with exit 1 and a reason
  that names what is wrong.
- The project's own fixtures (tests/fuzz/corpus/cacao): the valid ones import,
  the bad-* ones are refused.
- The round trip on a playbook with every step kind: YAML -> export -> import
  -> export gives a CACAO document with the same steps, and the exports of the
  same playbook are byte for byte the same.
- The export follows the OASIS schema's rules that matter to other tools:
  identifiers TYPE--UUID, one start step, references to existing steps,
  on_completion never beside on_success/on_failure.

Environment: RIPOSTE_BIN, the binary to run. Standard library only.
"""

import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tap  # noqa: E402
from tap import check, eq, fail  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
CORPUS = os.path.abspath(os.path.join(REPO, "..", "shared", "corpus", "cacao"))
SEEDS = os.path.join(REPO, "tests", "fuzz", "corpus", "cacao")

# The corpus files that must be refused, and a part of the reason each gets.
INVALID = {
    "soarca__test__playbooks__changed-playbook.json": "workflow: must be an object",
    "soarca__test__playbooks__infinite_playbook.json": "a loop",
    "soarca__test__playbooks__invalid_email_playbook.json": "invalid email address",
    "soarca__test__playbooks__invalid_playbook.json": "type is \"invalid\"",
    "soarca__test__playbooks__missing_step_playbook.json": "not in the workflow",
}

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

ALL = """\
playbook: e2e-roundtrip
version: 2
description: Every step kind
trigger: { kind: phishing }
vars: { owner: soc, limit: 3 }
steps:
  - id: where
    action: geoip.lookup
    with: { ip: "{{ alert.src.ip }}" }
    timeout: 30s
    on_error: notify
  - id: ask
    prompt: { role: analyst, question: Contain?, options: [yes, no], timeout: 1h, default: no }
  - id: decide
    switch: steps.ask.answer
    cases: { "yes": contain }
    default: notify
  - id: contain
    parallel:
      - action: edr.contain_host
        with: { host: "{{ alert.host.name }}" }
      - id: tell
        steps:
          - { id: mail, action: mail.send, with: { to: "{{ vars.owner }}" } }
          - { id: note, case: { note: contained } }
  - id: poll
    while: steps.check == nil
    max: 3
    steps:
      - { id: check, action: cacao.http-api, with: { command: "GET /s/{{ vars.owner }}" } }
      - { id: pause, wait: 1m }
  - id: each
    for_each: alert.observables
    steps:
      - { id: remember, set: { last: "{{ item.value }}" } }
  - { id: sub, playbook: enrich-ip, inputs: { ip: "{{ alert.src.ip }}" } }
  - { id: notify, case: { severity: "80" } }
  - { id: stop, end: failure }
"""


def corpus_files():
    if not os.path.isdir(CORPUS):
        tap.skip(f"{CORPUS} is absent")
    files = sorted(f for f in os.listdir(CORPUS) if f.endswith(".json"))
    check(files, f"no CACAO playbooks in {CORPUS}")
    return files


def import_ok(t, path):
    r = t.riposte("cacao", "import", path)
    if r.code != 0:
        fail(f"{os.path.basename(path)}: refused (exit {r.code}): {r.stderr.strip()}")
    check(r.stdout.startswith("playbook: "), f"{path}: not Riposte YAML: {r.stdout[:200]!r}")
    return r.stdout


def refused(t, path, why):
    r = t.riposte("cacao", "import", path)
    eq(r.code, 1, f"{os.path.basename(path)}: exit code")
    eq(r.stdout, "", f"{os.path.basename(path)}: nothing printed")
    check(why in r.stderr and "refused" in r.stderr,
          f"{os.path.basename(path)}: reason {r.stderr.strip()!r} lacks {why!r}")


@tap.test
def corpus_valid_playbooks_load(t):
    n = 0
    for f in corpus_files():
        if f in INVALID:
            continue
        path = os.path.join(CORPUS, f)
        yaml = import_ok(t, path)
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
        commands = sum(len(s.get("commands", [])) for s in doc["workflow"].values())
        got = len(re.findall(r"^\s*action: cacao\.", yaml, re.M))
        eq(got, commands, f"{f}: one action step per command")
        n += 1
    check(n >= 9, f"only {n} valid playbooks in the corpus")


@tap.test
def corpus_invalid_playbooks_refused(t):
    files = corpus_files()
    for f, why in INVALID.items():
        check(f in files, f"{f} is missing from the corpus")
        refused(t, os.path.join(CORPUS, f), why)


@tap.test
def corpus_variables_become_templates(t):
    files = corpus_files()
    f = "soarca__examples__ssh-playbook.json"
    if f not in files:
        tap.skip(f"{f} absent")
    yaml = import_ok(t, os.path.join(CORPUS, f))
    check('command: "{{ vars.command }}"' in yaml, f"__command__:value not a template:\n{yaml}")
    check('command: "ls -la"' in yaml, f"the step variable is not in vars:\n{yaml}")


@tap.test
def corpus_credentials_not_imported(t):
    for f in corpus_files():
        if f in INVALID:
            continue
        yaml = import_ok(t, os.path.join(CORPUS, f))
        for secret in ("super-secure-password", "Password1234!"):
            check(secret not in yaml, f"{f}: a password reached the YAML")


@tap.test
def own_fixtures(t):
    seeds = sorted(f for f in os.listdir(SEEDS) if f.endswith(".json"))
    check(len(seeds) >= 8, "fixtures missing")
    for f in seeds:
        path = os.path.join(SEEDS, f)
        if f.startswith("bad-"):
            r = t.riposte("cacao", "import", path)
            eq(r.code, 1, f"{f}: exit code")
            check("refused" in r.stderr, f"{f}: no reason: {r.stderr!r}")
        else:
            import_ok(t, path)


def workflow_checks(doc, what):
    eq(doc.get("type"), "playbook", f"{what}: type")
    eq(doc.get("spec_version"), "cacao-2.0", f"{what}: spec_version")
    check(re.fullmatch("playbook--" + UUID, doc.get("id", "")), f"{what}: id {doc.get('id')}")
    for k in ("name", "created", "modified", "workflow_start", "workflow"):
        check(k in doc, f"{what}: {k} missing")
    wf = doc["workflow"]
    starts = [k for k, s in wf.items() if s["type"] == "start"]
    eq(starts, [doc["workflow_start"]], f"{what}: the one start step")
    for key, s in wf.items():
        check(re.fullmatch(r"[a-z-]+--" + UUID, key), f"{what}: step id {key}")
        check(key.startswith(s["type"] + "--"), f"{what}: {key} is a {s['type']}")
        check(not ("on_completion" in s and ("on_success" in s or "on_failure" in s)),
              f"{what}: {key}: on_completion beside on_success/on_failure")
        refs = [s.get(k) for k in ("on_completion", "on_success", "on_failure", "on_true",
                                   "on_false")]
        refs += s.get("next_steps", []) + list(s.get("cases", {}).values())
        for r in refs:
            if r is not None:
                check(r in wf, f"{what}: {key} names {r}, which is not in the workflow")
        if s["type"] == "action":
            check(s.get("commands"), f"{what}: {key}: an action without commands")


@tap.test
def round_trip(t):
    src = t.write("all.yml", ALL)
    r1 = t.riposte("cacao", "export", src)
    eq(r1.code, 0, f"export: {r1.stderr}")
    doc = r1.json()
    workflow_checks(doc, "export")
    r2 = t.riposte("cacao", "export", src, "--out", "again.json")
    eq(r2.code, 0, f"export --out: {r2.stderr}")
    with open(t.path("again.json"), "rb") as fh:
        eq(fh.read(), r1.out, "the same playbook exports to the same bytes")
    exported = t.write("exported.json", r1.out)
    back = t.riposte("cacao", "import", exported, "--out", "back.yml")
    eq(back.code, 0, f"import of the export: {back.stderr}")
    with open(t.path("back.yml"), encoding="utf-8") as fh:
        yaml = fh.read()
    for sid in ("where", "ask", "decide", "contain", "tell", "mail", "note", "poll", "check",
                "pause", "each", "remember", "sub", "notify", "stop"):
        check(re.search(r"^\s*-? *id: " + sid + "$", yaml, re.M), f"step {sid} lost:\n{yaml}")
    r3 = t.riposte("cacao", "export", t.path("back.yml"))
    eq(r3.code, 0, f"export of the import: {r3.stderr}")
    doc3 = r3.json()
    eq(sorted(doc3["workflow"]), sorted(doc["workflow"]), "the same CACAO steps again")
    for k in doc["workflow"]:
        eq(doc3["workflow"][k]["type"], doc["workflow"][k]["type"], f"{k}: type")


@tap.test
def usage(t):
    r = t.riposte("cacao")
    eq(r.code, 2, "no arguments: exit code")
    r = t.riposte("cacao", "frobnicate", "x")
    eq(r.code, 2, "unknown subcommand: exit code")
    r = t.riposte("cacao", "import", t.path("nope.json"))
    eq(r.code, 2, "missing file: exit code")
    bad = t.write("bad.json", "{")
    r = t.riposte("cacao", "import", bad)
    eq(r.code, 1, "not JSON: exit code")
    check("not JSON" in r.stderr, f"not JSON: {r.stderr!r}")


if __name__ == "__main__":
    tap.main()
