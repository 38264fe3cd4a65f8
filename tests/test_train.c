/* train: gradient descent and gradient flow (ref/ref_train.h,
 * fast/fast_train.h, oracle/train_compare.h, `nodeoracle train`;
 * proofs-notes/training.md).  Small problems (N=3, D=3, L=3) so that the
 * suite stays within seconds on one core. */
#define _XOPEN_SOURCE 700
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "arrays.h"
#include "fast.h"
#include "fast_train.h"
#include "npy.h"
#include "ref_train.h"
#include "test_run.h"
#include "test_util.h"
#include "train_compare.h"

#define U 0x1p-53

/* Variants 0 (linear), 1 (rff Gaussian), 3 (mlp tanh) of test_util.h. */
static const int families[3] = {0, 1, 3};

static void gen(no_problem *p, int v, no_scheme_id scheme, size_t m, no_adjoint adj)
{
    no_spec s;
    char err[256];
    no_test_spec(&s, v, scheme, m, 7);
    s.adjoint = adj;
    cr_assert_eq(no_problem_generate(p, &s, err, sizeof err), 0, "%s", err);
}

/* theta^0 of p as one vector (the order of no_spec_params). */
static void params_of(const no_problem *p, double *th, const no_arrays *grads, double *G)
{
    no_param_info pi[NO_MAX_PARAMS];
    int np = no_spec_params(&p->spec, pi);
    size_t k = 0;
    for (int i = 0; i < np; i++) {
        char name[NO_NAME_LEN] = "mgrad_";
        strcat(name, pi[i].name);
        memcpy(th + k, no_problem_param(p, pi[i].name), pi[i].n * sizeof *th);
        memcpy(G + k, no_arrays_get(grads, name)->v, pi[i].n * sizeof *G);
        k += pi[i].n;
    }
}

/* One GD step is theta - eta G.  fast: bit for bit fl(theta - fl(eta G))
 * with fast_run's G (the same operations).  ref: the MPFR step rounded to
 * double against the double formula with ref's G rounded: each side is
 * within u(|theta^1| + 2 eta |G|) of the exact step (ref: one rounding of
 * the fma and the rounding to double; the test's formula: two roundings,
 * and G rounded), so they differ by at most 4 u (|theta^0| + eta |G|). */
Test(train, one_step_is_theta_minus_eta_G)
{
    const double eta = 0.375;
    const struct {
        no_scheme_id s;
        size_t m;
        no_adjoint a;
    } runs[] = {{NO_SCHEME_EULER, 1, NO_ADJOINT_DISCRETE},
                {NO_SCHEME_RK4, 1, NO_ADJOINT_CONTINUOUS},
                {NO_SCHEME_HEUN, 2, NO_ADJOINT_BACKSOLVE}};
    for (int f = 0; f < 3; f++)
        for (int r = 0; r < 3; r++) {
            no_problem p;
            gen(&p, families[f], runs[r].s, runs[r].m, runs[r].a);
            char err[256];
            size_t K = ref_train_nparams(&p.spec);
            double *th = malloc(K * sizeof *th), *G = malloc(K * sizeof *G);
            /* fast */
            no_arrays out;
            cr_assert_eq(fast_run(&p, &out, err, sizeof err), 0, "%s", err);
            params_of(&p, th, &out, G);
            no_arrays_free(&out);
            fast_train_traj ft;
            cr_assert_eq(fast_train_gd(&p, 1, eta, 1, NULL, NULL, &ft, err, sizeof err), 0, "%s",
                         err);
            for (size_t k = 0; k < K; k++)
                cr_assert_eq(ft.params[K + k], th[k] - eta * G[k],
                             "fast %d/%d: theta^1[%zu] = %.17g, theta - eta G = %.17g", f, r, k,
                             ft.params[K + k], th[k] - eta * G[k]);
            fast_train_traj_clear(&ft);
            /* ref */
            no_test_ref_doubles(&p, NULL, 128, &out);
            params_of(&p, th, &out, G);
            no_arrays_free(&out);
            ref_train_opts o = {.steps = 1, .eta = eta, .keep_params = 1};
            ref_train_traj rt;
            cr_assert_eq(ref_train_run(&p, 128, &o, &rt, err, sizeof err), 0, "%s", err);
            for (size_t k = 0; k < K; k++) {
                double want = th[k] - eta * G[k];
                double tol = 4 * U * (fabs(th[k]) + eta * fabs(G[k]));
                cr_assert_leq(fabs(rt.params[K + k] - want), tol,
                              "ref %d/%d: theta^1[%zu] = %.17g, theta - eta G = %.17g", f, r, k,
                              rt.params[K + k], want);
            }
            /* and the records of step 0 are F and |G|^2 of the start */
            cr_expect_eq(rt.theta_dist[0], 0.0);
            ref_train_traj_clear(&rt);
            free(th);
            free(G);
            no_problem_free(&p);
        }
}

/* fast against ref along 100 steps of GD, for each family (and, for mlp and
 * rff, another scheme and adjoint kind): every iteration must be judged
 * (the bound of proofs-notes/training.md stays below 2^-10 at eta = 0.05 on
 * these problems) and pass.  A negative control: a relative error of 1e-9
 * in fast's F at one iteration, or in its parameters, must fail. */
Test(train, fast_vs_ref_100_steps_judged)
{
    const struct {
        int v;
        no_scheme_id s;
        size_t m;
        no_adjoint a;
    } cases[] = {{0, NO_SCHEME_EULER, 1, NO_ADJOINT_DISCRETE},
                 {1, NO_SCHEME_EULER, 1, NO_ADJOINT_DISCRETE},
                 {3, NO_SCHEME_EULER, 1, NO_ADJOINT_DISCRETE},
                 {3, NO_SCHEME_RK4, 1, NO_ADJOINT_CONTINUOUS},
                 {1, NO_SCHEME_HEUN, 2, NO_ADJOINT_BACKSOLVE}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        no_problem p;
        gen(&p, cases[i].v, cases[i].s, cases[i].m, cases[i].a);
        no_train_cmp c;
        char err[256];
        cr_assert_eq(no_train_compare(&p, 128, 100, 0.05, NULL, NULL, &c, err, sizeof err), 0,
                     "%s", err);
        cr_log_info("train case %zu (%s): judged %zu of 101, worst err/tol %.3g (%s, n=%zu), "
                    "E_100 = %.3g",
                    i, no_test_variant_name(cases[i].v), c.njudged, c.worst,
                    no_train_q_names[c.worst_q], c.worst_n, c.E[100]);
        cr_expect_eq(c.njudged, 101, "case %zu: only %zu iterations judged", i, c.njudged);
        cr_expect_eq(c.verdict, NO_TRAIN_PASS, "case %zu: verdict %d, worst %.3g (%s, n=%zu)", i,
                     c.verdict, c.worst, no_train_q_names[c.worst_q], c.worst_n);
        if (i == 0) {
            c.fast.F[50] *= 1 + 1e-9;
            cr_assert_eq(no_train_judge(&p, &c.ref, &c.fast, c.dG, c.tF, c.ok, &c), 0);
            cr_expect_eq(c.verdict, NO_TRAIN_FAIL, "a 1e-9 error in F passed");
            c.fast.F[50] = c.ref.F[50];
            c.fast.params[20 * c.ref.K + 3] *= 1 + 1e-9;
            cr_assert_eq(no_train_judge(&p, &c.ref, &c.fast, c.dG, c.tF, c.ok, &c), 0);
            cr_expect_eq(c.verdict, NO_TRAIN_FAIL, "a 1e-9 error in theta^20 passed");
        }
        no_train_cmp_clear(&c);
        no_problem_free(&p);
    }
}

/* A run whose bound grows past 2^-10 (eta = 0.1: (1 + eta Lambda)^n
 * outgrows it near n = 90 on the linear problem) is unverifiable from that
 * iteration on: never a pass, and never a failure either. */
Test(train, long_steep_run_is_unverifiable)
{
    no_problem p;
    no_spec s;
    char err[256];
    no_test_spec(&s, 0, NO_SCHEME_EULER, 1, 1);
    cr_assert_eq(no_problem_generate(&p, &s, err, sizeof err), 0, "%s", err);
    no_train_cmp c;
    cr_assert_eq(no_train_compare(&p, 128, 300, 0.2, NULL, NULL, &c, err, sizeof err), 0, "%s",
                 err);
    cr_expect_eq(c.verdict, NO_TRAIN_UNVERIFIABLE, "verdict %d, judged %zu", c.verdict,
                 c.njudged);
    cr_expect(c.njudged > 0 && c.njudged < 301, "judged %zu", c.njudged);
    for (size_t n = c.first_unjudged; n <= 300; n++)
        cr_expect_eq(c.judged[n], 0, "iteration %zu judged after the bound broke down", n);
    no_train_cmp_clear(&c);
    no_problem_free(&p);
}

/* The reference's certificate: at 128 bits every F of 30 GD steps has at
 * least 100 correct bits (its check run is 64 bits more precise; the
 * iterate is never rounded to double, so the claim is about the exact GD). */
Test(train, ref_bits_certified)
{
    no_problem p;
    gen(&p, 3, NO_SCHEME_EULER, 1, NO_ADJOINT_DISCRETE);
    ref_train_opts o = {.steps = 30, .eta = 0.1};
    ref_train_traj t;
    char err[256];
    cr_assert_eq(ref_train_certify(&p, 128, &o, &t, err, sizeof err), 0, "%s", err);
    for (size_t n = 0; n <= 30; n++)
        cr_expect_geq(t.F_bits[n], 100, "F at n=%zu: %.0f bits", n, t.F_bits[n]);
    cr_expect_lt(t.F[30], t.F[0], "GD did not decrease F");
    ref_train_traj_clear(&t);
    no_problem_free(&p);
}

static double metric_dist(const double *a, const double *b, size_t K, double w)
{
    double s = 0;
    for (size_t k = 0; k < K; k++)
        s += (a[k] - b[k]) * (a[k] - b[k]);
    return sqrt(w * s);
}

/* GD approaches the gradient flow at rate O(eta): at T = 1/2,
 * |theta_GD^{T/eta} - theta_GF(T)| for eta = 2^-4..2^-8, least-squares
 * slope of log2(gap) against log2(eta) within 1 +- 0.1.  (The gap is
 * eta e(T) + O(eta^2), so the local slope tends to 1; 0.1 covers the
 * O(eta) correction at eta = 2^-4, measured 0.98-1.0.)  The flow is
 * certified (two local error targets and precisions): its F must hold at
 * least 25 correct bits, so its own error (< 2^-25 relative) is far below
 * the smallest gap (~2^-9 |G|). */
Test(train, gd_to_gradient_flow_order_one)
{
    for (int f = 0; f < 3; f += 2) {
        no_problem p;
        gen(&p, families[f], NO_SCHEME_EULER, 1, NO_ADJOINT_DISCRETE);
        char err[256];
        const double T = 0.5;
        ref_train_opts of = {.steps = 1, .eta = T, .flow = 1, .flow_tol = 0x1p-30,
                             .keep_params = 1};
        ref_train_traj gf;
        cr_assert_eq(ref_train_certify(&p, 64, &of, &gf, err, sizeof err), 0, "%s", err);
        cr_expect_geq(gf.F_bits[1], 25, "flow: only %.0f bits", gf.F_bits[1]);
        size_t K = gf.K;
        double h = no_spec_step(&p.spec);
        double w = p.spec.family == NO_FAMILY_MLP ? h / (double)p.spec.M : h;
        double sx = 0, sy = 0, sxx = 0, sxy = 0, gaps[5];
        for (int e = 4; e <= 8; e++) {
            double eta = ldexp(1, -e);
            size_t n = (size_t)(T / eta);
            ref_train_opts og = {.steps = n, .eta = eta, .keep_params = 1};
            ref_train_traj gd;
            cr_assert_eq(ref_train_run(&p, 64, &og, &gd, err, sizeof err), 0, "%s", err);
            double gap = metric_dist(gd.params + n * K, gf.params + K, K, w);
            gaps[e - 4] = gap;
            double x = -e, y = log2(gap);
            sx += x;
            sy += y;
            sxx += x * x;
            sxy += x * y;
            ref_train_traj_clear(&gd);
        }
        double slope = (5 * sxy - sx * sy) / (5 * sxx - sx * sx);
        cr_log_info("GD-GF gap %s: %.3e %.3e %.3e %.3e %.3e, fitted order %.4f (flow: %zu steps, "
                    "%.0f bits)",
                    no_test_variant_name(families[f]), gaps[0], gaps[1], gaps[2], gaps[3],
                    gaps[4], slope, gf.flow_accepted, gf.F_bits[1]);
        cr_expect(fabs(slope - 1) <= 0.1, "%s: fitted order %.4f, not 1 +- 0.1",
                  no_test_variant_name(families[f]), slope);
        cr_expect_gt(gaps[4], ldexp(gf.theta_norm[1], -25), "the smallest gap is below the "
                                                            "flow's certified accuracy");
        ref_train_traj_clear(&gf);
        no_problem_free(&p);
    }
}

/* fast's trajectory is a function of its inputs: two runs, the same bits. */
Test(train, fast_bitwise_reproducible)
{
    for (int f = 0; f < 3; f++) {
        no_problem p;
        gen(&p, families[f], NO_SCHEME_RK4, 1, NO_ADJOINT_DISCRETE);
        fast_train_traj a, b;
        char err[256];
        cr_assert_eq(fast_train_gd(&p, 50, 0.1, 1, NULL, NULL, &a, err, sizeof err), 0, "%s", err);
        cr_assert_eq(fast_train_gd(&p, 50, 0.1, 1, NULL, NULL, &b, err, sizeof err), 0, "%s", err);
        size_t n = 51 * sizeof(double);
        cr_expect(!memcmp(a.F, b.F, n) && !memcmp(a.gnorm2, b.gnorm2, n) &&
                      !memcmp(a.theta_norm, b.theta_norm, n) &&
                      !memcmp(a.theta_dist, b.theta_dist, n) &&
                      !memcmp(a.params, b.params, n * a.K),
                  "%s: two runs differ", no_test_variant_name(families[f]));
        fast_train_traj_clear(&a);
        fast_train_traj_clear(&b);
        no_problem_free(&p);
    }
}

#define SMALL "train --family linear --N 3 --D 3 --L 3 --d-out 2 "

/* Hostile options: one line on stderr, exit 2, the error object under --json. */
Test(train, cli_hostile_options, .timeout = NO_TEST_TIMEOUT_S)
{
    const char *bad[][2] = {
        {SMALL "--eta 0", "--eta"},
        {SMALL "--eta -0.1", "--eta"},
        {SMALL "--eta nan", "--eta"},
        {SMALL "--eta inf", "--eta"},
        {SMALL "--eta 1e-400x", "--eta"},
        {SMALL "--steps 0", "--steps"},
        {SMALL "--steps -5", "--steps"},
        {SMALL "--steps 99999999999999999999", "--steps"},
        {SMALL "--steps 12abc", "--steps"},
        {"train --family mlp --M 4096 --L 64 --steps 1000000 --impl both", "--steps"},
        {"train --family mlp --M 4096 --L 64 --steps 1000000 --max-memory 1M", "needs"},
        {SMALL "--bogus 1", "unknown option"},
        {SMALL "--impl gpu", "--impl"},
        {SMALL "--flow --impl both", "--flow"},
        {SMALL "--flow-tol 1e-9", "--flow"},
        {SMALL "--params", "--out"},
        {SMALL "--prec 12", "--prec"},
        {SMALL "--steps", "needs a value"},
        {SMALL "--json --eta 0", "--eta"},
        {SMALL "--eta 0 --json", "--eta"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        run_result r = run(bad[i][0]);
        expect_error_result(&r, bad[i][0], bad[i][1]);
        if (strstr(bad[i][0], "--json"))
            cr_expect(r.out[0], "%s: no error object on stdout", bad[i][0]);
        run_free(&r);
    }
}

/* --out: trajectory.npy is (steps+1) x 7, its columns those of
 * docs/formats.md; trajectory.csv has a header and steps+1 rows; a file of
 * the user's in DIR is untouched; --impl both exits 0 on a pass. */
Test(train, cli_out_and_verdict, .timeout = NO_TEST_TIMEOUT_S)
{
    char dir[PATH_MAX], path[PATH_MAX + 64];
    no_test_mkdtemp(dir, sizeof dir, "train");
    snprintf(path, sizeof path, "%s/mine.txt", dir);
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fputs("keep me\n", f);
    fclose(f);
    run_result r = runf(SMALL "--steps 20 --eta 0.05 --impl both --params --out %s", dir);
    cr_expect_eq(r.status, 0, "exit %d: %s %s", r.status, r.out, r.err);
    cr_expect(strstr(r.out, "pass"), "no pass in '%s'", r.out);
    run_free(&r);
    snprintf(path, sizeof path, "%s/trajectory.npy", dir);
    no_array a;
    char err[512];
    cr_assert_eq(no_npy_read(path, &a, 0, err, sizeof err), 0, "%s", err);
    cr_expect(a.ndim == 2 && a.shape[0] == 21 && a.shape[1] == 7, "shape %zu x %zu", a.shape[0],
              a.shape[1]);
    cr_expect(a.v[7 * 20 + 0] == 20 && a.v[7 * 20 + 1] == 20 * 0.05, "n, t columns");
    cr_expect(a.v[7 * 20 + 2] < a.v[2], "F did not decrease");
    cr_expect_geq(a.v[7 * 20 + 6], 60, "F_bits column");
    free(a.v);
    snprintf(path, sizeof path, "%s/params.npy", dir);
    cr_assert_eq(no_npy_read(path, &a, 0, err, sizeof err), 0, "%s", err);
    cr_expect(a.shape[0] == 21 && a.shape[1] == 27, "params shape %zu x %zu", a.shape[0],
              a.shape[1]);
    free(a.v);
    snprintf(path, sizeof path, "%s/trajectory.csv", dir);
    f = fopen(path, "r");
    cr_assert(f, "no trajectory.csv");
    int lines = 0, c;
    while ((c = fgetc(f)) != EOF)
        lines += c == '\n';
    fclose(f);
    cr_expect_eq(lines, 22, "trajectory.csv: %d lines", lines);
    snprintf(path, sizeof path, "%s/mine.txt", dir);
    cr_expect_eq(access(path, F_OK), 0, "train removed a file it did not write");
    /* the plot, where gnuplot is installed (make deps installs gnuplot-nox) */
    if (system("command -v gnuplot >/dev/null 2>&1") == 0) {
        snprintf(path, sizeof path, "%s/trajectory.png", dir);
        f = fopen(path, "rb");
        unsigned char magic[8] = {0};
        cr_expect(f && fread(magic, 1, 8, f) == 8 && !memcmp(magic, "\x89PNG\r\n\x1a\n", 8),
                  "no PNG at %s", path);
        if (f)
            fclose(f);
    }
    /* json and fast */
    r = run(SMALL "--steps 5 --impl fast --json");
    cr_expect_eq(r.status, 0);
    json_error_t je;
    json_t *o = json_loads(r.out, 0, &je);
    cr_expect(o && json_array_size(json_object_get(json_object_get(o, "records"), "F")) == 6,
              "json: %s", r.out);
    json_decref(o);
    run_free(&r);
    r = run("help train");
    cr_expect(r.status == 0 && strstr(r.out, "SYNOPSIS") && strstr(r.out, "EXIT STATUS") &&
                  strstr(r.out, "--family"),
              "help train");
    run_free(&r);
    no_test_rmtree(dir);
}
