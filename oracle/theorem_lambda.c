/* theorem_lambda.c - `nodeoracle theorem lambda`: lambda(delta) of the
 * expressivity condition, SPEC 5.3 (oracle/lambda.h;
 * proofs-notes/theorem-lambda.md; docs/theorem-lambda.md). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrays.h"
#include "cmd.h"
#include "lambda.h"
#include "npy.h"
#include "ref.h"
#include "report.h"
#include "theorem.h"
#include "theorem_commands.h"

const char no_thm_lambda_help[] =
    "NAME\n"
    "  nodeoracle theorem lambda - lambda(delta), the smallest Gram eigenvalue over\n"
    "  delta-separated sets of N points (the expressivity condition, SPEC 5.3)\n"
    "\n"
    "SYNOPSIS\n"
    "  nodeoracle theorem lambda [--kernel gaussian|matern] [--ell E] [--nu NU] [--N N]\n"
    "                   [--D D] [--delta DELTA] [--prec BITS] [--starts S] [--iters I]\n"
    "                   [--seed SEED] [--sweep K] [--seeds S] [--qmin Q] [--qmax Q]\n"
    "                   [--level P] [--points FILE.npy] [--json]\n"
    "\n"
    "DESCRIPTION\n"
    "  lambda(delta) = inf { lambda_min(K_X) : X = N points of R^D, |x_i - x_j| >= delta }\n"
    "  (seed 004, slides 'Expressivity Condition and P-L', Condition 2), K_X the kernel\n"
    "  matrix of the Gaussian (ell) or Matern (nu) kernel, k(x, x) = 1.\n"
    "\n"
    "  Upper estimate: lattice (collinear, hexagonal, fcc), random and clustered starts,\n"
    "  each scaled to separation delta and improved by a local descent on lambda_min\n"
    "  that keeps the separation (double, LAPACK); the best sets are evaluated in the\n"
    "  MPFR reference (Jacobi) at --prec bits with their correct bits. It estimates an\n"
    "  infimum from above: a value, never a bound. Lower bound: 1 minus the largest\n"
    "  off-diagonal row sum a delta-separated set can have (a packing count and\n"
    "  Gershgorin): rigorous, positive only for delta large against the kernel's scale.\n"
    "\n"
    "  Sweep: delta, delta/2, ..., delta 2^-(K-1); the exponent b of lambda ~ delta^b is\n"
    "  fitted (log-log least squares, Student-t interval at LEVEL) and compared with the\n"
    "  derived b = 2(N-1) (Gaussian) or min(2(N-1), 2 nu) (Matern) of the flat limit.\n"
    "\n"
    "  Random features: on the best set, lambda_min(K_q) of the rff kernel k_q (Omega,\n"
    "  beta of the problem generator, seeds 1..S) for q = QMIN, 2 QMIN, ..., QMAX; the\n"
    "  fraction of seeds with lambda_min(K_q) >= lambda_min(K)/2, the q from which it stays\n"
    "  >= 0.9, the matrix-Bernstein q for probability 0.9, and the fitted rate of\n"
    "  E|lambda_min(K_q) - lambda_min(K)| in q (Monte Carlo: -1/2).\n"
    "\n"
    "CHECKS\n"
    "  0 <= lambda_min(K_X) (the reference value and its bits); delta <= the set's\n"
    "  minimum distance (in MPFR, directed rounding); |LAPACK - reference| <= the\n"
    "  derived double bound; the packing lower bound <= the upper estimate (when the\n"
    "  bound is positive); the fitted slope of E|lambda_min(K_q) - lambda_min(K)| in q\n"
    "  <= 0 at LEVEL (statistical).\n"
    "\n"
    "OPTIONS\n"
    "  --kernel K     gaussian (default) or matern\n"
    "  --ell E        Gaussian bandwidth in [0.001, 1000] (default 1)\n"
    "  --nu NU        Matern smoothness 0.5, 1.5, 2.5 or 3.5 (default 2.5)\n"
    "  --N N          points, 2..64 (default 6)\n"
    "  --D D          dimension, 1..16 (default 2)\n"
    "  --delta DELTA  separation in [1e-6, 1000] (default 1)\n"
    "  --prec BITS    bits of the reference, 53..43691 (default 128)\n"
    "  --starts S     random and clustered starts, each, 0..64 (default 4)\n"
    "  --iters I      local-search iterations per start, 0..100000 (default 200)\n"
    "  --seed SEED    seed of the starts (default 1)\n"
    "  --sweep K      deltas in the sweep, 0..12 (default 6; 0: none)\n"
    "  --seeds S      rff seeds per q, 0..256 (default 16; 0: no q sweep)\n"
    "  --qmin Q, --qmax Q  the q grid, qmax >= 4 qmin, qmax <= 65536 (default 16, 4096)\n"
    "  --level P      confidence level of the fitted intervals, in (0, 1) (default 0.95)\n"
    "  --points FILE  a given set, an N x D .npy (float64): its lambda_min(K_X) in the\n"
    "                 reference instead of the search (N, D from the file; no sweep)\n"
    "  --json         one JSON object (kind \"theorem\"; tables in \"details\")\n"
    "\n"
    "EXIT STATUS\n"
    "  0 every check holds; 1 one fails (named on stderr); 2 usage or input error (one\n"
    "  line on stderr); 3 none fails but one is undecided.\n"
    "\n"
    "EXAMPLES\n"
    "  nodeoracle theorem lambda\n"
    "  nodeoracle theorem lambda --kernel matern --nu 1.5 --N 5 --delta 0.5 --json\n"
    "  nodeoracle theorem lambda --points X.npy --ell 0.5 --seeds 0\n"
    "\n";

static json_t *set_json(const double *X, size_t N, size_t D)
{
    json_t *a = json_array();
    for (size_t i = 0; i < N; i++) {
        json_t *row = json_array();
        for (size_t d = 0; d < D; d++)
            json_array_append_new(row, no_report_num(X[i * D + d]));
        json_array_append_new(a, row);
    }
    return a;
}

static json_t *point_json(const no_lambda_point *p)
{
    json_t *o = json_object();
    json_object_set_new(o, "delta", no_report_num(p->delta));
    json_object_set_new(o, "lambda_min", no_report_num(p->lam));
    json_object_set_new(o, "bits", no_report_num(p->bits));
    json_object_set_new(o, "lambda_min_lapack", no_report_num(p->lam_fast));
    json_object_set_new(o, "lapack_bound", no_report_num(p->fast_bound));
    json_object_set_new(o, "lower_bound", no_report_num(p->lower));
    json_object_set_new(o, "min_distance_lower", no_report_num(p->min_dist));
    json_object_set_new(o, "start", json_string(p->start));
    return o;
}

static json_t *fit_json(const no_fit *f, double expected)
{
    json_t *o = json_object();
    json_object_set_new(o, "ok", json_boolean(f->ok));
    json_object_set_new(o, "slope", no_report_num(f->ok ? f->slope : NAN));
    json_object_set_new(o, "lo", no_report_num(f->ok ? f->lo : NAN));
    json_object_set_new(o, "hi", no_report_num(f->ok ? f->hi : NAN));
    json_object_set_new(o, "se", no_report_num(f->ok ? f->se : NAN));
    json_object_set_new(o, "points", json_integer((json_int_t)f->points));
    json_object_set_new(o, "expected", no_report_num(expected));
    json_object_set_new(o, "contains_expected",
                        json_boolean(f->ok && f->lo <= expected && expected <= f->hi));
    return o;
}

/* The report of r (checks, values, details). */
static int report(const no_lambda_opts *o, const no_lambda_result *r, int json)
{
    char stmt[320], note[320];
    const no_lambda_kernel *k = &o->kernel;
    char kname[48];
    if (k->matern)
        snprintf(kname, sizeof kname, "Matern nu = %g", k->nu);
    else
        snprintf(kname, sizeof kname, "Gaussian ell = %g", k->ell);
    snprintf(stmt, sizeof stmt,
             "lambda(delta) = inf {lambda_min(K_X) : %zu points of R^%zu, |x_i - x_j| >= delta} "
             "> 0, %s kernel; estimated from above by optimised sets",
             o->N, o->D, kname);
    no_thm_report *rep = no_thm_report_new(
        "lambda", stmt,
        "seed 004, slides 'Expressivity Condition and P-L', Condition 2 (quantitative "
        "universality); random features: the slides' 'p = O(N^4 ...)' proposition");
    if (!rep)
        return no_report_error("theorem lambda: out of memory");
    const no_lambda_point *m = &r->main;
    double err_ref = fabs(m->lam) * ldexp(1.0, -(int)m->bits);
    if (o->points) {
        snprintf(note, sizeof note, "the given set (%s), minimum distance %.6g", "--points",
                 m->delta);
        no_thm_value(rep, "lambda_min(K_X), given set", m->lam, m->bits, note);
    } else {
        snprintf(note, sizeof note,
                 "upper estimate of lambda(%g): best of %zu starts (%s); not a bound",
                 o->delta, r->nstarts, m->start);
        no_thm_value(rep, "lambda(delta) upper estimate", m->lam, m->bits, note);
    }
    no_thm_value(rep, "lambda_min, LAPACK dsyevr", m->lam_fast, 0,
                 "double kernel matrix, fast/fast_eig.c");
    no_thm_value(rep, "packing lower bound on lambda(delta)", m->lower, 0,
                 m->lower > 0 ? "rigorous (Gershgorin + packing count)"
                              : "rigorous but negative here: says nothing");
    no_thm_check(rep, "0 <= lambda_min(K_X)", 0, m->lam, err_ref,
                 "strict positive definiteness at the set found (reference, its bits)");
    if (o->points)
        no_thm_value(rep, "minimum distance of the given set", m->min_dist, 0,
                     "MPFR, rounded down: the set is delta-separated for this delta");
    else
        no_thm_check(rep, "delta <= min |x_i - x_j|", o->delta, m->min_dist, 0,
                     "MPFR lower bound on the set's separation");
    no_thm_check(rep, "|lambda_LAPACK - lambda_ref| <= bound", fabs(m->lam_fast - m->lam),
                 m->fast_bound, err_ref,
                 "bound N 8 (D + 8) u + N^2 u |K|_F (theorem-lambda.md section 4)");
    if (m->lower > 0)
        no_thm_check(rep, "lower bound <= lambda_min(K_X)", m->lower, m->lam, err_ref,
                     "the packing bound against the set found");
    json_t *starts = json_array();
    for (size_t s = 0; s < r->nstarts; s++) {
        const no_lambda_start *st = &r->starts[s];
        json_t *j = json_object();
        json_object_set_new(j, "start", json_string(st->name));
        json_object_set_new(j, "lambda_start", no_report_num(st->lam_start));
        json_object_set_new(j, "lambda_fast", no_report_num(st->lam_fast));
        json_object_set_new(j, "lambda_ref", no_report_num(st->lam_ref));
        json_object_set_new(j, "bits", isnan(st->lam_ref) ? json_null() : no_report_num(st->bits));
        json_object_set_new(j, "accepted_steps", json_integer((json_int_t)st->accepted));
        json_array_append_new(starts, j);
    }
    json_t *kern = json_object();
    json_object_set_new(kern, "name", json_string(k->matern ? "matern" : "gaussian"));
    json_object_set_new(kern, k->matern ? "nu" : "ell", no_report_num(k->matern ? k->nu : k->ell));
    no_thm_detail(rep, "kernel", kern);
    no_thm_detail(rep, "N", json_integer((json_int_t)o->N));
    no_thm_detail(rep, "D", json_integer((json_int_t)o->D));
    no_thm_detail(rep, "prec", json_integer(o->prec));
    no_thm_detail(rep, "best", point_json(m));
    no_thm_detail(rep, "best_set", set_json(m->X, o->N, o->D));
    no_thm_detail(rep, "starts", starts);
    if (r->nsweep) {
        json_t *sw = json_array();
        double minlam = INFINITY, minerr = 0;
        for (size_t j = 0; j < r->nsweep; j++) {
            json_array_append_new(sw, point_json(&r->sweep[j]));
            if (r->sweep[j].lam < minlam) {
                minlam = r->sweep[j].lam;
                minerr = fabs(minlam) * ldexp(1.0, -(int)r->sweep[j].bits);
            }
        }
        no_thm_detail(rep, "sweep", sw);
        json_t *fj = fit_json(&r->fit, r->expected);
        json_object_set_new(fj, "first_delta", no_report_num(r->sweep[r->fit_from].delta));
        json_object_set_new(fj, "local_slope", no_report_num(r->local_slope));
        no_thm_detail(rep, "sweep_fit", fj);
        no_thm_check(rep, "0 <= min over the sweep of lambda_min", 0, minlam, minerr,
                     "every swept delta's best set is positive definite");
        snprintf(note, sizeof note,
                 "lambda ~ delta^b over delta = %g..%g; %.0f%% interval [%.4g, %.4g]; "
                 "derived b = %g (flat limit)%s",
                 r->sweep[r->nsweep - 1].delta, r->sweep[r->fit_from].delta, 100 * o->level,
                 r->fit.lo, r->fit.hi, r->expected,
                 !r->fit.ok ? ": no fit"
                 : r->fit.lo <= r->expected && r->expected <= r->fit.hi ? ": contains it"
                                                                        : ": excludes it");
        no_thm_value(rep, "fitted exponent b of lambda(delta)", r->fit.ok ? r->fit.slope : NAN,
                     0, note);
        no_thm_value(rep, "local exponent at the smallest delta", r->local_slope, 0,
                     "log2(lambda(2 d) / lambda(d)), d the smallest delta swept");
    }
    no_thm_value(rep, "derived exponent b", r->expected, 0,
                 k->matern ? "min(2(N-1), 2 nu)" : "2(N-1)");
    if (r->nq) {
        json_t *qs = json_array();
        for (size_t i = 0; i < r->nq; i++) {
            json_t *j = json_object();
            json_object_set_new(j, "q", json_integer((json_int_t)r->q[i]));
            json_object_set_new(j, "mean_abs_diff", no_report_num(r->mean_err[i]));
            json_object_set_new(j, "mean_lambda_q", no_report_num(r->mean_lam[i]));
            json_object_set_new(j, "min_lambda_q", no_report_num(r->min_lam[i]));
            json_object_set_new(j, "fraction_half", no_report_num(r->frac[i]));
            json_array_append_new(qs, j);
        }
        no_thm_detail(rep, "q_sweep", qs);
        no_thm_detail(rep, "q_fit", fit_json(&r->qfit, -0.5));
        json_t *qn = json_object();
        json_object_set_new(qn, "seeds", json_integer((json_int_t)o->seeds));
        json_object_set_new(qn, "threshold", json_string("lambda_min(K_q) >= lambda_min(K)/2"));
        json_object_set_new(qn, "probability", no_report_num(1 - NO_LAMBDA_EPS));
        json_object_set_new(qn, "q_needed",
                            r->q_needed ? json_integer((json_int_t)r->q_needed) : json_null());
        json_object_set_new(qn, "q_bernstein", no_report_num(r->q_bernstein));
        json_object_set_new(qn, "N4", no_report_num(pow((double)o->N, 4)));
        json_object_set_new(qn, "double_noise", no_report_num(r->q_noise));
        json_object_set_new(qn, "resolved", json_boolean(m->lam / 2 > 100 * r->q_noise));
        no_thm_detail(rep, "q_needed", qn);
        snprintf(note, sizeof note,
                 "smallest grid q from which P(lambda_min(K_q) >= lambda/2) >= %.2f over %zu "
                 "seeds%s",
                 1 - NO_LAMBDA_EPS, o->seeds, r->q_needed ? "" : ": not reached by --qmax");
        no_thm_value(rep, "q needed (empirical)", r->q_needed ? (double)r->q_needed : NAN, 0,
                     note);
        no_thm_value(rep, "q of matrix Bernstein (prob. 0.9)", r->q_bernstein, 0,
                     "16 N (|K|_2 + lambda/6) log(2N/0.1) / lambda^2; slides: O(N^4)");
        snprintf(note, sizeof note,
                 "Monte Carlo rate -1/2; %.0f%% interval [%.4g, %.4g] over %zu q with "
                 "mean error < lambda",
                 100 * o->level, r->qfit.lo, r->qfit.hi, r->qfit.points);
        no_thm_value(rep, "fitted slope of E|lambda_q - lambda| in q",
                     r->qfit.ok ? r->qfit.slope : NAN, 0, note);
        double half = r->qfit.ok ? r->qfit.t * r->qfit.se : NAN;
        no_thm_check(rep, "slope of E|lambda_min(K_q) - lambda_min(K)| <= 0",
                     r->qfit.ok ? r->qfit.slope : NAN, 0, half,
                     r->qfit.ok ? "statistical: holds when the whole interval is below 0"
                                : "no fit: fewer than 3 q in the Monte-Carlo regime");
    }
    no_thm_detail(rep, "seconds", no_report_num(r->seconds));
    return no_thm_report_finish(rep, json);
}

static int read_points(const char *path, no_lambda_opts *o, no_array *a, char *err, size_t len)
{
    memset(a, 0, sizeof *a);
    if (no_npy_read(path, a, 0, err, len))
        return -1;
    if (a->ndim != 2 || a->shape[0] < 2 || a->shape[0] > NO_LAMBDA_N_MAX || a->shape[1] < 1 ||
        a->shape[1] > NO_LAMBDA_D_MAX) {
        char shape[64];
        no_npy_shape_str(shape, sizeof shape, a->ndim, a->shape);
        snprintf(err, len, "%.200s: shape %s, expected (N, D) with N in 2..%d, D in 1..%d", path,
                 shape, NO_LAMBDA_N_MAX, NO_LAMBDA_D_MAX);
        free(a->v);
        a->v = NULL;
        return -1;
    }
    o->N = a->shape[0];
    o->D = a->shape[1];
    if (!(no_lambda_min_dist(o->N, o->D, a->v) > 0)) {
        snprintf(err, len, "%.200s: two points coincide (lambda_min is 0: no separation)", path);
        free(a->v);
        a->v = NULL;
        return -1;
    }
    o->points = a->v;
    return 0;
}

int no_thm_lambda(int argc, char **argv)
{
    no_lambda_opts o;
    memset(&o, 0, sizeof o);
    o.kernel.ell = 1;
    o.kernel.nu = 2.5;
    o.N = 6;
    o.D = 2;
    o.delta = 1;
    o.prec = 128;
    o.starts = 4;
    o.iters = 200;
    o.seed = 1;
    o.sweep = 6;
    o.seeds = 16;
    o.qmin = 16;
    o.qmax = 4096;
    o.level = 0.95;
    const char *points = NULL;
    int json = 0;
    char err[512];
    for (int i = 0; i < argc; i++) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int a = no_cmd_arg_common(f, v, &json, NULL);
        if (a == NO_CMD_ARG_SWITCH || a == NO_CMD_ARG_HELP) /* cmd_theorem.c answers --help */
            continue;
        if (a != NO_CMD_ARG_VALUE)
            return a;
        int bad = 0;
        size_t seed = 0;
        if (!strcmp(f, "--kernel")) {
            if (!strcmp(v, "gaussian"))
                o.kernel.matern = 0;
            else if (!strcmp(v, "matern"))
                o.kernel.matern = 1;
            else {
                snprintf(err, sizeof err, "--kernel: expected gaussian or matern, got '%.40s'",
                         v);
                bad = 1;
            }
        } else if (!strcmp(f, "--ell"))
            bad = no_cmd_parse_real(f, v, NO_ELL_MIN, NO_ELL_MAX, 0, &o.kernel.ell, err,
                                    sizeof err);
        else if (!strcmp(f, "--nu")) {
            bad = no_cmd_parse_real(f, v, 0.5, 3.5, 0, &o.kernel.nu, err, sizeof err);
            if (!bad && o.kernel.nu != 0.5 && o.kernel.nu != 1.5 && o.kernel.nu != 2.5 &&
                o.kernel.nu != 3.5) {
                snprintf(err, sizeof err, "--nu: expected 0.5, 1.5, 2.5 or 3.5, got '%.40s'", v);
                bad = 1;
            }
        } else if (!strcmp(f, "--N"))
            bad = no_cmd_parse_count(f, v, 2, NO_LAMBDA_N_MAX, &o.N, err, sizeof err);
        else if (!strcmp(f, "--D"))
            bad = no_cmd_parse_count(f, v, 1, NO_LAMBDA_D_MAX, &o.D, err, sizeof err);
        else if (!strcmp(f, "--delta"))
            bad = no_cmd_parse_real(f, v, 1e-6, 1e3, 0, &o.delta, err, sizeof err);
        else if (!strcmp(f, "--prec")) {
            if (no_cmd_parse_prec(v, &o.prec))
                return no_cmd_prec_error(v);
        } else if (!strcmp(f, "--starts"))
            bad = no_cmd_parse_count(f, v, 0, 64, &o.starts, err, sizeof err);
        else if (!strcmp(f, "--iters"))
            bad = no_cmd_parse_count(f, v, 0, 100000, &o.iters, err, sizeof err);
        else if (!strcmp(f, "--seed")) {
            bad = no_cmd_parse_count(f, v, 0, ((size_t)1 << 53), &seed, err, sizeof err);
            o.seed = seed;
        } else if (!strcmp(f, "--sweep"))
            bad = no_cmd_parse_count(f, v, 0, NO_LAMBDA_SWEEP_MAX, &o.sweep, err, sizeof err);
        else if (!strcmp(f, "--seeds"))
            bad = no_cmd_parse_count(f, v, 0, NO_LAMBDA_SEEDS_MAX, &o.seeds, err, sizeof err);
        else if (!strcmp(f, "--qmin"))
            bad = no_cmd_parse_count(f, v, 1, NO_LAMBDA_Q_MAX, &o.qmin, err, sizeof err);
        else if (!strcmp(f, "--qmax"))
            bad = no_cmd_parse_count(f, v, 1, NO_LAMBDA_Q_MAX, &o.qmax, err, sizeof err);
        else if (!strcmp(f, "--level"))
            bad = no_cmd_parse_real(f, v, 0, 0.999999, 1, &o.level, err, sizeof err);
        else if (!strcmp(f, "--points"))
            points = v;
        else {
            snprintf(err, sizeof err, "unknown option '%.60s'", f);
            bad = 1;
        }
        if (bad)
            return no_cmd_usage_error(err);
        i++;
    }
    no_array pts;
    memset(&pts, 0, sizeof pts);
    if (points && read_points(points, &o, &pts, err, sizeof err))
        return no_cmd_usage_error(err);
    if (points)
        o.sweep = 0;
    if (no_lambda_validate(&o, err, sizeof err)) {
        free(pts.v);
        return no_cmd_usage_error(err);
    }
    no_lambda_result r;
    int rc = no_lambda_run(&o, &r, err, sizeof err);
    if (rc) {
        free(pts.v);
        no_lambda_result_clear(&r);
        return no_report_error(err);
    }
    rc = report(&o, &r, json);
    no_lambda_result_clear(&r);
    free(pts.v);
    return rc;
}
