#!/usr/bin/env python3
"""test_lab.py: end-to-end tests of `riposte lab`, the vendor API simulator:
per vendor, auth success and failure and the shape of each endpoint; state that
persists (contain, quarantine, isolate, delete mail, suspend, sightings, IOCs);
faults (500, 429 with Retry-After, slow, malformed, close) that hit exactly the
requests asked for; a request log that masks secrets; reset; the determinism of
--seed; token expiry; a clean stop on SIGTERM.

Each test starts its own lab on a free loopback port (--listen 127.0.0.1:0; the
lab prints its URL) and kills it at the end whatever happened.

    RIPOSTE_BIN=build/riposte python3 tests/e2e/test_lab.py [TEST...]
"""

import base64
import hashlib
import hmac
import http.client
import json
import os
import signal
import socket
import sys
import time
import urllib.parse
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tap  # noqa: E402
from tap import check, contains, eq, fail, test  # noqa: E402

START_TIMEOUT_S = 20


class Lab:
    def __init__(self, t, *args):
        self.t = t
        self.proc = t.spawn("lab", "--listen", "127.0.0.1:0", *args)
        self.url = tap.wait_until(self._url, START_TIMEOUT_S, "the lab's URL line")
        u = urllib.parse.urlparse(self.url)
        self.host, self.port = u.hostname, u.port

    def _url(self):
        if self.proc.poll() is not None:
            fail(f"lab exited with {self.proc.returncode}: {self.t.proc_stderr(self.proc)}")
        with open(self.proc.out_path) as f:
            line = f.readline()
        return line.strip() if line.endswith("\n") else None

    def req(self, method, path, body=None, headers=None, form=None, timeout=30):
        """(status, headers dict lower-case, body bytes)."""
        h = dict(headers or {})
        if form is not None:
            body = urllib.parse.urlencode(form, doseq=True)
            h.setdefault("Content-Type", "application/x-www-form-urlencoded")
        elif isinstance(body, (dict, list)):
            body = json.dumps(body)
            h.setdefault("Content-Type", "application/json")
        if isinstance(body, str):
            body = body.encode()
        c = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            c.close()

    def j(self, method, path, body=None, headers=None, form=None, want=None):
        s, h, b = self.req(method, path, body, headers, form)
        if want is not None:
            eq(s, want, f"{method} {path} status (body {tap.shorten(b)!r})")
        try:
            return s, json.loads(b) if b else None
        except ValueError:
            fail(f"{method} {path}: not JSON: {tap.shorten(b)!r}")

    def state(self):
        return self.j("GET", "/_lab/state", want=200)[1]

    def cs_token(self):
        _, b = self.j("POST", "/oauth2/token", form={"client_id": "lab-client",
                                                     "client_secret": "lab-secret"}, want=201)
        return {"Authorization": "Bearer " + b["access_token"]}

    def ms_token(self, scope):
        _, b = self.j("POST", "/lab-tenant/oauth2/v2.0/token",
                      form={"grant_type": "client_credentials", "client_id": "lab-client",
                            "client_secret": "lab-secret", "scope": scope}, want=200)
        return {"Authorization": "Bearer " + b["access_token"]}

    def cy_token(self, secret="lab-secret", exp_in=600):
        def b64(d):
            return base64.urlsafe_b64encode(d).rstrip(b"=")
        now = int(time.time())
        head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        claims = b64(json.dumps({"exp": now + exp_in, "iat": now, "iss": "http://cylance.com",
                                 "sub": "lab-app", "tid": "lab-tenant",
                                 "jti": str(uuid.uuid4())}).encode())
        sig = b64(hmac.new(secret.encode(), head + b"." + claims, hashlib.sha256).digest())
        return (head + b"." + claims + b"." + sig).decode()


CB = {"X-Auth-Token": "lab-key/lab-id"}
SPLUNK = {"Authorization": "Basic " + base64.b64encode(b"lab-user:lab-password").decode()}
ES = {"Authorization": "ApiKey " + base64.b64encode(b"lab-id:lab-key").decode()}
VT = {"x-apikey": "lab-key"}
OKTA = {"Authorization": "SSWS lab-token"}
MISP = {"Authorization": "lab-key", "Accept": "application/json"}


# --- start, stop, determinism --------------------------------------------------------------


@test
def starts_prints_url_and_stops_on_sigterm(t):
    lab = Lab(t)
    check(lab.url.startswith("http://127.0.0.1:"), f"URL line: {lab.url!r}")
    s, _, _ = lab.req("GET", "/_lab/state")
    eq(s, 200, "state")
    lab.proc.send_signal(signal.SIGTERM)
    eq(lab.proc.wait(timeout=10), 0, "exit status after SIGTERM")


@test
def bad_options_are_usage_errors(t):
    eq(t.riposte("lab", "--seed", "x").code, 2, "bad seed")
    eq(t.riposte("lab", "--listen", "nowhere").code, 2, "bad listen")
    eq(t.riposte("lab", "--bogus", "1").code, 2, "unknown option")


@test
def same_seed_same_org_other_seed_other_org(t):
    a, b, c = Lab(t, "--seed", "7", "--base-time", "1735689600"), \
        Lab(t, "--seed", "7", "--base-time", "1735689600"), Lab(t, "--seed", "8")
    sa, sb, sc = a.state(), b.state(), c.state()
    for s in (sa, sb, sc):
        s.pop("url")
    eq(sa, sb, "state of two labs with seed 7")
    check(sa["hosts"] != sc["hosts"], "seed 8 gives other hosts")
    eq(len(sa["hosts"]), 50, "hosts")
    eq(len(sa["users"]), 100, "users")
    check(len(sa["phish"]["mailboxes"]) >= 3, "the phishing mail is in several mailboxes")
    ha, hb = a.cs_token(), b.cs_token()
    _, da = a.j("GET", "/detects/queries/detects/v1?limit=500", headers=ha, want=200)
    _, db = b.j("GET", "/detects/queries/detects/v1?limit=500", headers=hb, want=200)
    eq(da["resources"], db["resources"], "detection ids")
    shas = {}
    for d in sa["detections"]:
        shas.setdefault(d["sha256"], set()).add(d["host"])
    check(any(len(v) > 1 for v in shas.values()), "some hash seen on several hosts")


# --- CrowdStrike -------------------------------------------------------------------------------


@test
def crowdstrike_auth_detections_contain_iocs(t):
    lab = Lab(t)
    s, b = lab.j("POST", "/oauth2/token", form={"client_id": "lab-client",
                                                "client_secret": "nope"})
    eq(s, 403, "wrong secret")
    check(b["errors"][0]["code"] == 403 and "meta" in b, f"error envelope: {b}")
    eq(lab.j("GET", "/devices/queries/devices/v1")[0], 401, "no token")
    h = lab.cs_token()
    _, ids = lab.j("GET", "/detects/queries/detects/v1?limit=5", headers=h, want=200)
    eq(len(ids["resources"]), 5, "5 detection ids")
    eq(ids["meta"]["pagination"]["total"], 30, "30 detections")
    _, det = lab.j("POST", "/detects/entities/summaries/GET/v1",
                   body={"ids": ids["resources"][:2]}, headers=h, want=200)
    d = det["resources"][0]
    for k in ("detection_id", "device", "behaviors", "max_severity", "status"):
        check(k in d, f"detection has {k}: {d.keys()}")
    sha = d["behaviors"][0]["sha256"]
    _, ran = lab.j("GET", f"/indicators/queries/devices/v1?type=sha256&value={sha}", headers=h,
                   want=200)
    check(d["device"]["device_id"] in ran["resources"], "the detection's host ran its hash")
    _, ran2 = lab.j("GET", f"/iocs/queries/indicators/devices/v1?type=sha256&value={sha}",
                    headers=h, want=200)
    eq(ran2["resources"], ran["resources"], "current and legacy IOC device queries agree")
    host = d["device"]["hostname"]
    q = urllib.parse.quote(f"hostname:'{host}'")
    _, found = lab.j("GET", f"/devices/queries/devices/v1?filter={q}", headers=h, want=200)
    aid = found["resources"][0]
    s, act = lab.j("POST", "/devices/entities/devices-actions/v2?action_name=contain",
                   body={"ids": [aid]}, headers=h)
    eq(s, 202, "contain")
    eq(act["resources"][0]["id"], aid, "contain resource")
    _, dev = lab.j("GET", f"/devices/entities/devices/v2?ids={aid}", headers=h, want=200)
    eq(dev["resources"][0]["status"], "contained", "host view after contain")
    check(host in lab.state()["contained"], "state lists the contained host")
    lab.j("POST", "/devices/entities/devices-actions/v2?action_name=lift_containment",
          body={"ids": [aid]}, headers=h, want=202)
    _, dev = lab.j("POST", "/devices/entities/devices/v2", body={"ids": [aid]}, headers=h,
                   want=200)
    eq(dev["resources"][0]["status"], "normal", "host view after lift")
    eq(lab.j("POST", "/devices/entities/devices-actions/v2?action_name=explode",
             body={"ids": [aid]}, headers=h)[0], 400, "bad action")
    eq(lab.j("POST", "/devices/entities/devices-actions/v2?action_name=contain",
             body="{not json", headers=h)[0], 400, "bad JSON")
    s, ioc = lab.j("POST", "/iocs/entities/indicators/v1", headers=h, body={
        "comment": "lab", "indicators": [{"type": "sha256", "value": sha, "action": "prevent",
                                          "severity": "high", "platforms": ["windows"]}]})
    eq(s, 201, "IOC created")
    _, lst = lab.j("GET", "/iocs/queries/indicators/v1", headers=h, want=200)
    eq(lst["resources"], [ioc["resources"][0]["id"]], "IOC listed")
    eq(lab.j("POST", "/iocs/entities/indicators/v1", headers=h, body={
        "indicators": [{"type": "sha256", "value": sha, "action": "prevent"}]})[0], 400,
       "duplicate IOC")
    _, al = lab.j("GET", "/alerts/queries/alerts/v2?limit=2", headers=h, want=200)
    _, ad = lab.j("POST", "/alerts/entities/alerts/v2", body={"composite_ids": al["resources"]},
                  headers=h, want=200)
    eq(len(ad["resources"]), 2, "alerts by composite id")


@test
def crowdstrike_token_expires(t):
    lab = Lab(t, "--token-ttl", "1")
    h = lab.cs_token()
    eq(lab.j("GET", "/devices/queries/devices/v1", headers=h)[0], 200, "fresh token")
    time.sleep(1.5)
    eq(lab.j("GET", "/devices/queries/devices/v1", headers=h)[0], 401, "expired token")


# --- Carbon Black --------------------------------------------------------------------------------


@test
def carbonblack_alerts_devices_quarantine_process_search(t):
    lab = Lab(t)
    base = "/appservices/v6/orgs/LABORG01"
    eq(lab.j("POST", base + "/devices/_search", body={},
             headers={"X-Auth-Token": "bad/lab-id"})[0], 401, "bad key")
    _, al = lab.j("POST", "/api/alerts/v7/orgs/LABORG01/alerts/_search",
                  body={"criteria": {}, "rows": 5}, headers=CB, want=200)
    eq(al["num_found"], 30, "alerts found")
    a = al["results"][0]
    for k in ("id", "device_id", "process_sha256", "workflow"):
        check(k in a, f"alert has {k}")
    _, dv = lab.j("POST", base + "/devices/_search",
                  body={"criteria": {"id": [a["device_id"]]}}, headers=CB, want=200)
    eq(dv["num_found"], 1, "device by id")
    dev = dv["results"][0]
    eq(dev["quarantined"], False, "not quarantined")
    s, _, _ = lab.req("POST", base + "/device_actions", body={
        "action_type": "QUARANTINE", "device_id": [dev["id"]], "options": {"toggle": "ON"}},
        headers=CB)
    eq(s, 204, "quarantine")
    _, d2 = lab.j("GET", f"{base}/devices/{dev['id']}", headers=CB, want=200)
    eq(d2["quarantined"], True, "device shows quarantined")
    lab.req("POST", base + "/device_actions", body={
        "action_type": "QUARANTINE", "device_id": [dev["id"]], "options": {"toggle": "OFF"}},
        headers=CB)
    eq(lab.j("GET", f"{base}/devices/{dev['id']}", headers=CB)[1]["quarantined"], False,
       "released")
    pbase = "/api/investigate/v2/orgs/LABORG01/processes/search_jobs"
    _, job = lab.j("POST", pbase, body={"query": "process_hash:" + a["process_sha256"],
                                        "rows": 10}, headers=CB, want=200)
    _, p1 = lab.j("GET", f"{pbase}/{job['job_id']}/results?start=0&rows=0", headers=CB, want=200)
    check(p1["completed"] < p1["contacted"], "first poll: still running")
    _, p2 = lab.j("GET", f"{pbase}/{job['job_id']}/results?start=0&rows=10", headers=CB,
                  want=200)
    eq(p2["completed"], p2["contacted"], "second poll: complete")
    check(any(r["device_id"] == a["device_id"] for r in p2["results"]),
          "the alert's device ran the hash")


# --- Cylance -------------------------------------------------------------------------------------


@test
def cylance_jwt_threats_lockdown_globallist(t):
    lab = Lab(t)
    eq(lab.j("POST", "/auth/v2/token", body={"auth_token": lab.cy_token("wrong")})[0], 401,
       "bad signature")
    eq(lab.j("POST", "/auth/v2/token", body={"auth_token": lab.cy_token(exp_in=-10)})[0], 401,
       "expired JWT")
    _, tok = lab.j("POST", "/auth/v2/token", body={"auth_token": lab.cy_token()}, want=200)
    h = {"Authorization": "Bearer " + tok["access_token"]}
    _, th = lab.j("GET", "/threats/v2?page=1&page_size=5", headers=h, want=200)
    eq(th["page_size"], 5, "page size")
    check(len(th["page_items"]) == 5 and "sha256" in th["page_items"][0], "threat items")
    sha = th["page_items"][0]["sha256"]
    _, dv = lab.j("GET", f"/threats/v2/{sha}/devices", headers=h, want=200)
    check(dv["page_items"], "devices with the threat")
    dev = dv["page_items"][0]["id"]
    s, _, _ = lab.req("PUT", f"/devicecommands/v2/{dev.replace('-', '').upper()}/lockdown"
                      "?value=true&expires=1:00:00", headers=h)
    eq(s, 200, "lockdown")
    eq(lab.j("GET", f"/devices/v2/{dev}", headers=h)[1]["lockdown"], True, "device locked down")
    s, _, _ = lab.req("POST", "/globallists/v2", headers=h, body={
        "sha256": sha, "list_type": "GlobalQuarantine", "reason": "lab"})
    eq(s, 200, "global quarantine")
    s, _, b = lab.req("POST", "/globallists/v2", headers=h, body={
        "sha256": sha, "list_type": "GlobalQuarantine", "reason": "lab"})
    eq(s, 409, "duplicate")
    contains(b.decode(), "There's already an entry for this threat", "duplicate text")
    _, gl = lab.j("GET", "/globallists/v2?listTypeId=0", headers=h, want=200)
    eq([i["sha256"].lower() for i in gl["page_items"]], [sha.lower()], "global list")
    eq(lab.j("GET", f"/threats/v2/{sha}", headers=h)[1]["global_quarantined"], True,
       "threat shows quarantined")


# --- Defender and Graph ----------------------------------------------------------------------------


@test
def microsoft_tokens(t):
    lab = Lab(t)
    s, b = lab.j("POST", "/lab-tenant/oauth2/v2.0/token", form={
        "grant_type": "client_credentials", "client_id": "lab-client", "client_secret": "x",
        "scope": "https://graph.microsoft.com/.default"})
    eq(s, 401, "wrong secret")
    eq(b["error"], "invalid_client", "error code")
    s, b = lab.j("POST", "/lab-tenant/oauth2/v2.0/token", form={
        "grant_type": "client_credentials", "client_id": "lab-client",
        "client_secret": "lab-secret", "scope": "https://graph.microsoft.com"})
    eq(s, 400, "scope without /.default")
    s, b = lab.j("POST", "/lab-tenant/oauth2/token", form={
        "grant_type": "client_credentials", "client_id": "lab-client",
        "client_secret": "lab-secret", "resource": "https://api.securitycenter.microsoft.com"})
    eq(s, 200, "v1 endpoint")
    g = lab.ms_token("https://graph.microsoft.com/.default")
    eq(lab.j("GET", "/api/machines", headers=g)[0], 401, "graph token on Defender")
    eq(lab.j("GET", "/v1.0/users", headers=g)[0], 200, "graph token on Graph")


@test
def defender_alerts_files_isolate_indicators(t):
    lab = Lab(t)
    h = lab.ms_token("https://api.securitycenter.microsoft.com/.default")
    _, al = lab.j("GET", "/api/alerts?$top=3", headers=h, want=200)
    eq(len(al["value"]), 3, "$top")
    a = al["value"][0]
    sha = a["evidence"][0]["sha256"]
    _, ms = lab.j("GET", f"/api/files/{sha}/machines", headers=h, want=200)
    check(any(m["id"] == a["machineId"] for m in ms["value"]), "machine saw the file")
    mid = a["machineId"]
    s, act = lab.j("POST", f"/api/machines/{mid}/isolate",
                   body={"Comment": "lab", "IsolationType": "Full"}, headers=h)
    eq(s, 201, "isolate")
    eq((act["type"], act["status"]), ("Isolate", "Pending"), "machine action")
    eq(lab.j("GET", f"/api/machineactions/{act['id']}", headers=h)[1]["status"], "Succeeded",
       "action later")
    eq(lab.j("GET", f"/api/machines/{mid}", headers=h)[1]["isolationState"], "Isolated",
       "machine isolated")
    eq(lab.j("POST", f"/api/machines/{mid}/isolate", body={}, headers=h)[0], 400,
       "Comment required")
    lab.j("POST", f"/api/machines/{mid}/unisolate", body={"Comment": "done"}, headers=h, want=201)
    eq(lab.j("GET", f"/api/machines/{mid}", headers=h)[1]["isolationState"], "NotIsolated",
       "released")
    lab.j("POST", "/api/indicators", headers=h, want=200, body={
        "indicatorValue": sha, "indicatorType": "FileSha256", "action": "AlertAndBlock",
        "title": "lab", "severity": "High"})
    _, ind = lab.j("GET", "/api/indicators", headers=h, want=200)
    eq([i["indicatorValue"] for i in ind["value"]], [sha], "indicator listed")
    q = urllib.parse.quote(f"computerDnsName eq '{a['computerDnsName']}'")
    _, f = lab.j("GET", f"/api/machines?$filter={q}", headers=h, want=200)
    eq(len(f["value"]), 1, "$filter on machines")


@test
def graph_mail_search_delete_sessions_password(t):
    lab = Lab(t)
    g = lab.ms_token("https://graph.microsoft.com/.default")
    st = lab.state()["phish"]
    imid = st["internetMessageId"]
    hits = []
    for box in st["mailboxes"]:
        q = urllib.parse.quote(f"internetMessageId eq '{imid}'")
        _, r = lab.j("GET", f"/v1.0/users/{box}/messages?$filter={q}", headers=g, want=200)
        eq(len(r["value"]), 1, f"phish in {box}")
        eq(r["value"][0]["from"]["emailAddress"]["address"], st["from"], "sender")
        hits.append((box, r["value"][0]["id"]))
    q = urllib.parse.quote('"subject:' + st["subject"].split()[0] + '"')
    _, r = lab.j("GET", f"/v1.0/users/{hits[0][0]}/messages?$search={q}", headers=g, want=200)
    check(r["value"], "$search by subject")
    box, mid = hits[0]
    s, _, _ = lab.req("DELETE", f"/v1.0/users/{box}/messages/{mid}", headers=g)
    eq(s, 204, "delete")
    q = urllib.parse.quote(f"internetMessageId eq '{imid}'")
    _, r = lab.j("GET", f"/v1.0/users/{box}/messages?$filter={q}", headers=g, want=200)
    eq(r["value"], [], "deleted mail gone from search")
    eq(lab.state()["phish"]["live"], len(hits) - 1, "state counts the deletion")
    _, r = lab.j("POST", f"/v1.0/users/{box}/revokeSignInSessions", headers=g, want=200)
    eq(r["value"], True, "revoke")
    s, _, _ = lab.req("PATCH", f"/v1.0/users/{box}", headers=g, body={
        "passwordProfile": {"password": "N3w-Passw0rd!", "forceChangePasswordNextSignIn": True}})
    eq(s, 204, "password reset")
    u = [x for x in lab.state()["users"] if x["login"] == box][0]
    eq((u["graph_sessions_revoked"], u["graph_password_changes"]), (1, 1), "user state")
    eq(lab.j("GET", "/v1.0/users/nobody@corp.example", headers=g)[0], 404, "unknown user")


# --- Splunk, Elastic ------------------------------------------------------------------------------


@test
def splunk_job_lifecycle_and_notable_update(t):
    lab = Lab(t)
    bad = {"Authorization": "Basic " + base64.b64encode(b"lab-user:x").decode()}
    s, b = lab.j("POST", "/services/search/jobs?output_mode=json", form={"search": "search *"},
                 headers=bad)
    eq(s, 401, "bad password")
    contains(b["messages"][0]["text"], "not properly authenticated", "Splunk 401 text")
    s, _, x = lab.req("POST", "/services/search/jobs", form={"search": "search index=notable"},
                      headers=SPLUNK)
    eq(s, 201, "XML create")
    contains(x.decode(), "<sid>", "XML sid")
    _, j = lab.j("POST", "/services/search/jobs", headers=SPLUNK, want=201, form={
        "search": "search index=notable urgency=*", "output_mode": "json"})
    sid = j["sid"]
    eq(lab.req("GET", f"/services/search/jobs/{sid}/results?output_mode=json",
               headers=SPLUNK)[0], 204, "results before DONE")
    states = []
    for _ in range(4):
        _, st = lab.j("GET", f"/services/search/jobs/{sid}?output_mode=json", headers=SPLUNK,
                      want=200)
        states.append(st["entry"][0]["content"]["dispatchState"])
    eq(states[-1], "DONE", f"job reaches DONE ({states})")
    _, res = lab.j("GET", f"/services/search/jobs/{sid}/results?output_mode=json&count=0",
                   headers=SPLUNK, want=200)
    eq(len(res["results"]), 30, "all notables")
    ev = res["results"][0]["event_id"]
    _, up = lab.j("POST", "/services/notable_update", headers={"Authorization": "Bearer lab-token"},
                  form={"ruleUIDs": [ev], "status": "5", "comment": "closed by lab"}, want=200)
    eq(up["success"], True, "notable_update")
    _, j = lab.j("POST", "/services/search/jobs", headers=SPLUNK, want=201, form={
        "search": f"search event_id={ev}", "output_mode": "json", "exec_mode": "blocking"})
    _, res = lab.j("GET", f"/services/search/jobs/{j['sid']}/results?output_mode=json",
                   headers=SPLUNK, want=200)
    eq(res["results"][0]["status"], "5", "the notable's status changed")


@test
def elastic_search_and_status(t):
    lab = Lab(t)
    eq(lab.j("POST", "/.alerts-security.alerts-default/_search", body={},
             headers={"Authorization": "ApiKey bm9wZQ=="})[0], 401, "bad key")
    _, r = lab.j("POST", "/.alerts-security.alerts-*/_search", headers=ES, want=200, body={
        "query": {"bool": {"filter": [{"term": {"kibana.alert.workflow_status": "open"}}]}},
        "size": 5})
    eq(r["hits"]["total"]["value"], 30, "open alerts")
    hit = r["hits"]["hits"][0]
    eq(lab.j("POST", "/api/detection_engine/signals/status", headers=ES,
             body={"signal_ids": [hit["_id"]], "status": "closed"})[0], 400, "no kbn-xsrf")
    _, u = lab.j("POST", "/s/default/api/detection_engine/signals/status",
                 headers=dict(ES, **{"kbn-xsrf": "true"}),
                 body={"signal_ids": [hit["_id"]], "status": "closed"}, want=200)
    eq(u["updated"], 1, "updated")
    _, r = lab.j("POST", "/.alerts-security.alerts-default/_search", headers=ES, want=200, body={
        "query": {"term": {"kibana.alert.workflow_status": "closed"}}})
    eq([h["_id"] for h in r["hits"]["hits"]], [hit["_id"]], "closed alert found")
    eq(lab.j("POST", "/nosuchindex/_search", headers=ES, body={})[0], 404, "unknown index")
    eq(lab.j("POST", "/.alerts-security.alerts-default/_search", headers=ES,
             body="{bad")[0], 400, "bad JSON")


# --- threat intel ------------------------------------------------------------------------------------


@test
def virustotal_and_abuseipdb(t):
    lab = Lab(t)
    intel = lab.state()["intel"]
    bad_file = next(i["value"] for i in intel if i["kind"] == "file" and i["malicious"])
    eq(lab.j("GET", f"/api/v3/files/{bad_file}", headers={"x-apikey": "no"})[0], 401, "bad key")
    _, r = lab.j("GET", f"/api/v3/files/{bad_file}", headers=VT, want=200)
    check(r["data"]["attributes"]["last_analysis_stats"]["malicious"] > 0, "malicious file")
    s, r = lab.j("GET", "/api/v3/files/" + "0" * 64, headers=VT)
    eq((s, r["error"]["code"]), (404, "NotFoundError"), "unknown file")
    url = next(i["value"] for i in intel if i["kind"] == "url" and i["malicious"])
    uid = base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")
    _, r = lab.j("GET", f"/api/v3/urls/{uid}", headers=VT, want=200)
    check(r["data"]["attributes"]["last_analysis_stats"]["malicious"] > 0, "malicious URL")
    _, r = lab.j("GET", "/api/v3/domains/github.com", headers=VT, want=200)
    eq(r["data"]["attributes"]["last_analysis_stats"]["malicious"], 0, "harmless domain")
    ip = next(i["value"] for i in intel if i["kind"] == "ip" and i["malicious"])
    _, r = lab.j("GET", f"/api/v3/ip_addresses/{ip}", headers=VT, want=200)
    eq(r["data"]["type"], "ip_address", "ip type")
    eq(lab.j("GET", f"/api/v2/check?ipAddress={ip}", headers={"Key": "no"})[0], 401, "bad key")
    _, r = lab.j("GET", f"/api/v2/check?ipAddress={ip}&maxAgeInDays=90",
                 headers={"Key": "lab-key", "Accept": "application/json"}, want=200)
    check(r["data"]["abuseConfidenceScore"] >= 60, "malicious IP scores high")
    _, r = lab.j("GET", "/api/v2/check?ipAddress=10.20.1.5", headers={"Key": "lab-key"},
                 want=200)
    eq((r["data"]["isPublic"], r["data"]["abuseConfidenceScore"]), (False, 0), "private IP")
    eq(lab.j("GET", "/api/v2/check?ipAddress=nope", headers={"Key": "lab-key"})[0], 422,
       "invalid IP")


@test
def misp_search_sighting_attribute(t):
    lab = Lab(t)
    eq(lab.j("POST", "/attributes/restSearch", body={}, headers={"Authorization": "x"})[0], 403,
       "bad key")
    ip = next(i["value"] for i in lab.state()["intel"] if i["kind"] == "ip" and i["malicious"])
    _, r = lab.j("POST", "/attributes/restSearch", headers=MISP, want=200,
                 body={"returnFormat": "json", "value": ip})
    a = r["response"]["Attribute"]
    eq(len(a), 1, "attribute by value")
    check("Event" in a[0], "with its event")
    lab.j("POST", "/sightings/add", headers=MISP, want=200, body={"value": ip, "source": "lab"})
    _, r = lab.j("POST", "/attributes/restSearch", headers=MISP, want=200,
                 body={"value": ip, "includeSightings": True})
    eq(len(r["response"]["Attribute"][0]["Sighting"]), 1, "sighting returned")
    _, r = lab.j("POST", "/attributes/add/2", headers=MISP, want=200, body={
        "type": "ip-dst", "value": "192.0.2.77", "category": "Network activity", "to_ids": True})
    eq(r["Attribute"]["value"], "192.0.2.77", "attribute added")
    _, r = lab.j("POST", "/attributes/restSearch", headers=MISP, want=200,
                 body={"value": "192.0.2.77"})
    eq(len(r["response"]["Attribute"]), 1, "added attribute found")
    eq(lab.j("POST", "/attributes/add/99", headers=MISP, body={"type": "ip-dst",
                                                               "value": "1.2.3.4"})[0], 404,
       "unknown event")


# --- Okta, webhooks -----------------------------------------------------------------------------------


@test
def okta_find_reset_suspend_sessions(t):
    lab = Lab(t)
    s, b = lab.j("GET", "/api/v1/users", headers={"Authorization": "SSWS nope"})
    eq((s, b["errorCode"]), (401, "E0000011"), "bad token")
    login = lab.state()["users"][3]["login"]
    q = urllib.parse.quote(f'profile.login eq "{login}"')
    _, us = lab.j("GET", f"/api/v1/users?search={q}", headers=OKTA, want=200)
    eq([u["profile"]["login"] for u in us], [login], "search by login")
    uid = us[0]["id"]
    s, h, _ = lab.req("GET", "/api/v1/users?limit=10", headers=OKTA)
    contains(h.get("link", ""), 'rel="next"', "Link header")
    _, r = lab.j("POST", f"/api/v1/users/{uid}/lifecycle/reset_password?sendEmail=false",
                 headers=OKTA, want=200)
    check("resetPasswordUrl" in r, "reset URL")
    eq(lab.j("GET", f"/api/v1/users/{uid}", headers=OKTA)[1]["status"], "RECOVERY", "recovery")
    eq(lab.j("POST", f"/api/v1/users/{uid}/lifecycle/suspend", headers=OKTA)[1]["errorCode"],
       "E0000001", "cannot suspend a non-active user")
    other = lab.state()["users"][5]["okta_id"]
    lab.j("POST", f"/api/v1/users/{other}/lifecycle/suspend", headers=OKTA, want=200)
    eq(lab.j("GET", f"/api/v1/users/{other}", headers=OKTA)[1]["status"], "SUSPENDED",
       "suspended")
    eq(lab.req("DELETE", f"/api/v1/users/{other}/sessions", headers=OKTA)[0], 204, "sessions")
    u = [x for x in lab.state()["users"] if x["okta_id"] == other][0]
    eq((u["okta_status"], u["okta_sessions_cleared"]), ("SUSPENDED", 1), "state")
    eq(lab.j("GET", "/api/v1/users/00unope", headers=OKTA)[1]["errorCode"], "E0000007",
       "unknown user")


@test
def slack_and_teams_webhooks(t):
    lab = Lab(t)
    s, _, b = lab.req("POST", "/services/T0LAB/B0LAB/lab-webhook", body={"text": "hello SOC"})
    eq((s, b), (200, b"ok"), "slack ok")
    eq(lab.req("POST", "/services/T0LAB/B0LAB/wrong", body={"text": "x"})[0], 403, "bad secret")
    eq(lab.req("POST", "/services/T0LAB/B0LAB/lab-webhook", body={})[2], b"no_text", "no text")
    eq(lab.req("POST", "/services/T0LAB/B0LAB/lab-webhook", body="{x")[2], b"invalid_payload",
       "bad JSON")
    s, _, b = lab.req("POST", "/webhookb2/lab/IncomingWebhook/lab-webhook", body={
        "@type": "MessageCard", "summary": "case 1", "text": "contained WS-1"})
    eq((s, b), (200, b"1"), "teams ok")
    eq(lab.req("POST", "/webhookb2/lab", body={"@type": "MessageCard"})[0], 400,
       "summary or text")
    hooks = lab.state()["webhooks"]
    eq([(h["kind"], h["body"].get("text")) for h in hooks],
       [("slack", "hello SOC"), ("teams", "contained WS-1")], "recorded messages")


# --- controls --------------------------------------------------------------------------------------


def arm(lab, **f):
    _, r = lab.j("POST", "/_lab/faults", body=f, want=201)
    return r


@test
def faults_hit_exactly_count_requests(t):
    lab = Lab(t)
    h = lab.cs_token()
    path = "/devices/queries/devices/v1"
    arm(lab, path=path, method="GET", kind="500", count=2)
    got = [lab.req("GET", path, headers=h)[0] for _ in range(3)]
    eq(got, [500, 500, 200], "500 twice then normal")
    arm(lab, path=path, kind="429", count=1, retry_after=7)
    s, hd, _ = lab.req("GET", path, headers=h)
    eq((s, hd.get("retry-after")), (429, "7"), "429 with Retry-After")
    eq(lab.req("GET", path, headers=h)[0], 200, "then normal")
    arm(lab, path=path, kind="slow", count=1, delay_ms=800)
    t0 = time.monotonic()
    eq(lab.req("GET", path, headers=h)[0], 200, "slow still answers")
    check(time.monotonic() - t0 >= 0.7, "slow took its delay")
    t0 = time.monotonic()
    lab.req("GET", path, headers=h)
    check(time.monotonic() - t0 < 0.7, "the next one is fast")
    arm(lab, path=path, kind="malformed", count=1)
    s, _, b = lab.req("GET", path, headers=h)
    eq(s, 200, "malformed status")
    try:
        json.loads(b)
        fail(f"malformed body parsed as JSON: {b!r}")
    except ValueError:
        pass
    json.loads(lab.req("GET", path, headers=h)[2])
    arm(lab, path=path, kind="close", count=1)
    try:
        lab.req("GET", path, headers=h)
        fail("close fault: got an answer")
    except (http.client.HTTPException, ConnectionError, socket.error):
        pass
    eq(lab.req("GET", path, headers=h)[0], 200, "after close")
    arm(lab, path="/api/v3/files/*", kind="500", count=5)
    eq(lab.req("GET", "/api/v3/files/abc", headers=VT)[0], 500, "glob path")
    s, r = lab.j("DELETE", "/_lab/faults", want=200)
    eq(r["cleared"], 1, "one fault left to clear")
    eq(lab.req("GET", "/api/v3/files/abc", headers=VT)[0], 404, "cleared")
    eq(lab.j("POST", "/_lab/faults", body={"path": "/x", "kind": "boom"})[0], 400, "bad kind")


@test
def request_log_masks_secrets(t):
    lab = Lab(t)
    lab.cs_token()
    lab.req("GET", "/api/v3/domains/github.com", headers=VT)
    lab.req("GET", "/api/v2/check?ipAddress=8.8.8.8&key=lab-key")
    lab.req("GET", "/api/v1/users", headers=OKTA)
    lab.req("POST", "/auth/v2/token", body={"auth_token": lab.cy_token()})
    _, log = lab.j("GET", "/_lab/requests?since=0", want=200)
    reqs = log["requests"]
    eq(len(reqs), 5, "five requests logged")
    text = json.dumps(reqs)
    for secret in ("lab-secret", "lab-key", "lab-token", "eyJ"):
        check(secret not in text, f"{secret} absent from the log: {tap.shorten(text)}")
    eq(reqs[0]["path"], "/oauth2/token", "path")
    eq(reqs[0]["status"], 201, "status")
    contains(reqs[0]["body"], "client_secret=***", "masked form field")
    eq(reqs[3]["headers"].get("Authorization"), "SSWS ***", "scheme kept, token masked")
    contains(reqs[2]["query"], "key=***", "masked query argument")
    _, log2 = lab.j("GET", f"/_lab/requests?since={reqs[2]['seq']}", want=200)
    eq(len(log2["requests"]), 2, "since")


@test
def reset_restores_the_seed_state(t):
    lab = Lab(t)
    before = lab.state()
    h = lab.cs_token()
    aid = before["hosts"][0]["crowdstrike"]["device_id"]
    lab.j("POST", "/devices/entities/devices-actions/v2?action_name=contain",
          body={"ids": [aid]}, headers=h, want=202)
    okta = before["users"][0]["okta_id"]
    lab.j("POST", f"/api/v1/users/{okta}/lifecycle/suspend", headers=OKTA, want=200)
    check(lab.state() != before, "state changed")
    lab.j("POST", "/_lab/reset", want=200)
    eq(lab.state(), before, "state after reset")
    eq(lab.j("GET", "/devices/queries/devices/v1", headers=h)[0], 200, "tokens survive reset")


@test
def hostile_bodies(t):
    lab = Lab(t)
    h = lab.cs_token()
    s, _, _ = lab.req("POST", "/devices/entities/devices/v2", headers=h,
                      body="[" * 10000 + "]" * 10000)
    eq(s, 400, "deep nesting")
    with socket.create_connection((lab.host, lab.port), timeout=10) as so:
        so.sendall(b"POST /devices/entities/devices/v2 HTTP/1.1\r\nHost: lab\r\n"
                   b"Content-Type: application/json\r\nContent-Length: 2097152\r\n\r\n")
        head = so.recv(4096).decode("latin-1")
    contains(head.split("\r\n")[0], " 413 ", "over the body limit, refused before the body")
    eq(lab.req("GET", "/nowhere")[0], 404, "unknown path")
    eq(lab.req("GET", "/_lab/state")[0], 200, "still serving")


tap.main()
