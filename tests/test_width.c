/* test_width.c - the width limit (proofs-notes/width-limit.md, oracle/width.h):
 *   - rff GD from W = 0 with q fresh features approaches kernel GD with the
 *     true kernel at the Monte-Carlo rate: the 95% t-interval of the fitted
 *     exponent of the mean loss difference and of the RMS output difference
 *     contains -1/2 (Gaussian and Matern-5/2; q = 2^4..2^12 as the command's
 *     default, 8 draws per q; N = 4, D = 3, L = 4, 3 steps so that the suite
 *     runs in seconds: about 5 s CPU in all);
 *   - fast's rff runs give the differences the reference gives, to 1e-6 of
 *     their size (why fast may be used: its error is negligible against the
 *     Monte-Carlo differences measured);
 *   - Student's t quantiles against printed tables;
 *   - `nodeoracle width`: --json valid against docs/report.schema.json,
 *     --out writes width.csv (and width.png with gnuplot) and nothing else,
 *     hostile options exit 2 with one line (and the JSON error object).
 * Suite width_mlp, the mean-field limit (width-limit.md 8-11):
 *   - i.i.d. initialisation: the 95% intervals of the fitted exponents of
 *     the spread over 8 seeds of F_M(n) (n = 0 and n = steps) and of the
 *     trajectory error contain -1/2 (propagation of chaos);
 *   - quadrature initialisation: the trajectory error's interval lies below
 *     -1/2 and its slope below the i.i.d. interval, its size at Mmax below
 *     the i.i.d. one;
 *   - the centred Sobol net: primitive polynomials, every coordinate exactly
 *     the midpoint quantile grid; the normal quantile inverts erfc;
 *   - `nodeoracle width --family mlp`: --json (against the schema with
 *     the report schema), --out, hostile options. */
#define _XOPEN_SOURCE 700
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "test_run.h"
#include "test_util.h"
#include "width.h"

NO_TEST_SCRATCH("no_width_")

static no_width_opts small_opts(no_kernel kernel)
{
    no_width_opts o;
    memset(&o, 0, sizeof o);
    no_spec_default(&o.spec);
    o.spec.family = NO_FAMILY_RFF;
    o.spec.kernel = kernel;
    o.spec.N = 4;
    o.spec.d_in = 2;
    o.spec.d_out = 2;
    o.spec.D = 3;
    o.spec.L = 4;
    o.spec.seed = 7;
    o.qmin = 16;
    o.qmax = 4096;
    o.spec.q = o.qmin;
    o.seeds = 8;
    o.steps = 3;
    o.eta = 1;
    o.prec = 128;
    o.level = 0.95;
    o.impl = NO_WIDTH_FAST;
    return o;
}

static void expect_rate(no_kernel kernel, const char *name)
{
    no_width_opts o = small_opts(kernel);
    no_width_result r;
    char err[512];
    cr_assert_eq(no_width_run(&o, &r, err, sizeof err), 0, "%s", err);
    cr_assert_eq(r.nq, 9);
    size_t ns[2] = {1, o.steps};
    for (int s = 0; s < 2; s++)
        for (int k = 0; k < NO_WIDTH_NQ; k++) {
            const no_fit *f = &r.fit[k][ns[s] - 1];
            const char *what = k == NO_WIDTH_LOSS ? "mean |dF|" : "RMS output difference";
            cr_expect(f->ok, "%s n=%zu %s: no fit", name, ns[s], what);
            cr_expect(f->lo <= -0.5 && -0.5 <= f->hi,
                      "%s n=%zu %s: fitted exponent %.4f, 95%% interval [%.4f, %.4f] "
                      "(se %.4f) excludes -1/2",
                      name, ns[s], what, f->slope, f->lo, f->hi, f->se);
            cr_log_info("width %s n=%zu %s: exponent %.4f [%.4f, %.4f]", name, ns[s], what,
                        f->slope, f->lo, f->hi);
        }
    no_width_result_clear(&r);
}

Test(width, exponent_interval_contains_minus_half_gaussian, .timeout = NO_TEST_TIMEOUT_S)
{
    expect_rate(NO_KERNEL_GAUSSIAN, "gaussian ell=1");
}

Test(width, exponent_interval_contains_minus_half_matern, .timeout = NO_TEST_TIMEOUT_S)
{
    expect_rate(NO_KERNEL_MATERN, "matern nu=2.5");
}

/* The rff runs of fast and of the reference give the same differences up to
 * 1e-6 of their size: fast's rounding (about 1e-13 relative) is invisible at
 * the Monte-Carlo scale the fit sees. */
Test(width, fast_differences_equal_ref_differences, .timeout = NO_TEST_TIMEOUT_S)
{
    no_width_opts o = small_opts(NO_KERNEL_GAUSSIAN);
    o.qmin = 8;
    o.qmax = 32;
    o.seeds = 2;
    o.steps = 2;
    o.spec.q = o.qmin;
    no_width_result a, b;
    char err[512];
    cr_assert_eq(no_width_run(&o, &a, err, sizeof err), 0, "%s", err);
    o.impl = NO_WIDTH_REF;
    cr_assert_eq(no_width_run(&o, &b, err, sizeof err), 0, "%s", err);
    double worst = 0;
    for (int k = 0; k < NO_WIDTH_NQ; k++)
        for (size_t e = 0; e < a.steps * a.nq * a.seeds; e++) {
            cr_assert(b.diff[k][e] > 0);
            worst = fmax(worst, fabs(a.diff[k][e] - b.diff[k][e]) / b.diff[k][e]);
        }
    cr_expect(worst < 1e-6, "fast vs ref: differences differ by %.3g of their size", worst);
    cr_log_info("width fast vs ref: largest relative change of a difference %.3g", worst);
    no_width_result_clear(&a);
    no_width_result_clear(&b);
}

Test(width, t_quantiles)
{
    /* two-sided 95% and 99% critical values, 4 printed digits */
    struct {
        double p, dof, t;
    } tab[] = {{0.975, 1, 12.706}, {0.975, 2, 4.303}, {0.975, 5, 2.571}, {0.975, 7, 2.365},
               {0.975, 30, 2.042}, {0.995, 5, 4.032}, {0.995, 7, 3.499}, {0.95, 10, 1.812}};
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
        double t = no_fit_t_quantile(tab[i].p, tab[i].dof);
        cr_expect(fabs(t - tab[i].t) < 6e-4 * tab[i].t, "t(%g, %g) = %.6f, table %.3f",
                  tab[i].p, tab[i].dof, t, tab[i].t);
        cr_expect(fabs(no_fit_t_quantile(1 - tab[i].p, tab[i].dof) + t) < 1e-12);
    }
    /* an exact line: slope recovered, zero width */
    double x[4] = {16, 32, 64, 128}, y[4];
    for (int i = 0; i < 4; i++)
        y[i] = 3 * pow(x[i], -0.5);
    no_fit f = no_fit_loglog(x, y, 4, 0.95);
    cr_expect(f.ok && fabs(f.slope + 0.5) < 1e-12 && f.hi - f.lo < 1e-10);
}

Test(width, cli_json_out_and_errors, .init = scratch_setup, .fini = scratch_teardown,
     .timeout = NO_TEST_TIMEOUT_S)
{
    char dir[PATH_MAX], other[PATH_MAX];
    IN_SCRATCH(dir, "out");
    no_test_mkdirs(dir, 0777);
    IN_SCRATCH(other, "out/keep.txt");
    FILE *f = fopen(other, "w");
    cr_assert_not_null(f);
    fputs("not ours\n", f);
    fclose(f);
    run_result r = runf("width --N 4 --D 3 --L 4 --qmin 8 --qmax 32 --seeds 3 --steps 2 "
                        "--out '%s' --json",
                        dir);
    cr_assert_eq(r.status, 0, "width --json: status %d, stderr %s", r.status, r.err);
    json_error_t jerr;
    json_t *o = json_loads(r.out, 0, &jerr);
    cr_assert_not_null(o, "not JSON: %s", r.out);
    cr_expect_str_eq(json_string_value(json_object_get(o, "kind")), "width");
    cr_expect_eq(json_array_size(json_object_get(o, "rows")), 2 * 3);
    cr_expect_eq(json_array_size(json_object_get(o, "fits")), 2 * 2);
    json_decref(o);
    /* schema (skipped with a warning when python3-jsonschema is missing) */
    char doc[PATH_MAX];
    IN_SCRATCH(doc, "report.json");
    no_test_expect_schema_valid(r.out, doc, "width --json");
    run_free(&r);
    /* the files: width.csv (+ width.png with gnuplot), keep.txt untouched */
    char csv[PATH_MAX + 16];
    snprintf(csv, sizeof csv, "%s/width.csv", dir);
    FILE *c = fopen(csv, "r");
    cr_assert_not_null(c, "no width.csv");
    char line[256];
    cr_assert_not_null(fgets(line, sizeof line, c));
    cr_expect_str_eq(line, "n,q,seeds,loss_mean,loss_sd,output_rms,output_sd,F_kernel\n");
    int rows = 0;
    while (fgets(line, sizeof line, c))
        rows++;
    fclose(c);
    cr_expect_eq(rows, 2 * 3);
    cr_expect_eq(access(other, F_OK), 0, "width deleted a file it did not write");
    run_result gp = run_shell("command -v gnuplot");
    if (gp.status == 0) {
        char png[PATH_MAX + 16];
        snprintf(png, sizeof png, "%s/width.png", dir);
        cr_expect_eq(access(png, F_OK), 0, "gnuplot is installed but width.png is missing");
    }
    run_free(&gp);
    /* hostile options: one line, exit 2; the error object under --json */
    const char *const bad[][2] = {
        {"width --qmin 3", "powers of two"},
        {"width --qmin 64 --qmax 128", "4 --qmin"},
        {"width --seeds 1", "--seeds"},
        {"width --steps 0", "--steps"},
        {"width --eta -1", "--eta"},
        {"width --eta nan", "--eta"},
        {"width --level 1", "--level"},
        {"width --impl gpu", "--impl"},
        {"width --family linear", "rff (q -> infinity) and mlp"},
        {"width --kernel matern --nu 1.7", "--nu"},
        {"width --adjoint continuous", "discrete"},
        {"width --q 64", "--qmin"},
        {"width --param-scale 2", "W = 0"},
        {"width --N 0", NULL},
        {"width --prec 12", "--prec"},
        {"width --qmax", "needs a value"},
        {"width --bogus 1", "unknown option"},
        {"width --qmax 99999999999999999999999", "--qmax"},
    };
    expect_usage_errors(bad, sizeof bad / sizeof bad[0]);
    run_result h = run("help width");
    cr_expect_eq(h.status, 0);
    cr_expect(strstr(h.out, "EXIT STATUS") && strstr(h.out, "--qmin"));
    run_free(&h);
}

/* ---- suite width_mlp: the mean-field limit ------------------------------ */

/* The command's default problem (N = 8, D = 4, L = 8, tanh, Euler, seed 1),
 * M = 2^3..2^10, 5 steps, eta 1, 8 seeds: about 10 s CPU for both inits. */
static no_width_mlp_opts mlp_opts(no_width_init init)
{
    no_width_mlp_opts o;
    memset(&o, 0, sizeof o);
    no_spec_default(&o.spec);
    o.spec.family = NO_FAMILY_MLP;
    o.Mmin = 8;
    o.Mmax = 1024;
    o.spec.M = o.Mmin;
    o.seeds = 8;
    o.steps = 5;
    o.eta = 1;
    o.prec = 128;
    o.level = 0.95;
    o.impl = NO_WIDTH_FAST;
    o.init = init;
    return o;
}

static int fit_contains(const no_fit *f, double x)
{
    return f->ok && f->lo <= x && x <= f->hi;
}

Test(width_mlp, iid_exponents_contain_minus_half_quadrature_faster,
     .timeout = NO_TEST_TIMEOUT_S)
{
    no_width_mlp_opts o = mlp_opts(NO_WIDTH_IID);
    no_width_mlp_result iid, quad;
    char err[512];
    cr_assert_eq(no_width_mlp_run(&o, &iid, err, sizeof err), 0, "%s", err);
    cr_assert_eq(iid.nM, 8);
    cr_assert_eq(iid.M_ref, 16 * 1024);
    size_t ns[2] = {0, o.steps};
    for (int s = 0; s < 2; s++) {
        const no_fit *f = &iid.fit[NO_WIDTH_MLP_SPREAD][ns[s]];
        cr_expect(fit_contains(f, -0.5),
                  "iid n=%zu spread: exponent %.4f, 95%% interval [%.4f, %.4f] excludes -1/2",
                  ns[s], f->slope, f->lo, f->hi);
        cr_log_info("width_mlp iid n=%zu spread: exponent %.4f [%.4f, %.4f]", ns[s], f->slope,
                    f->lo, f->hi);
    }
    const no_fit *ti = &iid.traj_fit;
    cr_expect(fit_contains(ti, -0.5),
              "iid trajectory error: exponent %.4f, 95%% interval [%.4f, %.4f] excludes -1/2",
              ti->slope, ti->lo, ti->hi);
    o = mlp_opts(NO_WIDTH_QUADRATURE);
    cr_assert_eq(no_width_mlp_run(&o, &quad, err, sizeof err), 0, "%s", err);
    cr_assert_eq(quad.draws, 1);
    cr_expect(!quad.fit[NO_WIDTH_MLP_SPREAD][0].ok, "quadrature has no spread to fit");
    const no_fit *tq = &quad.traj_fit;
    cr_assert(tq->ok);
    /* faster than the Monte-Carlo rate: its whole interval below -1/2, and
     * the slope below the iid interval (a margin of the iid half-width) */
    cr_expect(tq->hi < -0.5, "quadrature: exponent %.4f, interval [%.4f, %.4f] reaches -1/2",
              tq->slope, tq->lo, tq->hi);
    cr_expect(tq->slope < ti->lo,
              "quadrature exponent %.4f not below the iid interval [%.4f, %.4f]", tq->slope,
              ti->lo, ti->hi);
    /* and smaller, not only steeper: at M = Mmax */
    cr_expect(quad.traj[quad.nM - 1] < iid.traj[iid.nM - 1],
              "quadrature error %.3g at M = %zu not below the iid RMS error %.3g",
              quad.traj[quad.nM - 1], quad.M[quad.nM - 1], iid.traj[iid.nM - 1]);
    /* the same limit: F_ref and the iid means agree within the iid spread */
    size_t last = o.steps * iid.nM + iid.nM - 1;
    cr_expect(fabs(iid.mean[last] - iid.F_ref[o.steps]) < 4 * iid.sd[last] / sqrt(8.0),
              "iid mean %.8g vs quadrature target %.8g (sd %.3g)", iid.mean[last],
              iid.F_ref[o.steps], iid.sd[last]);
    cr_log_info("width_mlp trajectory: iid %.4f [%.4f, %.4f], quadrature %.4f [%.4f, %.4f]",
                ti->slope, ti->lo, ti->hi, tq->slope, tq->lo, tq->hi);
    no_width_mlp_result_clear(&iid);
    no_width_mlp_result_clear(&quad);
}

/* The t-value of the 2-D projection (c1, c2) of the first 2^m points: the
 * least t such that every elementary box 2^-d1 x 2^-d2, d1 + d2 = m - t,
 * holds exactly 2^t points. */
static unsigned net_t(const double *u, size_t dim, unsigned m, size_t c1, size_t c2)
{
    size_t M = (size_t)1 << m;
    unsigned *cnt = calloc(M, sizeof *cnt);
    cr_assert_not_null(cnt);
    unsigned t = 0;
    for (; t < m; t++) {
        int ok = 1;
        for (unsigned d1 = 0; d1 <= m - t && ok; d1++) {
            unsigned d2 = m - t - d1;
            memset(cnt, 0, M * sizeof *cnt);
            for (size_t j = 0; j < M; j++) {
                size_t i1 = (size_t)(u[j * dim + c1] * (double)((size_t)1 << d1));
                size_t i2 = (size_t)(u[j * dim + c2] * (double)((size_t)1 << d2));
                cnt[(i1 << d2) | i2]++;
            }
            for (size_t b = 0; b < ((size_t)1 << (m - t)) && ok; b++)
                ok = cnt[b] == (1u << t);
        }
        if (ok)
            break;
    }
    free(cnt);
    return t;
}

Test(width_mlp, sobol_net_and_normal_quantile)
{
    /* every coordinate of the first 2^m points is a permutation of k / 2^m
     * (centred: (k + 1/2) / 2^m): each marginal is the midpoint quantile grid */
    for (size_t m = 0; m <= 10; m++) {
        size_t M = (size_t)1 << m, dim = NO_WIDTH_SOBOL_DIMS;
        double *u = malloc(M * dim * sizeof *u);
        cr_assert_not_null(u);
        cr_assert_eq(no_width_sobol_centred(M, dim, u), 0);
        for (size_t c = 0; c < dim; c++) {
            char *seen = calloc(M, 1);
            for (size_t j = 0; j < M; j++) {
                double k = u[j * dim + c] * (double)M - 0.5;
                cr_assert(k >= 0 && k < (double)M && k == floor(k),
                          "M=%zu c=%zu j=%zu: %.17g is not a midpoint", M, c, j, u[j * dim + c]);
                cr_assert(!seen[(size_t)k], "M=%zu c=%zu: midpoint %g twice", M, c, k);
                seen[(size_t)k] = 1;
            }
            free(seen);
        }
        free(u);
    }
    cr_expect_eq(no_width_sobol_centred(3, 1, (double[3]){0}), 0);
    cr_expect_eq(no_width_sobol_centred(4, NO_WIDTH_SOBOL_DIMS + 1, NULL), -1);
    cr_expect_eq(no_width_sobol_centred(0, 1, NULL), -1);
    /* the joint quality, a check of the direction table: every 2-D projection
     * of the first 2^9 points is a (t, 9, 2)-net with t <= 5 (measured: 5 at
     * worst over the 210 pairs, 4 among the 9 dimensions of D = 4; a
     * mistyped direction number typically leaves a pair with t near m) */
    {
        unsigned m = 9, worst = 0;
        size_t M = (size_t)1 << m, dim = NO_WIDTH_SOBOL_DIMS;
        double *u = malloc(M * dim * sizeof *u);
        cr_assert_not_null(u);
        cr_assert_eq(no_width_sobol_centred(M, dim, u), 0);
        for (size_t c1 = 0; c1 < dim; c1++)
            for (size_t c2 = c1 + 1; c2 < dim; c2++) {
                unsigned t = net_t(u, dim, m, c1, c2);
                cr_expect(t <= 5, "dimensions %zu, %zu: t = %u", c1, c2, t);
                if (c2 < 9 && t > worst)
                    worst = t;
            }
        cr_expect(worst <= 4, "the 9 dimensions of D = 4: t = %u", worst);
        free(u);
    }
    /* Phi(Phi^-1(p)) = p to rounding, tails included */
    double ps[] = {1e-300, 1e-20, 1e-5, 0.02, 0.02425, 0.1, 0.3, 0.5, 0.7, 0.97575, 0.999,
                   1 - 1e-12};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        double x = no_width_normal_quantile(ps[i]);
        double back = x < 0 ? 0.5 * erfc(-x / sqrt(2.0)) : 1 - 0.5 * erfc(x / sqrt(2.0));
        double tol = x < 0 ? 1e-13 * ps[i] : 1e-15;
        cr_expect(fabs(back - ps[i]) <= tol, "Phi(Phi^-1(%g)) = %.17g", ps[i], back);
    }
    cr_expect_eq(no_width_normal_quantile(0.5), 0.0);
    cr_expect(isnan(no_width_normal_quantile(NAN)) && isnan(no_width_normal_quantile(2)));
}


Test(width_mlp, cli_json_out_and_errors, .init = scratch_setup, .fini = scratch_teardown,
     .timeout = NO_TEST_TIMEOUT_S)
{
    char dir[PATH_MAX], doc[PATH_MAX];
    IN_SCRATCH(dir, "mlp");
    IN_SCRATCH(doc, "mlp.json");
    const char *inits[2] = {"iid", "quadrature"};
    for (int k = 0; k < 2; k++) {
        run_result r = runf("width --family mlp --init %s --N 4 --D 2 --L 2 --Mmin 4 --Mmax 16 "
                            "--seeds 3 --steps 2 --out '%s' --json",
                            inits[k], dir);
        cr_assert_eq(r.status, 0, "width --family mlp --json: status %d, stderr %s", r.status,
                     r.err);
        json_error_t jerr;
        json_t *o = json_loads(r.out, 0, &jerr);
        cr_assert_not_null(o, "not JSON: %s", r.out);
        cr_expect_str_eq(json_string_value(json_object_get(o, "kind")), "width");
        cr_expect_str_eq(json_string_value(json_object_get(o, "family")), "mlp");
        cr_expect_str_eq(json_string_value(json_object_get(o, "init")), inits[k]);
        cr_expect_eq(json_integer_value(json_object_get(o, "M_ref")), 16 * 16);
        cr_expect_eq(json_array_size(json_object_get(o, "rows")), 3 * 3);
        cr_expect_eq(json_array_size(json_object_get(o, "trajectory")), 3);
        /* per n: spread and error (iid) or error; then the trajectory fit */
        cr_expect_eq(json_array_size(json_object_get(o, "fits")), 3 * (k ? 1 : 2) + 1);
        cr_expect_eq(json_integer_value(json_object_get(o, "seeds")), k ? 1 : 3);
        json_decref(o);
        no_test_expect_schema_valid(r.out, doc, inits[k]);
        run_free(&r);
        char csv[PATH_MAX + 16], line[256];
        snprintf(csv, sizeof csv, "%s/width.csv", dir);
        FILE *c = fopen(csv, "r");
        cr_assert_not_null(c, "no width.csv");
        cr_assert_not_null(fgets(line, sizeof line, c));
        cr_expect_str_eq(line, "n,M,draws,F_mean,F_sd,error_rms,F_ref,error_sup\n");
        int rows = 0;
        while (fgets(line, sizeof line, c))
            rows++;
        fclose(c);
        cr_expect_eq(rows, 3 * 3);
    }
    /* the rff report still validates against the merged schema */
    run_result rr = run("width --N 4 --D 3 --L 4 --qmin 8 --qmax 32 --seeds 2 --steps 1 --json");
    cr_assert_eq(rr.status, 0, "%s", rr.err);
    no_test_expect_schema_valid(rr.out, doc, "rff");
    run_free(&rr);
    /* text output: the fit lines and the table */
    run_result t = run("width --family mlp --N 4 --D 2 --L 2 --Mmin 4 --Mmax 16 --seeds 3 "
                       "--steps 2");
    cr_expect_eq(t.status, 0);
    cr_expect(strstr(t.out, "sup_n error") && strstr(t.out, "spread") &&
                  strstr(t.out, "M_ref = 256"),
              "%s", t.out);
    run_free(&t);
    const char *const bad[][2] = {
        {"width --family mlp --Mmin 3", "powers of two"},
        {"width --family mlp --Mmin 64 --Mmax 128", "4 --Mmin"},
        {"width --family mlp --Mmax 131072", "--Mmax"},
        {"width --family mlp --L 64 --Mmax 65536", "2^26"},
        {"width --family mlp --init sobol", "--init"},
        {"width --family mlp --init", "needs a value"},
        {"width --family mlp --M 64", "--Mmin..--Mmax"},
        {"width --family mlp --qmin 16", "rff"},
        {"width --family mlp --kernel matern", "rff"},
        {"width --family mlp --D 11", "D <= 10"},
        {"width --family mlp --seeds 1", "--seeds"},
        {"width --family mlp --steps 0", "--steps"},
        {"width --family mlp --eta inf", "--eta"},
        {"width --family mlp --level 0", "--level"},
        {"width --family mlp --activation swish", "--activation"},
        {"width --Mmin 8", "--family mlp"},
        {"width --init quadrature", "--family mlp"},
        {"width --family mlp --param-scale -1", "param_scale"},
    };
    expect_usage_errors(bad, sizeof bad / sizeof bad[0]);
    run_result h = run("help width");
    cr_expect(strstr(h.out, "--Mmin") && strstr(h.out, "--init"));
    run_free(&h);
}
