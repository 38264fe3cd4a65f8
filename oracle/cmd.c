/* cmd.c - what the subcommands share. */
#include "cmd.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "progress.h"
#include "ref.h"
#include "report.h"

int no_cmd_usage_error(const char *msg)
{
    fprintf(stderr, "nodeoracle: %s (try 'nodeoracle help')\n", msg);
    no_report_error_json(msg); /* the error object, under --json */
    return NO_EXIT_USAGE;
}

void no_cmd_json_prescan(int argc, char **argv, const char *command,
                         const char *const *switches)
{
    static const char *const always[] = {"--quiet", "--help", "-h", NULL};
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            no_report_json_errors(command);
            continue;
        }
        int sw = 0;
        for (const char *const *s = always; *s && !sw; s++)
            sw = !strcmp(argv[i], *s);
        for (const char *const *s = switches; s && *s && !sw; s++)
            sw = !strcmp(argv[i], *s);
        if (!sw)
            i++; /* skip the option's value */
    }
}

int no_cmd_parse_prec(const char *v, long *prec)
{
    char *end;
    long p = v ? strtol(v, &end, 10) : 0;
    if (!v || !*v || *end || p < REF_PREC_MIN || p > REF_CERTIFY_PREC_MAX)
        return -1;
    *prec = p;
    return 0;
}

int no_cmd_parse_eta(const char *v, double *eta)
{
    char *end;
    double x = strtod(v, &end);
    if (!*v || *end || !isfinite(x) || !(x > 0)) {
        char msg[128];
        snprintf(msg, sizeof msg, "--eta: expected a finite number > 0, got '%.40s'", v);
        return no_cmd_usage_error(msg);
    }
    *eta = x;
    return 0;
}

int no_cmd_prec_error(const char *v)
{
    char msg[128];
    snprintf(msg, sizeof msg, "--prec: expected bits in [%d, %d], got '%.40s'", REF_PREC_MIN,
             REF_CERTIFY_PREC_MAX, v ? v : "");
    return no_cmd_usage_error(msg);
}

int no_cmd_parse_count(const char *f, const char *v, size_t lo, size_t hi, size_t *out,
                       char *err, size_t len)
{
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (!*v || *end || errno || x < (long long)lo || x > (long long)hi) {
        snprintf(err, len, "%s: expected an integer in [%zu, %zu], got '%.40s'", f, lo, hi, v);
        return -1;
    }
    *out = (size_t)x;
    return 0;
}

int no_cmd_parse_real(const char *f, const char *v, double lo, double hi, int open_lo,
                      double *out, char *err, size_t len)
{
    char *end;
    double x = strtod(v, &end);
    if (!*v || *end || !isfinite(x) || (open_lo ? !(x > lo) : !(x >= lo)) || !(x <= hi)) {
        snprintf(err, len, "%s: expected a number in %s%g, %g%s, got '%.40s'", f,
                 open_lo ? "(" : "[", lo, hi, hi < 1 ? ")" : "]", v);
        return -1;
    }
    *out = x;
    return 0;
}

int no_cmd_arg_common(const char *f, const char *v, int *json, int *quiet)
{
    if (!strcmp(f, "--help") || !strcmp(f, "-h"))
        return NO_CMD_ARG_HELP;
    if (!strcmp(f, "--json")) {
        *json = 1;
        return NO_CMD_ARG_SWITCH;
    }
    if (quiet && !strcmp(f, "--quiet")) {
        *quiet = 1;
        no_progress_enable(0);
        return NO_CMD_ARG_SWITCH;
    }
    if (!v)
        return no_cmd_usage_error(strncmp(f, "--", 2) ? "unexpected argument"
                                                       : "option needs a value");
    return NO_CMD_ARG_VALUE;
}

int no_cmd_parse_impl(const char *v, int *is_ref, char *err, size_t len)
{
    if (strcmp(v, "fast") && strcmp(v, "ref")) {
        snprintf(err, len, "--impl: expected fast or ref, got '%.40s'", v);
        return -1;
    }
    *is_ref = !strcmp(v, "ref");
    return 0;
}
