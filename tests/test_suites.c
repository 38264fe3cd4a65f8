/* suites: no cause the diagnosis can name is invisible to a suite, and no
 * two causes are the same computation on all of a suite (oracle/suite.c).
 *
 * A suite whose sizes hide a bug passes the buggy candidate: with d_out = 2
 * everywhere, torch.nn.MSELoss() (the mean over N d_out squared errors) is
 * exactly the contract's 1/(2N) sum, and with M = L a missing 1/M is a
 * missing 1/L.  So, for every suite and every hypothesis of no_diagnose
 * (no_diag_cases: the same list, so a new cause is covered by construction):
 *
 * (smoke, default, deep, wide and schemes: every scheme of the table with
 * every adjoint kind; default and schemes hold continuous-adjoint problems,
 * so the discrete_adjoint cause applies only there)
 *
 *  - visible: on some problem of the suite where it applies, the
 *    hypothesis' outputs differ from the contract's by at least 100 times
 *    the float64 tolerance of the tolerance model, in some array a
 *    candidate must provide (output, loss, grad_*: a candidate without the
 *    optional states and adjoint still fails);
 *  - separable: every two hypotheses (cause and form) that apply together
 *    differ from each other by 100 times that tolerance on some problem, so
 *    the diagnosis can tell them apart; and, stronger, on every problem run
 *    (unless one of the two is not finite there): with M = L the two
 *    coincide on every ode-scaling mlp problem, though the sqrt scaling's
 *    would still separate them.
 *
 * The separation of two output sets a, b on a problem is
 *   max over those arrays of  max_e |a_e - b_e| / max_e |c_e| / tol(array),
 * c the contract's values and tol its float64 tolerance (no_tol_for), the
 * measure check fails a candidate by.  Outputs that are not finite (a
 * hypothesis that overflows double: a step h = 1 on L = 1024 layers) witness
 * nothing, as the diagnosis cannot measure them.
 *
 * The runs need no certified digits, only differences far above tol ~ 1e-12,
 * so they are at PREC = 64 bits: the reference's error there is about 2^-11
 * of the float64 tolerance (the same model with u = 2^-64 instead of 2^-53),
 * and 64 bits is one limb, the fastest MPFR precision.
 *
 * Problems are run cheapest first (first the cheapest of each family x
 * adjoint kind) and a suite stops once every witness is found: for deep and
 * wide the L = 64 and q, M = 1024 problems suffice, and make test stays
 * fast.  NO_TEST_ITERS > 1 (nightly) runs every problem of every suite;
 * --verbose logs the problems run and each hypothesis' best and smallest
 * ratio. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "diagnose.h"
#include "suite.h"
#include "tableau.h"
#include "test_util.h"
#include "tolerance.h"

#define PREC 64
#define FACTOR 100.0 /* "many times the tolerance" */
#define MAX_KEYS 32

/* The causes of docs/check.md's table: each must apply on some problem of
 * the default suite (discrete_adjoint needs a problem that asks for the
 * continuous adjoint: only default has them). */
static const char *const documented[] = {
    "missing_1_over_N",   "missing_half",      "mean_over_outputs", "missing_1_over_L",
    "missing_1_over_M",   "missing_rff_scale", "rff_no_phase",      "transposed_weights",
    "sign_flip",          "depth_off_by_one",  "continuous_adjoint", "discrete_adjoint",
    "low_precision",
};

typedef struct {
    int nkeys;
    char key[MAX_KEYS][48];      /* "cause" or "cause[form]" */
    int applies[MAX_KEYS];       /* problems of the suite where it applies */
    double best[MAX_KEYS];       /* largest separation from the contract */
    double least[MAX_KEYS];      /* smallest, over the problems run */
    int witness[MAX_KEYS];       /* the problem of best */
    int together[MAX_KEYS][MAX_KEYS]; /* problems where both apply */
    double pair[MAX_KEYS][MAX_KEYS];  /* largest separation of the two */
    double closest;                   /* smallest separation of two on one problem */
    char closest_what[160];
} stats;

static int key_of(stats *st, const no_diag_case *c)
{
    char k[48];
    snprintf(k, sizeof k, "%s%s%s%s", c->cause, c->variant ? "[" : "",
             c->variant ? c->variant : "", c->variant ? "]" : "");
    for (int i = 0; i < st->nkeys; i++)
        if (!strcmp(st->key[i], k))
            return i;
    cr_assert_lt(st->nkeys, MAX_KEYS);
    int i = st->nkeys++;
    snprintf(st->key[i], sizeof st->key[i], "%s", k);
    st->best[i] = 0;
    st->least[i] = INFINITY;
    st->witness[i] = -1;
    return i;
}

static int required(const char *name)
{
    return !strcmp(name, "output") || !strcmp(name, "loss") || !strncmp(name, "grad_", 5);
}

/* The separation of a and b (see the top): NaN if either is not finite. */
static double separation(const no_arrays *a, const no_arrays *b, const no_arrays *c,
                         const no_tol_model *t)
{
    double worst = 0;
    for (int i = 0; i < c->count; i++) {
        const no_array *ca = &c->a[i];
        if (!required(ca->name))
            continue;
        const no_array *x = no_arrays_get(a, ca->name), *y = no_arrays_get(b, ca->name);
        cr_assert(x && y && x->n == ca->n && y->n == ca->n, "%s missing", ca->name);
        double emax = 0, cmax = 0;
        for (size_t e = 0; e < ca->n; e++) {
            if (!isfinite(x->v[e]) || !isfinite(y->v[e]))
                return NAN;
            emax = fmax(emax, fabs(x->v[e] - y->v[e]));
            cmax = fmax(cmax, fabs(ca->v[e]));
        }
        double tol = no_tol_for(t, ca->name);
        cr_assert(cmax > 0 && tol > 0, "%s: contract max %g, tol %g", ca->name, cmax, tol);
        worst = fmax(worst, emax / cmax / tol);
    }
    return worst;
}

/* A rough cost of the reference on s, to run the cheapest problems first. */
static double cost(const no_spec *s)
{
    double stages = no_tableau_of(s->scheme)->stages;
    return (double)s->L * (double)s->m * stages * (double)s->N * (double)s->D *
           (double)(s->D + 8 * s->q + 2 * s->M);
}

/* The two specs get the same hypotheses (names and forms, in order). */
static int same_cases(const no_spec *a, const no_spec *b)
{
    no_diag_case ca[NO_DIAG_MAX], cb[NO_DIAG_MAX];
    int na = no_diag_cases(a, 0, ca), nb = no_diag_cases(b, 0, cb);
    if (na != nb)
        return 0;
    for (int i = 0; i < na; i++)
        if (strcmp(ca[i].cause, cb[i].cause) ||
            strcmp(ca[i].variant ? ca[i].variant : "", cb[i].variant ? cb[i].variant : ""))
            return 0;
    return 1;
}

static void run_problem(stats *st, const no_spec *s, int index)
{
    no_problem p;
    char err[256];
    cr_assert_eq(no_problem_generate(&p, s, err, sizeof err), 0, "%s", err);
    no_diag_case none, cases[NO_DIAG_MAX];
    memset(&none, 0, sizeof none);
    no_arrays c, h[NO_DIAG_MAX];
    cr_assert_eq(no_diag_run_case(&p, NULL, &none, PREC, &c, err, sizeof err), 0, "%s", err);
    no_tol_model t;
    cr_assert_eq(no_tol_model_init(&t, &p, &c, 0x1.0p-53), 0);
    int n = no_diag_cases(s, 0, cases), k[NO_DIAG_MAX];
    for (int i = 0; i < n; i++) {
        cr_assert_eq(no_diag_run_case(&p, NULL, &cases[i], PREC, &h[i], err, sizeof err), 0,
                     "%s", err);
        k[i] = key_of(st, &cases[i]);
        double sep = separation(&h[i], &c, &c, &t);
        if (!isfinite(sep))
            continue;
        if (sep > st->best[k[i]])
            st->best[k[i]] = sep, st->witness[k[i]] = index;
        st->least[k[i]] = fmin(st->least[k[i]], sep);
    }
    char desc[256];
    no_spec_describe(s, desc, sizeof desc);
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            double sep = separation(&h[i], &h[j], &c, &t);
            if (!isfinite(sep))
                continue;
            if (sep > st->pair[k[i]][k[j]])
                st->pair[k[i]][k[j]] = st->pair[k[j]][k[i]] = sep;
            /* Stronger than "on some problem": on every problem run, so a
             * coincidence (M = L) is caught even where another problem
             * (the sqrt scaling's) happens to separate the two. */
            cr_expect(sep >= FACTOR, "%s and %s coincide on [%d] %s: %.3g x the tolerance",
                      st->key[k[i]], st->key[k[j]], index, desc, sep);
            if (sep < st->closest) {
                st->closest = sep;
                snprintf(st->closest_what, sizeof st->closest_what, "%s and %s on [%d]",
                         st->key[k[i]], st->key[k[j]], index);
            }
        }
    for (int i = 0; i < n; i++)
        no_arrays_free(&h[i]);
    no_arrays_free(&c);
    no_problem_free(&p);
}

/* Every witness found: each hypothesis that applies is visible, each two
 * that apply together are separated. */
static int proven(const stats *st)
{
    for (int i = 0; i < st->nkeys; i++) {
        if (st->applies[i] && !(st->best[i] >= FACTOR))
            return 0;
        for (int j = 0; j < st->nkeys; j++)
            if (i != j && st->together[i][j] && !(st->pair[i][j] >= FACTOR))
                return 0;
    }
    return 1;
}

static void check_suite(const char *name, int all_causes)
{
    no_spec specs[NO_SUITE_MAX];
    int n = no_suite_specs(name, specs);
    cr_assert_gt(n, 0, "no suite %s", name);
    static stats st; /* (large: not on the stack) */
    memset(&st, 0, sizeof st);
    st.closest = INFINITY;

    /* What applies where follows from the specs alone. */
    for (int i = 0; i < n; i++) {
        no_diag_case cases[NO_DIAG_MAX];
        int nc = no_diag_cases(&specs[i], 0, cases), k[NO_DIAG_MAX];
        for (int a = 0; a < nc; a++)
            st.applies[k[a] = key_of(&st, &cases[a])]++;
        for (int a = 0; a < nc; a++)
            for (int b = 0; b < nc; b++)
                st.together[k[a]][k[b]] += a != b && k[a] != k[b];
    }
    for (size_t c = 0; c < sizeof documented / sizeof *documented; c++) {
        int found = 0;
        for (int i = 0; i < st.nkeys; i++)
            found |= !strncmp(st.key[i], documented[c], strlen(documented[c])) &&
                     (st.key[i][strlen(documented[c])] == 0 ||
                      st.key[i][strlen(documented[c])] == '[');
        if (all_causes || strcmp(documented[c], "discrete_adjoint"))
            cr_expect(found, "suite %s: no problem where %s applies", name, documented[c]);
    }

    /* The cheapest problem of each set of hypotheses first (family x adjoint
     * kind: they hold every witness in practice), then the rest, cheapest
     * first; stop at the proof unless every problem is asked for. */
    int order[NO_SUITE_MAX], ran = 0;
    double rank[NO_SUITE_MAX];
    for (int i = 0; i < n; i++) {
        order[i] = i;
        rank[i] = cost(&specs[i]);
        for (int j = 0; j < n; j++)
            if (j != i && same_cases(&specs[i], &specs[j]) &&
                (cost(&specs[j]) < cost(&specs[i]) ||
                 (cost(&specs[j]) == cost(&specs[i]) && j < i)))
                rank[i] += 1e30; /* not the cheapest of its set: after every first */
    }
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && rank[order[j]] < rank[order[j - 1]]; j--) {
            int tmp = order[j];
            order[j] = order[j - 1];
            order[j - 1] = tmp;
        }
    int every = no_test_iters() > 1;
    for (int i = 0; i < n && (every || !proven(&st)); i++, ran++) {
        char desc[256];
        no_spec_describe(&specs[order[i]], desc, sizeof desc);
        cr_log_info("suite %s: running [%d] %s", name, order[i], desc);
        run_problem(&st, &specs[order[i]], order[i]);
    }
    cr_log_info("suite %s: %d of %d problems run", name, ran, n);

    for (int i = 0; i < st.nkeys; i++) {
        char desc[256] = "-";
        if (st.witness[i] >= 0)
            no_spec_describe(&specs[st.witness[i]], desc, sizeof desc);
        cr_log_info("suite %s: %-30s applies to %2d, best %.3g x tol on [%d] %s, least %.3g",
                    name, st.key[i], st.applies[i], st.best[i], st.witness[i], desc,
                    st.least[i]);
        cr_expect(st.best[i] >= FACTOR,
                  "suite %s: %s is invisible: at most %.3g x the tolerance on the %d problems "
                  "where it applies",
                  name, st.key[i], st.best[i], st.applies[i]);
    }
    double least = INFINITY;
    int li = -1, lj = -1;
    for (int i = 0; i < st.nkeys; i++)
        for (int j = i + 1; j < st.nkeys; j++) {
            if (!st.together[i][j])
                continue;
            if (st.pair[i][j] < least)
                least = st.pair[i][j], li = i, lj = j;
            cr_expect(st.pair[i][j] >= FACTOR,
                      "suite %s: %s and %s are not told apart: at most %.3g x the tolerance "
                      "on the %d problems where both apply",
                      name, st.key[i], st.key[j], st.pair[i][j], st.together[i][j]);
        }
    if (li >= 0)
        cr_log_info("suite %s: closest two hypotheses on their best problem: %s and %s, %.3g x "
                    "tol; on one problem: %s, %.3g x tol",
                    name, st.key[li], st.key[lj], least, st.closest_what, st.closest);
}

Test(suites, smoke) { check_suite("smoke", 0); }
Test(suites, default) { check_suite("default", 1); }
Test(suites, deep) { check_suite("deep", 0); }
Test(suites, wide) { check_suite("wide", 0); }
Test(suites, schemes) { check_suite("schemes", 1); }
