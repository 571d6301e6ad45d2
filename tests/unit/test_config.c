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
    {"sources:\n  edr: {fingerprint: [rule]}\n  edr: {fingerprint: [rule]}\n", "given twice"},
    {"- a\n- b\n", "must be a mapping"},
    {"db: \"unterminated\n", "b.yml:"},
    {"a: b: c\n", "b.yml:1:5"},
    {"syslog:\n  tls: 1\n", "b.yml:2:3: unknown key syslog.tls"},
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
        cmocka_unit_test(t_full),
        cmocka_unit_test(t_empty),
        cmocka_unit_test(t_errors),
        cmocka_unit_test(t_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
