/* theorem.c - see theorem.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "report.h"
#include "theorem.h"

typedef struct {
    char *name, *note;
    double lhs, rhs, err;
    no_thm_verdict v;
} thm_check;

typedef struct {
    char *name, *note;
    double value, bits;
} thm_value;

struct no_thm_report {
    char *theorem, *statement, *source;
    thm_check *checks;
    size_t nchecks, capchecks;
    thm_value *values;
    size_t nvalues, capvalues;
    json_t *details; /* object */
};

no_thm_verdict no_thm_judge(double lhs, double rhs, double err)
{
    if (!isfinite(lhs) || !isfinite(rhs) || !isfinite(err) || err < 0)
        return NO_THM_UNDECIDED;
    double gap = rhs - lhs;
    if (gap > err)
        return NO_THM_HOLDS;
    if (-gap > err)
        return NO_THM_FAILS;
    return NO_THM_UNDECIDED;
}

static char *dup(const char *s)
{
    return s ? strdup(s) : NULL;
}

no_thm_report *no_thm_report_new(const char *theorem, const char *statement, const char *source)
{
    no_thm_report *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->theorem = dup(theorem);
    r->statement = dup(statement);
    r->source = dup(source);
    r->details = json_object();
    if (!r->theorem || !r->statement || !r->source || !r->details) {
        no_thm_report_free(r);
        return NULL;
    }
    return r;
}

void no_thm_report_free(no_thm_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nchecks; i++) {
        free(r->checks[i].name);
        free(r->checks[i].note);
    }
    for (size_t i = 0; i < r->nvalues; i++) {
        free(r->values[i].name);
        free(r->values[i].note);
    }
    free(r->checks);
    free(r->values);
    free(r->theorem);
    free(r->statement);
    free(r->source);
    json_decref(r->details);
    free(r);
}

/* Grow an array of elements of size sz to hold n + 1; 0 or -1. */
static int grow(void **a, size_t *cap, size_t n, size_t sz)
{
    if (n < *cap)
        return 0;
    size_t c = *cap ? 2 * *cap : 8;
    void *p = realloc(*a, c * sz);
    if (!p)
        return -1;
    *a = p;
    *cap = c;
    return 0;
}

no_thm_verdict no_thm_check(no_thm_report *r, const char *name, double lhs, double rhs,
                            double err, const char *note)
{
    no_thm_verdict v = no_thm_judge(lhs, rhs, err);
    if (grow((void **)&r->checks, &r->capchecks, r->nchecks, sizeof *r->checks))
        return NO_THM_UNDECIDED; /* dropped; the report says undecided below */
    thm_check *c = &r->checks[r->nchecks++];
    c->name = dup(name);
    c->note = dup(note);
    c->lhs = lhs;
    c->rhs = rhs;
    c->err = err;
    c->v = v;
    return v;
}

void no_thm_value(no_thm_report *r, const char *name, double value, double bits, const char *note)
{
    if (grow((void **)&r->values, &r->capvalues, r->nvalues, sizeof *r->values))
        return;
    thm_value *x = &r->values[r->nvalues++];
    x->name = dup(name);
    x->note = dup(note);
    x->value = value;
    x->bits = bits;
}

void no_thm_detail(no_thm_report *r, const char *key, json_t *value)
{
    json_object_set_new(r->details, key, value);
}

static const char *verdict_token(no_thm_verdict v)
{
    return v == NO_THM_HOLDS ? "holds" : v == NO_THM_FAILS ? "fails" : "undecided";
}

int no_thm_report_finish(no_thm_report *r, int json)
{
    size_t fails = 0, undecided = 0;
    const thm_check *first_fail = NULL;
    for (size_t i = 0; i < r->nchecks; i++) {
        if (r->checks[i].v == NO_THM_FAILS && !fails++)
            first_fail = &r->checks[i];
        undecided += r->checks[i].v == NO_THM_UNDECIDED;
    }
    int rc = fails ? NO_EXIT_MISMATCH : undecided ? NO_EXIT_UNJUDGED : NO_EXIT_PASS;
    const char *verdict = fails ? "fails" : undecided ? "undecided" : "holds";
    if (json) {
        json_t *root = no_report_json_new("theorem", "theorem");
        json_object_set_new(root, "theorem", json_string(r->theorem));
        json_object_set_new(root, "statement", json_string(r->statement));
        json_object_set_new(root, "source", json_string(r->source));
        json_object_set_new(root, "verdict", json_string(verdict));
        json_t *checks = json_array(), *values = json_array();
        for (size_t i = 0; i < r->nchecks; i++) {
            const thm_check *c = &r->checks[i];
            json_t *o = json_object();
            json_object_set_new(o, "name", no_report_str(c->name));
            json_object_set_new(o, "lhs", no_report_num(c->lhs));
            json_object_set_new(o, "rhs", no_report_num(c->rhs));
            json_object_set_new(o, "error_bound", no_report_num(c->err));
            json_object_set_new(o, "margin", no_report_num(c->rhs - c->lhs));
            json_object_set_new(o, "ratio", no_report_num(c->lhs / c->rhs));
            json_object_set_new(o, "verdict", json_string(verdict_token(c->v)));
            json_object_set_new(o, "note", c->note ? no_report_str(c->note) : json_null());
            json_array_append_new(checks, o);
        }
        for (size_t i = 0; i < r->nvalues; i++) {
            const thm_value *x = &r->values[i];
            json_t *o = json_object();
            json_object_set_new(o, "name", no_report_str(x->name));
            json_object_set_new(o, "value", no_report_num(x->value));
            json_object_set_new(o, "bits", x->bits > 0 ? no_report_num(x->bits) : json_null());
            json_object_set_new(o, "note", x->note ? no_report_str(x->note) : json_null());
            json_array_append_new(values, o);
        }
        json_object_set_new(root, "checks", checks);
        json_object_set_new(root, "values", values);
        json_object_set_new(root, "details", json_incref(r->details));
        json_object_set_new(root, "exit_status", json_integer(rc));
        no_report_json_print(root);
    } else {
        printf("theorem %s: %s\n  %s\n  (%s)\n", r->theorem, verdict, r->statement, r->source);
        if (r->nvalues) {
            printf("\n  %-44s  %24s  %6s\n", "quantity", "value", "bits");
            for (size_t i = 0; i < r->nvalues; i++) {
                const thm_value *x = &r->values[i];
                printf("  %-44s  %24.17g  ", x->name, x->value);
                if (x->bits > 0)
                    printf("%6.0f", x->bits);
                else
                    printf("%6s", "");
                printf("%s%s\n", x->note ? "  " : "", x->note ? x->note : "");
            }
        }
        if (r->nchecks) {
            printf("\n  %-44s  %14s  %14s  %10s  %s\n", "inequality lhs <= rhs", "lhs", "rhs",
                   "lhs/rhs", "verdict");
            for (size_t i = 0; i < r->nchecks; i++) {
                const thm_check *c = &r->checks[i];
                printf("  %-44s  %14.7e  %14.7e  %10.6f  %s%s%s\n", c->name, c->lhs, c->rhs,
                       c->lhs / c->rhs, verdict_token(c->v), c->note ? "  " : "",
                       c->note ? c->note : "");
            }
        }
    }
    if (first_fail)
        fprintf(stderr, "nodeoracle: theorem %s: '%s' fails: %.17g > %.17g\n", r->theorem,
                first_fail->name, first_fail->lhs, first_fail->rhs);
    no_thm_report_free(r);
    return rc;
}
