/*
 * test_config.c: the YAML configuration: every key, and errors that point at
 * file:line:col.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void t_full(void **state)
{
    (void)state;
    const char *y = "# comment\n"
                    "db: /tmp/x.db\n"
                    "listen: 127.0.0.1:9000\n"
                    "log_level: debug\n"
                    "correlation:\n"
                    "  window: 2h\n"
                    "sources:\n"
                    "  edr:\n"
                    "    fingerprint: [rule, host.name, file.sha256]\n"
                    "  siem:\n"
                    "    fingerprint:\n"
                    "      - rule\n"
                    "syslog:\n"
                    "  udp: 127.0.0.1:5514\n"
                    "  tcp: '[::1]:5514'\n";
    struct config c;
    struct rp_error err;
    config_init(&c);
    assert_int_equal(c.correlate_window_ms, RP_CORRELATE_WINDOW_DEFAULT_MS);
    assert_int_equal(config_load_buffer(&c, "c.yml", y, strlen(y), &err), RP_OK);
    assert_string_equal(c.db_path, "/tmp/x.db");
    assert_string_equal(c.listen, "127.0.0.1:9000");
    assert_int_equal(c.log_level, LOG_DEBUG);
    assert_int_equal(c.correlate_window_ms, 2 * 3600 * 1000);
    assert_int_equal(c.nsources, 2);
    const struct config_source *s = config_source_find(&c, "edr");
    assert_non_null(s);
    assert_int_equal(s->nfields, 3);
    assert_string_equal(s->fields[2], "file.sha256");
    assert_non_null(config_source_find(&c, "siem"));
    assert_null(config_source_find(&c, "other"));
    assert_string_equal(c.syslog_udp, "127.0.0.1:5514");
    assert_string_equal(c.syslog_tcp, "[::1]:5514");
    config_fini(&c);
    config_fini(NULL);
}

static void t_empty(void **state)
{
    (void)state;
    struct config c;
    struct rp_error err;
    config_init(&c);
    assert_int_equal(config_load_buffer(&c, "e.yml", "", 0, &err), RP_OK);
    assert_null(c.db_path);
    assert_int_equal(config_load_buffer(&c, "e.yml", "# nothing\n", 10, &err), RP_OK);
    config_fini(&c);
}

static const struct {
    const char *yaml;
    const char *msg;
} BAD[] = {
    {"db: [1]\n", "b.yml:1:5: db: expected a non-empty string"},
    {"nope: 1\n", "b.yml:1:1: unknown key 'nope'"},
    {"correlation:\n  window: soon\n", "b.yml:2:11: correlation.window"},
    {"correlation:\n  windw: 1h\n", "b.yml:2:3: unknown key correlation.windw"},
    {"correlation:\n  window: 0s\n", "must be longer than zero"},
    {"log_level: loud\n", "b.yml:1:12: log_level"},
    {"sources:\n  edr:\n    fingerprint: [rule, host.nmae]\n",
     "b.yml:3:25: 'host.nmae' is not a field"},
    {"sources:\n  edr:\n    fingerprint: []\n", "empty list"},
    {"sources:\n  edr:\n    fp: [rule]\n", "unknown key under sources.edr"},
    {"sources:\n  edr: {fingerprint: [rule]}\n  edr: {fingerprint: [rule]}\n",
     "b.yml:3:3: key 'edr' appears twice (first on line 2)"},
    {"correlation:\n  window: 1h\n  window: 2h\n", "3:3: key 'window' appears twice"},
    {"syslog:\n  udp: 127.0.0.1:5514\n  udp: 127.0.0.1:5515\n", "key 'udp' appears twice"},
    {"sources:\n  edr: {fingerprint: [rule], fingerprint: [host.name]}\n",
     "2:30: key 'fingerprint' appears twice (first on line 2)"},
    {"kpi: {sla: {}, x: 1, sla: {}}\n", "key 'sla' appears twice"},
    {"connectors: {a: {type: smtp}}\ndb: x.db\nconnectors: {b: {type: smtp}}\n",
     "3:1: key 'connectors' appears twice (first on line 1)"},
    {"db: a.db\ndb: b.db\n", "key 'db' appears twice"},
    {"- a\n- b\n", "must be a mapping"},
    {"db: \"unterminated\n", "b.yml:"},
    {"a: b: c\n", "b.yml:1:5"},
    {"syslog:\n  tls: 1\n", "b.yml:2:3: unknown key syslog.tls"},
    /* detect.failed_logins */
    {"detect: []\n", "b.yml:1:9: detect: expected a mapping"},
    {"detect:\n  brute: []\n", "b.yml:2:3: unknown key detect.brute"},
    {"detect:\n  failed_logins: {name: a}\n", "b.yml:2:18: detect.failed_logins: expected a list"},
    {"detect:\n  failed_logins: [x]\n", "detect.failed_logins[1]: expected a mapping"},
    {"detect:\n  failed_logins:\n    - {threshold: 5, window: 10m}\n",
     "b.yml:3:7: detect.failed_logins[1]: name is required"},
    {"detect:\n  failed_logins:\n    - {name: a, window: 10m}\n", "threshold is required"},
    {"detect:\n  failed_logins:\n    - {name: a, threshold: 5}\n", "window is required"},
    {"detect:\n  failed_logins:\n    - {name: A b, threshold: 5, window: 10m}\n",
     "b.yml:3:14: detect.failed_logins[1].name: 1-64 of a-z"},
    {"detect:\n  failed_logins:\n    - {name: a, threshold: 0, window: 10m}\n",
     "b.yml:3:28: detect.failed_logins[1].threshold: an integer from 1 to 10000"},
    {"detect:\n  failed_logins:\n    - {name: a, threshold: 10001, window: 10m}\n",
     "threshold: an integer from 1 to 10000"},
    {"detect:\n  failed_logins:\n    - {name: a, threshold: 5x, window: 10m}\n",
     "threshold: an integer"},
    {"detect:\n  failed_logins:\n    - {name: a, threshold: 5, window: soon}\n",
     "detect.failed_logins[1].window: a duration"},
    {"detect:\n  failed_logins:\n    - {name: a, threshold: 5, window: 8d}\n",
     "window: must be longer than zero and at most 7d"},
    {"detect:\n  failed_logins:\n    - {name: a, threshold: 5, window: 1m, suppress: 0s}\n",
     "suppress: must be longer than zero"},
    {"detect:\n  failed_logins:\n    - {name: a, threshold: 5, window: 1m, group_by: host}\n",
     "group_by: one of user, device, user+device"},
    {"detect:\n  failed_logins:\n    - {name: a, threshold: 5, window: 1m, severity: 101}\n",
     "severity: 0-100 or one of info"},
    {"detect:\n  failed_logins:\n    - {name: a, threshold: 5, window: 1m, severity: huge}\n",
     "severity: 0-100"},
    {"detect:\n  failed_logins:\n    - {name: a, threshold: 5, window: 1m, windw: 1m}\n",
     "unknown key detect.failed_logins[1].windw"},
    {"detect:\n  failed_logins:\n    - {name: a, threshold: 5, window: 1m, window: 2m}\n",
     "b.yml:3:43: key 'window' appears twice (first on line 3)"},
    {"detect:\n  failed_logins:\n    - {name: a, threshold: 5, window: 1m}\n"
     "    - {name: a, threshold: 6, window: 1m}\n",
     "b.yml:4:7: detect.failed_logins[2]: name \"a\" is used twice"},
};

static void t_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(BAD) / sizeof(BAD[0]); i++) {
        struct config c;
        struct rp_error err;
        config_init(&c);
        c.correlate_window_ms = 12345;
        rp_status st = config_load_buffer(&c, "b.yml", BAD[i].yaml, strlen(BAD[i].yaml), &err);
        if (st != RP_E_INVALID)
            fail_msg("accepted: %s", BAD[i].yaml);
        if (strstr(err.msg, BAD[i].msg) == NULL)
            fail_msg("'%s': error '%s' does not say '%s'", BAD[i].yaml, err.msg, BAD[i].msg);
        assert_int_equal(c.correlate_window_ms, 12345); /* untouched on error */
        config_fini(&c);
    }
}

static void t_detect(void **state)
{
    (void)state;
    const char *y = "detect:\n"
                    "  failed_logins:\n"
                    "    - {name: ssh-brute, threshold: 5, window: 10m, group_by: user,\n"
                    "       severity: high, suppress: 30m}\n"
                    "    - name: spray.by-device\n"
                    "      threshold: 20\n"
                    "      window: 1h\n"
                    "      group_by: device\n"
                    "      severity: 55\n"
                    "    - {name: pair_1, threshold: 1, window: 7d, group_by: user+device}\n";
    struct config c;
    struct rp_error err;
    config_init(&c);
    assert_int_equal(c.ndetect, 0);
    if (config_load_buffer(&c, "d.yml", y, strlen(y), &err) != RP_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(c.ndetect, 3);
    assert_string_equal(c.detect[0].name, "ssh-brute");
    assert_int_equal(c.detect[0].threshold, 5);
    assert_int_equal(c.detect[0].window_ms, 600000);
    assert_int_equal(c.detect[0].group_by, CONFIG_GROUP_USER);
    assert_int_equal(c.detect[0].severity, 70);
    assert_int_equal(c.detect[0].suppress_ms, 1800000);
    assert_string_equal(c.detect[1].name, "spray.by-device");
    assert_int_equal(c.detect[1].group_by, CONFIG_GROUP_DEVICE);
    assert_int_equal(c.detect[1].severity, 55);
    assert_int_equal(c.detect[1].suppress_ms, 3600000); /* default: the window */
    assert_int_equal(c.detect[2].group_by, CONFIG_GROUP_USER_DEVICE);
    assert_int_equal(c.detect[2].threshold, 1);
    assert_int_equal(c.detect[2].window_ms, 7LL * 24 * 3600 * 1000);
    assert_int_equal(c.detect[2].severity, 70); /* default: high */
    /* an empty list is no rules */
    assert_int_equal(config_load_buffer(&c, "d.yml", "detect: {failed_logins: []}\n", 28, &err),
                     RP_OK);
    assert_int_equal(c.ndetect, 0);
    config_fini(&c);
}

static void t_file(void **state)
{
    (void)state;
    char path[] = "/tmp/riposte-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *y = "listen: 127.0.0.1:1234\n";
    assert_int_equal(write(fd, y, strlen(y)), (ssize_t)strlen(y));
    close(fd);
    struct config c;
    struct rp_error err;
    config_init(&c);
    assert_int_equal(config_load(&c, path, &err), RP_OK);
    assert_string_equal(c.listen, "127.0.0.1:1234");
    unlink(path);
    assert_int_equal(config_load(&c, path, &err), RP_E_IO);
    assert_non_null(strstr(err.msg, "No such file"));
    config_fini(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_full), cmocka_unit_test(t_empty),  cmocka_unit_test(t_errors),
        cmocka_unit_test(t_file), cmocka_unit_test(t_detect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
