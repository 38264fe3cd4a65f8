/* report.c - see report.h. */
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"

static const char *format_of(double u)
{
    return u == 0x1.0p-24 ? "float32" : u == 0x1.0p-8 ? "bfloat16" : u == 0x1.0p-53 ? "float64"
                                                                                     : "this";
}

/* The array names whose verdict is v, comma-separated. */
static void names_with(const no_cmp_report *rep, no_verdict v, char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = 0;
    for (int i = 0; i < rep->nrows && used < n; i++)
        if (rep->rows[i].verdict == v)
            used += (size_t)snprintf(buf + used, n - used, "%s%s", used ? "," : "",
                                     rep->rows[i].name);
}

/* Why rows could not be judged, in words: the first law forbids a pass, and
 * a user needs to know whether more precision or another problem helps. */
static void print_unjudged(FILE *f, const no_cmp_report *rep)
{
    char names[256];
    double worst_tol = 0, best_bits = INFINITY;
    int ref_out = 0;
    for (int i = 0; i < rep->nrows; i++) {
        const no_cmp_row *r = &rep->rows[i];
        if (r->verdict != NO_VERDICT_UNVERIFIABLE)
            continue;
        if ((r->bad.index >= 0 && r->bad.in_ref) || rep->tol.out_name[0])
            ref_out = 1;
        else
            worst_tol = isnan(r->tol) || r->tol > worst_tol ? r->tol : worst_tol;
        best_bits = fmin(best_bits, r->ref_bits);
    }
    names_with(rep, NO_VERDICT_UNVERIFIABLE, names, sizeof names);
    const char *fmt = format_of(rep->tol.u);
    if (names[0] && !ref_out)
        fprintf(f,
                "      unverifiable (%s): their tolerance %.3g exceeds %.3g (2^%d): this "
                "problem loses all %s digits (growth exp(Lambda)=exp(%.3g), kappa_r=%.3g); "
                "the reference at %ld bits is certified to %.1f bits, but no %s candidate can "
                "be judged\n",
                names, worst_tol, no_tol_meaningful_max(rep->tol.u),
                (int)log2(no_tol_meaningful_max(rep->tol.u)), fmt, rep->tol.lambda,
                rep->tol.kappa_r, rep->prec, best_bits, fmt);
    else if (names[0])
        fprintf(f,
                "      unverifiable (%s): the reference leaves the range a %s computation can "
                "hold: %s (flat index %ld) = %g (above %g, the square root of the format's overflow "
                "threshold); no %s output can be judged\n",
                names, fmt, rep->tol.out_name, rep->tol.out_index, rep->tol.out_value,
                no_tol_range_max(rep->tol.u), fmt);
    names_with(rep, NO_VERDICT_REF_WEAK, names, sizeof names);
    if (names[0]) {
        double need = 0, have = INFINITY;
        for (int i = 0; i < rep->nrows; i++)
            if (rep->rows[i].verdict == NO_VERDICT_REF_WEAK) {
                need = fmax(need, rep->rows[i].need_bits);
                have = fmin(have, rep->rows[i].ref_bits);
            }
        fprintf(f,
                "      ref too weak (%s): certified to %.1f bits at %ld bits of precision, "
                "the tolerance needs %.1f; the cap is %ld bits (raise --max-prec)\n",
                names, have, rep->prec, need, rep->prec_cap);
        if (rep->raise_note[0])
            fprintf(f, "      the raise %s\n", rep->raise_note);
    }
}

void no_report_print(FILE *f, const no_cmp_report *rep, int index, int total)
{
    char desc[256];
    no_spec_describe(&rep->spec, desc, sizeof desc);
    fprintf(f, "[%d/%d] %s\n", index, total, desc);
    fprintf(f, "      ref %ld bits", rep->prec);
    if (rep->prec_asked && rep->prec > rep->prec_asked)
        fprintf(f, " (raised from %ld to certify the bits the tolerances need)", rep->prec_asked);
    fprintf(f, " | tolerance model: Lambda=%.3g work=%.0f/%.0f kappa_r=%.3g\n", rep->tol.lambda,
            rep->tol.work_fwd, rep->tol.work_bwd, rep->tol.kappa_r);
    fprintf(f, "      %-10s %11s %11s %9s %8s %8s %9s  %s\n", "array", "max rel", "rms rel",
            "max ulps", "ref bits", "(min)", "tol", "verdict");
    for (int i = 0; i < rep->nrows; i++) {
        const no_cmp_row *r = &rep->rows[i];
        fprintf(f, "      %-10s %11.3e %11.3e %9.3g %8.1f %8.1f %9.2e  %s\n", r->name, r->max_rel,
                r->rms_rel, r->max_ulps, r->ref_bits, r->ref_min_bits, r->tol,
                no_verdict_name(r->verdict));
    }
    for (int i = 0; i < rep->nrows; i++) {
        const no_cmp_row *r = &rep->rows[i];
        if (r->bad.index < 0)
            continue;
        char where[128];
        no_compare_index_str(r, r->bad.index, where, sizeof where);
        fprintf(f, "      first non-finite value: %s %s = %g\n",
                r->bad.in_ref ? "reference" : "candidate", where, r->bad.value);
    }
    if (rep->outcome == NO_OUTCOME_UNJUDGED || !rep->pass)
        print_unjudged(f, rep);
}

/* ---- the JSON report (docs/check.md, "JSON report"; docs/report.schema.json) */

const char *no_report_verdict_token(no_verdict v)
{
    switch (v) {
    case NO_VERDICT_PASS:
        return "pass";
    case NO_VERDICT_FAIL:
        return "fail";
    case NO_VERDICT_NONFINITE:
        return "fail_nonfinite";
    case NO_VERDICT_MISSING:
        return "fail_missing";
    case NO_VERDICT_REF_WEAK:
        return "ref_too_weak";
    case NO_VERDICT_UNVERIFIABLE:
        return "unverifiable";
    }
    return "?";
}

const char *no_report_outcome_token(const no_cmp_report *rep)
{
    if (rep->outcome == NO_OUTCOME_PASS)
        return "pass";
    if (rep->outcome == NO_OUTCOME_FAIL)
        return "fail";
    for (int i = 0; i < rep->nrows; i++)
        if (rep->rows[i].verdict == NO_VERDICT_UNVERIFIABLE)
            return "unverifiable";
    for (int i = 0; i < rep->nrows; i++)
        if (rep->rows[i].verdict == NO_VERDICT_REF_WEAK)
            return "ref_too_weak";
    return "unverifiable";
}

int no_report_outcome_exit(no_outcome o)
{
    return o == NO_OUTCOME_PASS ? NO_EXIT_PASS : o == NO_OUTCOME_FAIL ? NO_EXIT_MISMATCH
                                                                      : NO_EXIT_UNJUDGED;
}

json_t *no_report_num(double x)
{
    /* JSON has no inf or NaN (json_real would return NULL and the member
     * would silently vanish): a non-finite number is null. */
    return isfinite(x) ? json_real(x) : json_null();
}

json_t *no_report_str(const char *s)
{
    json_t *j = json_string(s ? s : "");
    if (j)
        return j;
    /* not UTF-8 (a path's bytes, a message quoting them): each byte outside
     * printable ASCII becomes '?', so the member is never dropped */
    size_t n = strlen(s);
    char *t = malloc(n + 1);
    if (!t)
        return json_string("?");
    for (size_t i = 0; i <= n; i++)
        t[i] = i < n && ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e) ? '?' : s[i];
    j = json_string(t);
    free(t);
    return j;
}

json_t *no_report_json_new(const char *kind, const char *command)
{
    json_t *o = json_object();
    json_object_set_new(o, "schema", json_string(NO_REPORT_SCHEMA));
    json_object_set_new(o, "version", json_string(NODEORACLE_VERSION));
    json_object_set_new(o, "kind", json_string(kind));
    json_object_set_new(o, "command", json_string(command));
    return o;
}

void no_report_json_comparison(json_t *o, const no_cmp_report *rep)
{
    char desc[256];
    no_spec_describe(&rep->spec, desc, sizeof desc);
    json_object_set_new(o, "description", json_string(desc));
    json_object_set_new(o, "verdict", json_string(no_report_outcome_token(rep)));
    json_object_set_new(o, "exit_status", json_integer(no_report_outcome_exit(rep->outcome)));
    json_object_set_new(o, "scheme", json_string(no_scheme_name(rep->spec.scheme)));
    json_object_set_new(o, "reference_bits", json_integer(rep->prec));
    /* the precision first tried (golden's or --prec): smaller than
     * reference_bits when the reference was raised to certify enough bits */
    json_object_set_new(o, "reference_bits_asked", json_integer(rep->prec_asked));
    json_object_set_new(o, "reference_bits_cap", json_integer(rep->prec_cap));
    json_object_set_new(o, "raise_note",
                        rep->raise_note[0] ? json_string(rep->raise_note) : json_null());
    json_object_set_new(o, "meaningful_tol_max",
                        no_report_num(no_tol_meaningful_max(rep->tol.u)));
    json_t *tm = json_object();
    json_object_set_new(tm, "u", no_report_num(rep->tol.u));
    json_object_set_new(tm, "lambda", no_report_num(rep->tol.lambda));
    json_object_set_new(tm, "kappa_r", no_report_num(rep->tol.kappa_r));
    json_object_set_new(tm, "work_forward", no_report_num(rep->tol.work_fwd));
    json_object_set_new(tm, "work_backward", no_report_num(rep->tol.work_bwd));
    json_object_set_new(o, "tolerance_model", tm);
    json_t *arr = json_array();
    for (int i = 0; i < rep->nrows; i++) {
        const no_cmp_row *r = &rep->rows[i];
        json_t *a = json_object();
        json_object_set_new(a, "name", json_string(r->name));
        json_object_set_new(a, "verdict", json_string(no_report_verdict_token(r->verdict)));
        json_object_set_new(a, "max_rel", no_report_num(r->max_rel));
        json_object_set_new(a, "rms_rel", no_report_num(r->rms_rel));
        json_object_set_new(a, "max_ulps", no_report_num(r->max_ulps));
        json_object_set_new(a, "ref_bits", no_report_num(r->ref_bits));
        json_object_set_new(a, "ref_min_bits", no_report_num(r->ref_min_bits));
        json_object_set_new(a, "tol", no_report_num(r->tol));
        json_object_set_new(a, "need_bits", no_report_num(r->need_bits));
        if (r->bad.index >= 0) {
            char where[128];
            no_compare_index_str(r, r->bad.index, where, sizeof where);
            json_t *b = json_object();
            json_object_set_new(b, "in", json_string(r->bad.in_ref ? "reference" : "candidate"));
            json_object_set_new(b, "index", json_integer(r->bad.index));
            json_object_set_new(b, "where", json_string(where));
            json_object_set_new(b, "value", json_string(isnan(r->bad.value) ? "nan"
                                                        : r->bad.value > 0 ? "inf"
                                                                           : "-inf"));
            json_object_set_new(a, "first_nonfinite", b);
        } else {
            json_object_set_new(a, "first_nonfinite", json_null());
        }
        json_array_append_new(arr, a);
    }
    json_object_set_new(o, "arrays", arr);
}

void no_report_json_print(json_t *root)
{
    char *text = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    if (text)
        puts(text);
    free(text);
    fflush(stdout);
    json_decref(root);
}

/* ---- errors under --json ------------------------------------------------- */

static const char *json_errors_command; /* set by --json: the command */
static int json_error_printed;

void no_report_json_errors(const char *command)
{
    json_errors_command = command;
}

void no_report_error_json(const char *msg)
{
    if (!json_errors_command || json_error_printed)
        return;
    json_error_printed = 1;
    json_t *o = no_report_json_new("error", json_errors_command);
    json_t *e = json_object();
    json_object_set_new(e, "message", no_report_str(msg));
    json_object_set_new(e, "exit_status", json_integer(NO_EXIT_USAGE));
    json_object_set_new(o, "error", e);
    no_report_json_print(o);
}

void no_report_error_json_noalloc(const char *msg)
{
    if (!json_errors_command || json_error_printed)
        return;
    json_error_printed = 1;
    /* Formatted into static storage and written with write(2): malloc (and
     * so jansson and stdio's buffers) may have no memory left.  msg is one
     * of nodeoracle's own lines, with no character JSON must escape. */
    static char buf[768];
    int k = snprintf(buf, sizeof buf,
                     "{\n \"schema\": \"%s\",\n \"version\": \"%s\",\n \"kind\": \"error\",\n"
                     " \"command\": \"%s\",\n \"error\": {\n  \"message\": \"%s\",\n"
                     "  \"exit_status\": %d\n }\n}\n",
                     NO_REPORT_SCHEMA, NODEORACLE_VERSION, json_errors_command, msg,
                     NO_EXIT_USAGE);
    if (k > 0 && (size_t)k < sizeof buf && write(STDOUT_FILENO, buf, (size_t)k) < 0)
        k = 0; /* nothing more to do */
}

int no_report_error(const char *msg)
{
    fprintf(stderr, "nodeoracle: %s\n", msg);
    no_report_error_json(msg);
    return NO_EXIT_USAGE;
}
