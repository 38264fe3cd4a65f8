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
 *     hostile options exit 2 with one line (and the JSON error object). */
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
        {"width --family mlp", "rff only"},
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
