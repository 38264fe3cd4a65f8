/* test_depth.c - the depth limit of training (proofs-notes/depth-limit.md,
 * oracle/depth.h):
 *   - the loss curves of GD on L layers converge as L grows at the derived
 *     order min(p, 2) at every iterate n >= 1, for linear, rff and mlp x
 *     euler (p = 1), heun (2), rk4 (4), dopri5 (5); |G|^2 too where p >= 2;
 *   - at n = 0 the loss (one forward pass) converges at p itself, while |G|^2
 *     in the same runs converges at 2: the cap comes from the parameters
 *     being piecewise constant in time, not from the scheme;
 *   - a GD that forgets the metric's 1/h (step eta h on each layer) is seen:
 *     its loss curves converge at order 1 (fitted 0.87..0.97), not 2;
 *   - ref and fast give the same curves and the same orders;
 *   - tied parameters: layer 0 of the generator, the same for every L;
 *   - `nodeoracle depth`: --json valid against the schema, --out files,
 *     hostile options exit 2 with one line.
 * Orders are fitted over L = 64..1024 (four successive differences), where
 * every configuration here is asymptotic to within 0.11 (the fitted orders
 * and intervals are logged); the tolerance on an order is 0.15, the one the
 * convergence tests use (test_convergence.c). */
#define _XOPEN_SOURCE 700
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "depth.h"
#include "fast_train.h"
#include "test_run.h"
#include "test_util.h"

NO_TEST_SCRATCH("no_depth_")

#define ORDER_TOL 0.15

static no_depth_opts opts(no_family fam, no_scheme_id scheme, size_t Lmin, size_t Lmax)
{
    no_depth_opts o;
    memset(&o, 0, sizeof o);
    no_spec_default(&o.spec);
    o.spec.family = fam;
    if (fam == NO_FAMILY_RFF)
        o.spec.q = 16;
    if (fam == NO_FAMILY_MLP)
        o.spec.M = 8;
    o.spec.scheme = scheme;
    o.Lmin = Lmin;
    o.Lmax = Lmax;
    o.spec.L = Lmin;
    o.steps = 3;
    o.eta = 1;
    o.prec = 128;
    o.level = 0.95;
    o.impl = NO_DEPTH_FAST;
    return o;
}

static const char *fam_name(no_family f)
{
    return f == NO_FAMILY_LINEAR ? "linear" : f == NO_FAMILY_RFF ? "rff" : "mlp";
}

/* The fitted order of quantity k at n is within ORDER_TOL of want. */
static void expect_order(const no_depth_result *r, int k, size_t n, int want, const char *what)
{
    const no_fit *f = &r->fit[k][n];
    cr_expect(f->ok, "%s n=%zu %s: no fit (%zu differences above the floor)", what, n,
              k ? "gnorm2" : "loss", r->kept[k][n]);
    if (!f->ok)
        return;
    cr_expect(fabs(-f->slope - want) <= ORDER_TOL,
              "%s n=%zu %s: order %.4f [%.4f, %.4f], derived %d", what, n,
              k ? "gnorm2" : "loss", -f->slope, -f->hi, -f->lo, want);
    cr_log_info("%s n=%zu %s: order %.4f [%.4f, %.4f] (derived %d)", what, n,
                k ? "gnorm2" : "loss", -f->slope, -f->hi, -f->lo, want);
}

Test(depth, loss_order_every_family_and_scheme, .timeout = NO_TEST_TIMEOUT_S)
{
    no_family fams[] = {NO_FAMILY_LINEAR, NO_FAMILY_RFF, NO_FAMILY_MLP};
    no_scheme_id schemes[] = {NO_SCHEME_EULER, NO_SCHEME_HEUN, NO_SCHEME_RK4, NO_SCHEME_DOPRI5};
    for (size_t a = 0; a < 3; a++)
        for (size_t b = 0; b < 4; b++) {
            no_depth_opts o = opts(fams[a], schemes[b], 64, 1024);
            no_depth_result r;
            char err[512], what[64];
            cr_assert_eq(no_depth_run(&o, &r, err, sizeof err), 0, "%s", err);
            snprintf(what, sizeof what, "%s %s", fam_name(fams[a]),
                     no_scheme_name(schemes[b]));
            int p = r.scheme_order, want = p < 2 ? p : 2;
            for (size_t n = 1; n <= o.steps; n++) {
                cr_expect_eq(r.expected[NO_DEPTH_LOSS][n], want);
                expect_order(&r, NO_DEPTH_LOSS, n, want, what);
                /* |G|^2 for p >= 2 only: with Euler its O(h) term is
                 * 2 <P g, dG>, whose constant nearly vanishes here, and
                 * the O(h^2) projection term crosses it (depth-limit.md) */
                if (p >= 2)
                    expect_order(&r, NO_DEPTH_GNORM2, n, want, what);
            }
            /* the runs moved: the loss fell by more than 10% */
            double F0 = r.val[NO_DEPTH_LOSS][0], F3 = r.val[NO_DEPTH_LOSS][o.steps * r.nL];
            cr_expect(F3 < 0.9 * F0, "%s: F %.6g -> %.6g, GD did not move", what, F0, F3);
            no_depth_result_clear(&r);
        }
}

Test(depth, forward_at_p_gradient_at_2, .timeout = NO_TEST_TIMEOUT_S)
{
    /* rk4 on rff from L = 4 (the loss at n = 0 reaches the rounding floor
     * by L ~ 128); in the same runs |G|^2 at n = 0 converges at 2 */
    no_depth_opts o = opts(NO_FAMILY_RFF, NO_SCHEME_RK4, 4, 64);
    o.steps = 1;
    no_depth_result r;
    char err[512];
    cr_assert_eq(no_depth_run(&o, &r, err, sizeof err), 0, "%s", err);
    cr_expect_eq(r.expected[NO_DEPTH_LOSS][0], 4);
    expect_order(&r, NO_DEPTH_LOSS, 0, 4, "rff rk4");
    expect_order(&r, NO_DEPTH_GNORM2, 0, 2, "rff rk4");
    no_depth_result_clear(&r);
    /* heun: both at 2 */
    o = opts(NO_FAMILY_MLP, NO_SCHEME_HEUN, 16, 256);
    o.steps = 1;
    cr_assert_eq(no_depth_run(&o, &r, err, sizeof err), 0, "%s", err);
    expect_order(&r, NO_DEPTH_LOSS, 0, 2, "mlp heun");
    expect_order(&r, NO_DEPTH_GNORM2, 0, 2, "mlp heun");
    no_depth_result_clear(&r);
}

Test(depth, forgotten_metric_factor_is_seen, .timeout = NO_TEST_TIMEOUT_S)
{
    /* GD with the Euclidean gradient dF/dtheta_k = h G_k: every layer moves
     * by eta h G_k, so training vanishes as L grows and the curves converge
     * at order 1 to the untrained loss; the correct GD converges at 2 */
    no_depth_opts o = opts(NO_FAMILY_LINEAR, NO_SCHEME_RK4, 64, 1024);
    size_t nL = 5, steps = 3;
    double F[5][4], x[5], d[4];
    char err[512];
    for (size_t i = 0; i < nL; i++) {
        no_spec s = o.spec;
        s.L = o.Lmin << i;
        x[i] = (double)s.L;
        no_problem p;
        cr_assert_eq(no_problem_generate(&p, &s, err, sizeof err), 0, "%s", err);
        no_depth_tie(&p);
        fast_train_traj t;
        cr_assert_eq(fast_train_gd(&p, steps, o.eta / (double)s.L, 0, NULL, NULL, &t, err,
                                   sizeof err),
                     0, "%s", err);
        for (size_t n = 0; n <= steps; n++)
            F[i][n] = t.F[n];
        fast_train_traj_clear(&t);
        no_problem_free(&p);
    }
    for (size_t n = 1; n <= steps; n++) {
        for (size_t i = 0; i + 1 < nL; i++)
            d[i] = fabs(F[i][n] - F[i + 1][n]);
        no_fit f = no_fit_loglog(x, d, nL - 1, 0.95);
        /* seen: its order is far from the derived 2 (it tends to 1; at
         * these depths 0.87 to 0.97) and its interval excludes 2 */
        cr_expect(f.ok && -f.slope < 2 - 0.5 && -f.lo < 2,
                  "n=%zu: the unnormalised GD converges at %.4f [%.4f, %.4f], not told "
                  "apart from 2",
                  n, -f.slope, -f.hi, -f.lo);
        cr_log_info("forgotten 1/h, n=%zu: order %.4f [%.4f, %.4f] (correct GD: 2)", n,
                    -f.slope, -f.hi, -f.lo);
    }
}

Test(depth, ref_and_fast_agree, .timeout = NO_TEST_TIMEOUT_S)
{
    no_family fams[] = {NO_FAMILY_LINEAR, NO_FAMILY_RFF};
    no_scheme_id schemes[] = {NO_SCHEME_RK4, NO_SCHEME_EULER};
    for (int c = 0; c < 2; c++) {
        no_depth_opts o = opts(fams[c], schemes[c], 8, 64);
        o.steps = 2;
        no_depth_result a, b;
        char err[512];
        cr_assert_eq(no_depth_run(&o, &a, err, sizeof err), 0, "%s", err);
        o.impl = NO_DEPTH_REF;
        cr_assert_eq(no_depth_run(&o, &b, err, sizeof err), 0, "%s", err);
        double worst = 0;
        for (int k = 0; k < NO_DEPTH_NQ; k++)
            for (size_t e = 0; e < (o.steps + 1) * a.nL; e++)
                worst = fmax(worst, fabs(a.val[k][e] - b.val[k][e]) / fabs(b.val[k][e]));
        /* fast's relative error along these runs: a few hundred ulps at most
         * (training.md's bound is far larger); 1e-12 is 10^3 below the
         * smallest difference fitted here (1e-9 relative) */
        cr_expect(worst < 1e-12, "%s: fast vs ref relative %.3g", fam_name(fams[c]), worst);
        for (int k = 0; k < NO_DEPTH_NQ; k++)
            for (size_t n = 0; n <= o.steps; n++)
                if (a.fit[k][n].ok && b.fit[k][n].ok)
                    cr_expect(fabs(a.fit[k][n].slope - b.fit[k][n].slope) < 1e-3,
                              "%s n=%zu: orders %.5f (fast) vs %.5f (ref)", fam_name(fams[c]),
                              n, -a.fit[k][n].slope, -b.fit[k][n].slope);
        cr_log_info("depth %s: fast vs ref, largest relative difference %.3g",
                    fam_name(fams[c]), worst);
        no_depth_result_clear(&a);
        no_depth_result_clear(&b);
    }
}

Test(depth, tied_parameters_do_not_depend_on_L)
{
    no_spec s;
    no_spec_default(&s);
    s.family = NO_FAMILY_MLP;
    s.M = 5;
    no_problem a, b;
    char err[256];
    s.L = 4;
    cr_assert_eq(no_problem_generate(&a, &s, err, sizeof err), 0, "%s", err);
    s.L = 16;
    cr_assert_eq(no_problem_generate(&b, &s, err, sizeof err), 0, "%s", err);
    no_depth_tie(&a);
    no_depth_tie(&b);
    no_param_info info[NO_MAX_PARAMS];
    int np = no_spec_params(&b.spec, info);
    cr_assert_eq(np, 3);
    for (int j = 0; j < np; j++) {
        const double *va = no_problem_param(&a, info[j].name),
                     *vb = no_problem_param(&b, info[j].name);
        size_t per = info[j].per_layer;
        for (size_t k = 0; k < 16; k++)
            cr_expect(!memcmp(vb + k * per, va, per * sizeof *va),
                      "%s: layer %zu of L = 16 is not layer 0 of L = 4", info[j].name, k);
    }
    no_problem_free(&a);
    no_problem_free(&b);
}

Test(depth, cli_json_out_and_errors, .init = scratch_setup, .fini = scratch_teardown,
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
    run_result r = runf("depth --scheme heun --Lmin 4 --Lmax 32 --steps 2 --out '%s' --json",
                        dir);
    cr_assert_eq(r.status, 0, "depth --json: status %d, stderr %s", r.status, r.err);
    json_error_t jerr;
    json_t *o = json_loads(r.out, 0, &jerr);
    cr_assert_not_null(o, "not JSON: %s", r.out);
    cr_expect_str_eq(json_string_value(json_object_get(o, "kind")), "depth");
    cr_expect_eq(json_array_size(json_object_get(o, "rows")), 3 * 4);
    cr_expect_eq(json_array_size(json_object_get(o, "fits")), 3 * 2);
    cr_expect_eq(json_integer_value(json_object_get(o, "scheme_order")), 2);
    json_decref(o);
    char doc[PATH_MAX];
    IN_SCRATCH(doc, "report.json");
    no_test_expect_schema_valid(r.out, doc, "depth --json");
    run_free(&r);
    char csv[PATH_MAX + 16];
    snprintf(csv, sizeof csv, "%s/depth.csv", dir);
    FILE *c = fopen(csv, "r");
    cr_assert_not_null(c, "no depth.csv");
    char line[512];
    cr_assert_not_null(fgets(line, sizeof line, c));
    cr_expect_str_eq(line, "n,L,F,dF,gnorm2,dgnorm2\n");
    int rows = 0;
    while (fgets(line, sizeof line, c))
        rows++;
    fclose(c);
    cr_expect_eq(rows, 3 * 4);
    cr_expect_eq(access(other, F_OK), 0, "depth deleted a file it did not write");
    run_result gp = run_shell("command -v gnuplot");
    if (gp.status == 0) {
        char png[PATH_MAX + 16];
        snprintf(png, sizeof png, "%s/depth.png", dir);
        cr_expect_eq(access(png, F_OK), 0, "gnuplot is installed but depth.png is missing");
    }
    run_free(&gp);
    /* the text report names every fit and the derived order */
    r = run("depth --scheme rk4 --Lmin 8 --Lmax 64 --steps 1 --quiet");
    cr_expect_eq(r.status, 0);
    cr_expect(strstr(r.out, "n=0 loss  : order") && strstr(r.out, "the derived order 4") &&
                  strstr(r.out, "n=1 loss  : order"),
              "%s", r.out);
    run_free(&r);
    const char *const bad[][2] = {
        {"depth --Lmin 3", "powers of two"},
        {"depth --Lmin 16 --Lmax 64", "8 --Lmin"},
        {"depth --Lmax 32768", "--Lmax"},
        {"depth --steps 0", "--steps"},
        {"depth --eta 0", "--eta"},
        {"depth --eta inf", "--eta"},
        {"depth --level 0", "--level"},
        {"depth --impl gpu", "--impl"},
        {"depth --scaling sqrt", "ode scaling"},
        {"depth --family mlp --activation relu", "relu"},
        {"depth --L 8", "--Lmin"},
        {"depth --prec 10", "--prec"},
        {"depth --N 0", NULL},
        {"depth --steps", "needs a value"},
        {"depth --bogus 1", "unknown option"},
    };
    expect_usage_errors(bad, sizeof bad / sizeof bad[0]);
    run_result h = run("help depth");
    cr_expect_eq(h.status, 0);
    cr_expect(strstr(h.out, "EXIT STATUS") && strstr(h.out, "--Lmin"));
    run_free(&h);
}
