#!/usr/bin/env python3
"""test_corpus_ioc.py: end-to-end tests of `riposte extract` (IOC extraction).

Two parts:

* Small fixtures of our own (below) that run everywhere: what must be found,
  what must not, the defangs, the NDJSON shape, exit codes and the input limit.

* The public IOC-extraction test sets in <repo>/../shared/corpus/ioc-extraction
  (skipped when that folder is absent): the unit tests of InQuest/iocextract and
  of ninoseki/ioc-extractor, transcribed to JSON, plus iocextract's input /
  valid / invalid text files. Each case's input is run through the binary and
  turned into must-find items (type, value) and must-not-find items; the test
  prints the found rate and the false-hit rate per type and overall as TAP
  diagnostics and asserts found >= 95% and false hits <= 2% overall.

How upstream expectations become items (docs/ioc-extraction.md says why):
  - expected values are compared in canonical form: refanged, host and scheme in
    lower case, hashes lower case, IPv6 compressed (ipaddress), emails lower case;
  - iocextract's extract_urls also returns scheme-less pieces ("example[.]com/x");
    here a URL needs a scheme, so such a value is must-find as the domain (or
    address) of its host; refang_data on a scheme-less input likewise;
  - expected_count == 0 is must-not-find for the function's types; invalid.txt
    lines must not be reported as values; ioc-extractor's strict mode (the
    default) must not report what only its non-strict mode finds;
  - skipped, counted and printed: functions out of scope (YARA rules, custom
    regexes, base64/percent-encoded URLs, defanging), counts without a value,
    options we do not have (strict off, refang off), expectations that are not
    well-formed indicators ("http://example,com/", "456-7890"), and values whose
    host has no top-level domain of the public suffix list (".tld" placeholders:
    the contract requires one; read from the system's list when present).
  Values of complete upstream lists that we report beyond them are printed as
  "unexpected" diagnostics, not counted: they are upstream's choices (e.g.
  ioc-extractor reports no tcp:// URLs).

    RIPOSTE_BIN=build/riposte python3 tests/e2e/test_corpus_ioc.py [TEST...]
"""

import ipaddress
import json
import os
import re
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tap  # noqa: E402
from tap import check, eq, fail, test  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "corpus",
                                       "ioc-extraction"))
PSL_FILE = "/usr/share/publicsuffix/public_suffix_list.dat"
TYPES = ["ipv4", "ipv6", "domain", "url", "email", "md5", "sha1", "sha256", "sha512", "cve"]
MIN_FOUND = 0.95
MAX_FALSE = 0.02


def extract(t, text, what="extract"):
    """[(type, value)] printed by `riposte extract -` for text."""
    r = t.riposte("extract", "-", input=text)
    if r.code != 0:
        fail(f"{what}: exit {r.code}, stderr {r.stderr!r}")
    out = []
    for line in r.stdout.splitlines():
        try:
            o = json.loads(line)
        except ValueError as e:
            fail(f"{what}: output line is not JSON ({e}): {line!r}")
        check(isinstance(o, dict) and set(o) == {"type", "value"},
              f"{what}: expected {{type, value}}, got {line!r}")
        check(o["type"] in TYPES, f"{what}: unknown type in {line!r}")
        out.append((o["type"], o["value"]))
    return out


# --- our own fixtures -------------------------------------------------------------

FIXTURE = """\
Incident 4711: the dropper beaconed to hxxps://update-check[.]example[.]com/gate.php?id=7
and to 203.0.113[.]7:8443, then resolved files-cdn(.)example.net and
[2001:db8:85a3::8a2e:370:7334]. Reply-To: billing[@]invoices-example[.]org.
Payload sha256 E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855
(md5 d41d8cd98f00b204e9800998ecf8427e), exploiting CVE-2021-44228.
Not indicators: version 2.10.1, OID 1.3.6.1.4.1.311, invoice.pdf, setup.exe,
document.docx, Scan_0042.one, install.sh, C:\\Users\\bob\\evil.com, a 34-digit hex
adc83b191b1c6ea0fd8b46cd9f32e592fc, "user.name": "bob", Thanks.Best regards.
"""

FIXTURE_WANT = [
    ("url", "https://update-check.example.com/gate.php?id=7"),
    ("domain", "update-check.example.com"),
    ("ipv4", "203.0.113.7"),
    ("domain", "files-cdn.example.net"),
    ("ipv6", "2001:db8:85a3::8a2e:370:7334"),
    ("email", "billing@invoices-example.org"),
    ("domain", "invoices-example.org"),
    ("sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    ("md5", "d41d8cd98f00b204e9800998ecf8427e"),
    ("cve", "CVE-2021-44228"),
]


@test
def fixture_exact(t):
    """The fixture yields exactly these indicators, in this order, once each."""
    eq(extract(t, FIXTURE), FIXTURE_WANT, "indicators of the fixture")


DEFANGS = [
    ("hxxp://evil[.]example[.]net/x", ("url", "http://evil.example.net/x")),
    ("hXXps[:]//evil[.]example[.]com", ("url", "https://evil.example.com")),
    ("http[://]evil(.)example.com/a[.]b", ("url", "http://evil.example.com/a.b")),
    ("evil[dot]example[dot]com", ("domain", "evil.example.com")),
    ("evil{.}example.com", ("domain", "evil.example.com")),
    ("10[.]0[.]0[.]1", ("ipv4", "10.0.0.1")),
    ("10(.)0(.)0(.)1", ("ipv4", "10.0.0.1")),
    ("10\\.0\\.0\\.1", ("ipv4", "10.0.0.1")),
    ("198.51.100[[.]]23", ("ipv4", "198.51.100.23")),
    ("mallory[@]example[.]org", ("email", "mallory@example.org")),
    ("mallory[at]example[dot]org", ("email", "mallory@example.org")),
    ("mallory (at) example (dot) org", ("email", "mallory@example.org")),
    ("mallory at example dot org", ("email", "mallory@example.org")),
    ("Mallory@Example.ORG", ("email", "mallory@example.org")),
]


@test
def defangs_are_refanged(t):
    for text, want in DEFANGS:
        got = extract(t, text, text)
        check(want in got, f"{text!r}: expected {want}, got {got}")


NOT_FOUND = [
    "version 2.10.1 and v3.4.5",
    "1.2.3.4.5",
    "192.168.1",
    "256.1.1.1",
    "invoice.pdf setup.exe document.docx report.xlsx",
    "archive.zip clip.mov notes.one key.pub README.md run.sh main.py update.cab",
    "/usr/local/bin/evil.com C:\\tmp\\evil.com",
    "co.uk example.nope www.example.invalid",
    "adc83b191b1c6ea0fd8b46cd9f32e592fc",
    "0x32Be343B94f860124dC4fEe278FDCBD38C102D88",
    "12345678901234567890123456789012",
    "ABCDEFabcdef0123456789abcdef0123",
    "::1 :: std::vector Foo::Bar 12:30:45",
    "20:00:00:25:b5:00:00:0a",
    "myuser@example . com",
    "user @ word more words",
    "a@a",
    '{"user.name": "bob", "host.id": "x"} process.name=cmd',
    "Thanks.Best regards",
    "CVE-21-1234 CVE-2021-123",
]


@test
def not_indicators(t):
    """Version numbers, file names, partial hex, words: nothing."""
    for text in NOT_FOUND:
        got = extract(t, text, text)
        eq(got, [], f"indicators in {text!r}")
    # a sentence with "at" before a domain is a domain, not an address
    eq(extract(t, "hosted at example.com"), [("domain", "example.com")], "'at' in a sentence")


@test
def boundaries(t):
    eq(extract(t, "words127.0.0.1words"), [("ipv4", "127.0.0.1")], "IPv4 inside a word")
    eq(extract(t, "x68b329da9893e34099c7d8ad5cb9c940y"),
       [("md5", "68b329da9893e34099c7d8ad5cb9c940")], "md5 between non-hex letters")
    sha256 = "01ba4719c80b6fe911b091a7c05124b64eeece964e09c058ef8f9805daca546b"
    eq(extract(t, sha256), [("sha256", sha256)], "a SHA-256 is not also a SHA-1 or MD5")
    eq(extract(t, "See https://example.com/a_(b)."), [
        ("url", "https://example.com/a_(b)"), ("domain", "example.com")], "URL end")
    eq(extract(t, "(https://example.com/x)"), [
        ("url", "https://example.com/x"), ("domain", "example.com")], "URL in parentheses")
    eq(extract(t, '<a href="http://example.com/p?q=1">x</a>'), [
        ("url", "http://example.com/p?q=1"), ("domain", "example.com")], "URL in HTML")


@test
def repeats_reported_once(t):
    got = extract(t, "1.2.3.4 1[.]2[.]3[.]4 EXAMPLE.com example.com example[.]com")
    eq(got, [("ipv4", "1.2.3.4"), ("domain", "example.com")], "repeats")


@test
def empty_and_binary_input(t):
    eq(extract(t, ""), [], "empty input")
    got = extract(t, b"\xff\xfe1.2.3.4\x00\xc3\x28example.com\xf0\x9f\x98\x80")
    eq(got, [("ipv4", "1.2.3.4"), ("domain", "example.com")], "invalid UTF-8 and NULs")


@test
def file_argument_and_help(t):
    p = t.write("report.txt", "C2: 198.51.100.9\n")
    r = t.riposte("extract", p)
    eq(r.code, 0, f"exit code ({r!r})")
    eq(r.stdout, '{"type":"ipv4","value":"198.51.100.9"}\n', "stdout")
    r = t.riposte("extract", "--help")
    eq(r.code, 0, "--help exit code")
    check(r.stdout.startswith("usage: riposte extract"), f"--help prints the usage: {r.stdout!r}")


@test
def usage_and_io_errors(t):
    r = t.riposte("extract")
    eq(r.code, 2, "no argument")
    check("usage" in r.stderr, f"usage on stderr: {r.stderr!r}")
    r = t.riposte("extract", "--bogus", "-")
    eq(r.code, 2, "unknown option")
    r = t.riposte("extract", "a.txt", "b.txt")
    eq(r.code, 2, "two inputs")
    r = t.riposte("extract", t.path("missing.txt"))
    eq(r.code, 2, "missing file")
    check("missing.txt" in r.stderr, f"the error names the file: {r.stderr!r}")
    r = t.riposte("extract", t.dir)
    eq(r.code, 2, "a directory")


@test(timeout=300)
def input_limit(t):
    """64 MiB is read; one byte more is refused with a clear error."""
    limit = 64 * 1024 * 1024
    r = t.riposte("extract", "-", input=b" " * (limit - 16) + b"198.51.100.1", timeout=240)
    eq(r.code, 0, f"at the limit ({r.stderr!r})")
    eq(r.stdout, '{"type":"ipv4","value":"198.51.100.1"}\n', "stdout at the limit")
    r = t.riposte("extract", "-", input=b" " * (limit + 1), timeout=240)
    eq(r.code, 2, "beyond the limit")
    check("larger than 64 MiB" in r.stderr, f"a clear error: {r.stderr!r}")


@test
def indicator_limit(t):
    """More than RP_IOC_MAX distinct indicators: the first 10000, then exit 1."""
    text = "\n".join(f"10.{i // 65536}.{(i // 256) % 256}.{i % 256}" for i in range(10050))
    r = t.riposte("extract", "-", input=text)
    eq(r.code, 1, f"exit code ({r.stderr!r})")
    lines = r.stdout.splitlines()
    eq(len(lines), 10000, "lines printed")
    eq(json.loads(lines[-1])["value"], "10.0.39.15", "the last one printed")
    check("limit" in r.stderr, f"the limit is named: {r.stderr!r}")


# --- the public test sets ---------------------------------------------------------


def icann_tlds():
    """Top-level domains of the ICANN section of the system's public suffix list,
    or None when the list is not installed."""
    try:
        with open(PSL_FILE, encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return None
    tlds, icann = set(), False
    for line in text.splitlines():
        if "===BEGIN ICANN DOMAINS===" in line:
            icann = True
        elif "===END ICANN DOMAINS===" in line:
            icann = False
        elif icann and line and not line.startswith("//"):
            tlds.add(line.strip().lstrip("!*.").split(".")[-1])
    return tlds


# Separator runs in upstream's expected strings: the core ('.', "dot", '@',
# "at") with any brackets, backslashes and spaces around it.
DOT_RE = re.compile(r"[\s\[\(\{\\]*(?:\.|(?<![a-z])dot(?![a-z]))[\s\]\)\}\\]*|/dot/", re.I)
AT_RE = re.compile(r"[\s\[\(\{]*(?:@|(?<![a-z])at(?![a-z]))[\s\]\)\}]*|/at/", re.I)


def refang(s, email=False):
    """The upstream expectation (raw, possibly defanged) refanged."""
    s = s.strip()
    s = re.sub(r"^h(?:xx|tt)p", "http", s, flags=re.I)
    s = s.replace("[://]", "://").replace("[:]", ":").replace("[/]", "/")
    if email:
        s = AT_RE.sub("@", s)
    return DOT_RE.sub(".", s)


HOST_RE = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,62}\.)+[a-z0-9-]+$")


def canon_host(h):
    """(type, value) of a URL host or bare host, or None."""
    h = h.lower().rstrip(".")
    for fam in (ipaddress.IPv4Address, ipaddress.IPv6Address):
        try:
            a = fam(h.strip("[]"))
        except ValueError:
            continue
        if fam is ipaddress.IPv6Address and a.ipv4_mapped is not None:
            return ("ipv4", str(a.ipv4_mapped))
        return ("ipv4" if fam is ipaddress.IPv4Address else "ipv6", str(a))
    return ("domain", h) if HOST_RE.match(h) else None


def canon(kind, raw):
    """The canonical (type, value) of an upstream expectation of kind, or a
    string: why it is not a well-formed indicator."""
    v = refang(raw, email=kind == "email")
    if kind in ("md5", "sha1", "sha256", "sha512"):
        n = {"md5": 32, "sha1": 40, "sha256": 64, "sha512": 128}[kind]
        return (kind, v.lower()) if re.fullmatch(r"[0-9a-fA-F]{%d}" % n, v) else "not a hash"
    if kind == "cve":
        return ("cve", v.upper())
    if kind in ("ipv4", "ipv6", "domain"):
        h = canon_host(v)
        return h if h is not None else f"not a host: {raw!r}"
    if kind == "email":
        v = re.sub(r"\s+", "", v).lower()
        local, _, dom = v.rpartition("@")
        if not local or canon_host(dom) is None or canon_host(dom)[0] != "domain":
            return f"not an address with a domain: {raw!r}"
        return ("email", v)
    if kind == "url":
        v = re.sub(r"\s+", "", v)
        if "://" not in v:
            # iocextract's scheme-less "URL": here the indicator is its host
            h = re.split(r"[/?#]", v, 1)[0]
            h = re.sub(r":\d+$", "", h)
            c = canon_host(h)
            return c if c is not None else f"not a host: {raw!r}"
        try:
            u = urllib.parse.urlsplit(v)
            host = u.hostname
            u.port  # noqa: B018 - raises on a bad port
        except ValueError:
            return f"not a URL: {raw!r}"
        if not host or canon_host(host) is None:
            return f"not a URL host: {raw!r}"
        scheme, rest = v.split("://", 1)
        auth = re.split(r"[/?#]", rest, 1)[0]
        tail = rest[len(auth):]
        ui, at, hp = auth.rpartition("@")
        return ("url", scheme.lower() + "://" + ui + at + hp.lower() + tail)
    return f"unknown kind {kind}"


def guess_kind(raw):
    """The type of a value returned by a function that returns several types."""
    v = refang(raw)
    if "://" in v or re.match(r"^[^/\s]+/", v):
        return "url"
    if canon_host(v) and canon_host(v)[0] in ("ipv4", "ipv6"):
        return canon_host(v)[0]
    if "@" in refang(raw, email=True):
        return "email"
    if re.fullmatch(r"[0-9a-fA-F]+", v):
        return {32: "md5", 40: "sha1", 64: "sha256", 128: "sha512"}.get(len(v), "domain")
    if re.fullmatch(r"(?i)cve-\d{4}-\d+", v):
        return "cve"
    return "domain"


FUNC_KINDS = {
    "extract_md5_hashes": ["md5"], "extract_sha1_hashes": ["sha1"],
    "extract_sha256_hashes": ["sha256"], "extract_sha512_hashes": ["sha512"],
    "extract_ipv4s": ["ipv4"], "extract_ipv6s": ["ipv6"], "extract_ips": ["ipv4", "ipv6"],
    "extract_emails": ["email"], "extract_urls": ["url"], "extract_iocs": TYPES,
    "refang_ipv4": ["ipv4"], "refang_email": ["email"], "refang_data": ["url"],
}
SKIP_FUNCS = {
    "extract_yara_rules": "YARA rules are not an indicator type",
    "extract_custom_iocs": "user-supplied regexes",
    "extract_encoded_urls": "base64/percent-encoded URLs are not decoded",
    "defang_data": "defanging is the reverse operation",
}
SKIP_TESTS = {
    "test_base64_error_when_whitespace_in_leading_characters": "the input is base64",
    "test_yara_included_in_iocs": "YARA rules are not an indicator type",
}
IOCX_KEYS = {"md5s": "md5", "sha1s": "sha1", "sha256s": "sha256", "sha512s": "sha512",
             "ipv4s": "ipv4", "ipv6s": "ipv6", "domains": "domain", "urls": "url",
             "emails": "email", "cves": "cve"}
SCHEME_IN_INPUT = re.compile(r"^\s*[A-Za-z][A-Za-z0-9+.-]*(\[?:\]?//|\[://\]|:?__|:\\\\)")


class Tally:
    """The must-find and must-not-find items and what happened to them."""

    def __init__(self, tlds):
        self.tlds = tlds
        self.find = {k: [0, 0] for k in TYPES}      # type -> [found, total]
        self.avoid = {k: [0, 0] for k in TYPES + ["any"]}  # type -> [hit, total]
        self.skips = {}
        self.missed, self.false_hits, self.unexpected = [], [], []

    def skip(self, reason, n=1):
        self.skips[reason] = self.skips.get(reason, 0) + n

    def in_contract(self, item):
        """False when a domain's or URL's host has no ICANN top-level domain.
        Email addresses are always in: a plainly written address is reported
        whatever its domain (mail is delivered to internal names too)."""
        kind, v = item
        host = None
        if kind == "domain":
            host = v
        elif kind == "url":
            h = urllib.parse.urlsplit(v).hostname
            host = h if h and canon_host(h) and canon_host(h)[0] == "domain" else None
        if host is None or self.tlds is None:
            return True
        return host.rsplit(".", 1)[-1] in self.tlds

    def must_find(self, where, got, item):
        if isinstance(item, str):
            self.skip("expectation is not a well-formed indicator")
            return
        if not self.in_contract(item):
            self.skip("host has no public-suffix TLD (contract requires one)")
            return
        kind, v = item
        self.find[kind][1] += 1
        if item in got:
            self.find[kind][0] += 1
        else:
            self.missed.append(f"{where}: {kind} {v!r}; got {got}")

    def must_not_find(self, where, got, kinds, value=None):
        """Nothing of kinds (or, with value, not that value) may be reported."""
        bucket = kinds[0] if len(kinds) == 1 else "any"
        self.avoid[bucket][1] += 1
        bad = [g for g in got if g[0] in kinds and (value is None or g[1] == value)]
        if bad:
            self.avoid[bucket][0] += 1
            self.false_hits.append(f"{where}: {bad}")


def run_iocextract(t, tally, cache):
    with open(os.path.join(CORPUS, "iocextract__test-cases.json"), encoding="utf-8") as f:
        cases = json.load(f)["cases"]
    for n, c in enumerate(cases):
        fn, test_name = c["function"], c["test"]
        if fn in SKIP_FUNCS:
            tally.skip(SKIP_FUNCS[fn])
            continue
        if test_name in SKIP_TESTS:
            tally.skip(SKIP_TESTS[test_name])
            continue
        kinds = FUNC_KINDS.get(fn)
        if kinds is None:
            tally.skip(f"function {fn}")
            continue
        if c.get("kwargs", {}).get("refang") is False:
            tally.skip("refang turned off upstream")
            continue
        inp = c["input"]
        if inp not in cache:
            cache[inp] = extract(t, inp, f"iocextract case {n}")
        got = cache[inp]
        where = f"iocextract #{n} {test_name} {inp!r}"
        values = []
        if "expected" in c:
            values = [c["expected"]]
        elif "expected_all" in c:
            e = c["expected_all"]
            values = e if isinstance(e, list) else [e]
        elif "expected_contains" in c:
            values = [c["expected_contains"]]
        elif "expected_count" in c:
            if c["expected_count"] == 0:
                tally.must_not_find(where, got, kinds)
            else:
                tally.skip("a count without a value")
            continue
        if fn == "extract_iocs" and not values:
            continue
        for raw in values:
            kind = kinds[0] if len(kinds) == 1 else guess_kind(raw)
            if fn == "refang_data" and not SCHEME_IN_INPUT.match(inp):
                item = canon("url", re.split(r"://", raw, 1)[-1])  # the host of a bare name
            else:
                item = canon(kind, raw)
            tally.must_find(where, got, item)


def run_iocextract_files(t, tally):
    with open(os.path.join(CORPUS, "iocextract__input.txt"), encoding="utf-8") as f:
        text = f.read()
    with open(os.path.join(CORPUS, "iocextract__valid.txt"), encoding="utf-8") as f:
        valid = [l for l in f.read().splitlines() if l.strip()]
    with open(os.path.join(CORPUS, "iocextract__invalid.txt"), encoding="utf-8") as f:
        invalid = [l for l in f.read().splitlines() if l.strip()]
    got = extract(t, text, "iocextract input.txt")
    for raw in valid:
        tally.must_find(f"iocextract valid.txt {raw!r}", got, canon(guess_kind(raw), raw))
    for raw in invalid:
        item = canon(guess_kind(raw), raw)
        value = item[1] if isinstance(item, tuple) else raw
        tally.must_not_find(f"iocextract invalid.txt {raw!r}", got, TYPES, value)
        if value != raw:
            tally.must_not_find(f"iocextract invalid.txt {raw!r} (as written)", got, TYPES, raw)


def run_ioc_extractor(t, tally):
    with open(os.path.join(CORPUS, "ioc-extractor__spec-cases.json"), encoding="utf-8") as f:
        spec = json.load(f)
    by_input = {}
    for c in spec["extractIOC_cases"]:
        inp = c.get("input")
        if inp is None:
            with open(os.path.join(CORPUS, c["input_file"]), encoding="utf-8") as f:
                inp = f.read()
        by_input.setdefault(inp, []).append(c)
    for inp, cs in by_input.items():
        got = extract(t, inp, "ioc-extractor case")
        strict = [c for c in cs if c.get("options", {}).get("strict", True)
                  and c.get("options", {}).get("refang", True)]
        loose = [c for c in cs if c.get("options", {}).get("strict") is False]
        for c in cs:
            if c not in strict:
                tally.skip(f"option {json.dumps(c.get('options'))} (not ours)")
        for c in strict:
            where = f"ioc-extractor {c['name']!r}"
            for key, vals in c["expected"].items():
                kind = IOCX_KEYS.get(key)
                if kind is None:
                    tally.skip(f"type {key} (not ours)", len(vals))
                    continue
                want = set()
                for raw in vals:
                    item = canon(kind, raw)
                    tally.must_find(where, got, item)
                    if isinstance(item, tuple):
                        want.add(item)
                extra = [g for g in got if g[0] == kind and g not in want]
                if extra:
                    tally.unexpected.append(f"{where}: {extra}")
            # what only the non-strict mode finds must not be found in strict mode
            for lc in loose:
                for key, vals in lc["expected"].items():
                    kind = IOCX_KEYS.get(key)
                    if kind is None or key not in c["expected"]:
                        continue
                    strict_vals = set(c["expected"][key])
                    for raw in vals:
                        if raw in strict_vals:
                            continue
                        item = canon(kind, raw)
                        if isinstance(item, tuple):
                            tally.must_not_find(f"{where} strict vs {raw!r}", got, [kind], item[1])
    for c in spec["single_value_extractor_cases"]:
        kind = c["type"]
        if kind not in TYPES:
            tally.skip(f"type {kind} (not ours)")
            continue
        got = extract(t, c["input"], f"ioc-extractor single {c['input']!r}")
        where = f"ioc-extractor single {kind} {c['input']!r}"
        if c["expected"] is not None:
            tally.must_find(where, got, canon(kind, c["expected"]))
        elif refang(c["input"], email=kind == "email") != c["input"]:
            tally.skip("refang turned off upstream")
        else:
            tally.must_not_find(where, got, [kind])


def rate(a, b):
    return a / b if b else 1.0


@test(timeout=600)
def public_corpus_rates(t):
    if not os.path.isdir(CORPUS):
        tap.skip(f"no corpus at {CORPUS}")
    tally = Tally(icann_tlds())
    cache = {}
    run_iocextract(t, tally, cache)
    run_iocextract_files(t, tally)
    run_ioc_extractor(t, tally)

    lines = ["IOC extraction over " + CORPUS,
             f"{'type':8} {'found':>13} {'rate':>7}   {'false hits':>13} {'rate':>7}"]
    for k in TYPES + ["any"]:
        f, n = tally.find.get(k, [0, 0])
        h, m = tally.avoid[k]
        if n or m:
            lines.append(f"{k:8} {f:>6}/{n:<6} {rate(f, n):>7.1%}   {h:>6}/{m:<6} "
                         f"{(h / m if m else 0):>7.1%}")
    found = sum(v[0] for v in tally.find.values())
    total = sum(v[1] for v in tally.find.values())
    hits = sum(v[0] for v in tally.avoid.values())
    avoid = sum(v[1] for v in tally.avoid.values())
    lines.append(f"{'overall':8} {found:>6}/{total:<6} {rate(found, total):>7.1%}   "
                 f"{hits:>6}/{avoid:<6} {(hits / avoid if avoid else 0):>7.1%}")
    out = tally.skips.get("host has no public-suffix TLD (contract requires one)", 0)
    lines.append(f"(counting the {out} items whose host has no public-suffix TLD as misses: "
                 f"{rate(found, total + out):.1%})")
    lines.append("skipped: " + ", ".join(f"{k} ({v})" for k, v in sorted(tally.skips.items())))
    lines += ["missed: " + m for m in tally.missed]
    lines += ["false hit: " + m for m in tally.false_hits]
    lines += ["unexpected (beyond a complete upstream list, not counted): " + m
              for m in tally.unexpected]
    for line in lines:
        print("# " + tap.shorten(line, 300))
    check(total > 300 and avoid > 50, f"too few items ({total} must-find, {avoid} must-not-find)")
    check(rate(found, total) >= MIN_FOUND,
          f"found {found}/{total} = {rate(found, total):.1%} < {MIN_FOUND:.0%}")
    check(hits / avoid <= MAX_FALSE, f"false hits {hits}/{avoid} = {hits / avoid:.1%} > {MAX_FALSE:.0%}")


if __name__ == "__main__":
    tap.main()
