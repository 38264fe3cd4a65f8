/* test_cot_flow.c - the COT particle flow of the mlp family
 * (proofs-notes/cot-flow.md, ref/ref_cot_flow.h, fast/fast_cot_flow.h):
 *   - the energy identity F(t) - F(0) = -int |V|^2 holds in ref to >= 25
 *     digits at 128 bits (section 2's bound: steps x local target);
 *   - a velocity with a wrong metric factor (without M; the Euclidean
 *     gradient) breaks it by exactly the derived relative amount 1/c - 1;
 *   - the particle flow is ref_train's metric gradient flow (an independent
 *     Dormand-Prince integrator) to that integrator's accuracy;
 *   - fast's RK4 has an energy residual and an error against ref of fitted
 *     order 4 in the step;
 *   - gradient descent's discrete identity has a residual of order 2 in eta
 *     (fitted, and by Richardson on the local orders), equal to ref_train's
 *     one-step GD and to fast's;
 *   - the flow is one of the measure mu: duplicating every particle (M -> 2M)
 *     or relabelling particles within a layer leaves F(t) unchanged, which a
 *     wrong metric factor M does not;
 *   - certification states >= 60 bits of F;
 *   - `nodeoracle cot-flow`: --json (valid against the report schema), --out,
 *     hostile options exit 2 with one line. */
#define _XOPEN_SOURCE 700
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "fast_cot_flow.h"
#include "fit.h"
#include "ref_cot_flow.h"
#include "ref_train.h"
#include "test_run.h"
#include "test_util.h"

NO_TEST_SCRATCH("no_cot_flow_")

/* The small problem of the note's measurements: N = 4, D = 2, L = 4, M = 4. */
static no_problem small(no_activation act, no_scheme_id scheme, size_t M)
{
    no_spec s;
    no_spec_default(&s);
    s.family = NO_FAMILY_MLP;
    s.M = M;
    s.L = 4;
    s.N = 4;
    s.D = 2;
    s.activation = act;
    s.scheme = scheme;
    no_problem p;
    char err[256];
    cr_assert_eq(no_problem_generate(&p, &s, err, sizeof err), 0, "%s", err);
    return p;
}

static ref_cot_flow_opts ropts(double T, size_t records, double tol, double vscale)
{
    ref_cot_flow_opts o;
    memset(&o, 0, sizeof o);
    o.T = T;
    o.records = records;
    o.tol = tol;
    o.vscale = vscale;
    return o;
}

static fast_cot_flow_traj fast_flow(const no_problem *p, double T, size_t records, size_t sub,
                                    double vscale)
{
    fast_cot_flow_opts o = {T, records, sub, vscale, NULL, NULL};
    fast_cot_flow_traj t;
    char err[256];
    cr_assert_eq(fast_cot_flow_run(p, &o, &t, err, sizeof err), 0, "%s", err);
    return t;
}

Test(cot_flow, energy_identity_many_digits_in_ref, .timeout = NO_TEST_TIMEOUT_S)
{
    struct {
        no_activation act;
        no_scheme_id scheme;
        double T;
    } cases[] = {{NO_ACT_TANH, NO_SCHEME_EULER, 0.25}, {NO_ACT_SOFTPLUS, NO_SCHEME_RK4, 0.0625}};
    for (size_t c = 0; c < 2; c++) {
        no_problem p = small(cases[c].act, cases[c].scheme, 4);
        ref_cot_flow_opts o = ropts(cases[c].T, 4, 0, 1);
        ref_cot_flow_traj t;
        char err[256];
        cr_assert_eq(ref_cot_flow_run(&p, 128, &o, &t, err, sizeof err), 0, "%s", err);
        /* section 2: |residual| <= steps x 2^-96 x (1 + |y|) x |V| x H: far below 1e-25 E */
        cr_expect(t.resid_rel < 1e-25, "case %zu: energy identity to %.3e of E only", c,
                  t.resid_rel);
        cr_expect(t.energy[4] > 0.01, "case %zu: too little energy dissipated (%g) to test", c,
                  t.energy[4]);
        for (size_t r = 1; r <= 4; r++) {
            cr_expect(t.F[r] < t.F[r - 1], "case %zu: F not decreasing at record %zu", c, r);
            cr_expect(t.dist[r] <= t.length[r] * (1 + 1e-15),
                      "case %zu: distance %g > length %g", c, t.dist[r], t.length[r]);
        }
        cr_log_info("cot_flow energy identity case %zu: %.3e relative (%.1f digits), %zu steps, "
                    "%zu gradients",
                    c, t.resid_rel, -log10(t.resid_rel), t.accepted, t.evals);
        ref_cot_flow_traj_clear(&t);
        no_problem_free(&p);
    }
}

/* Section 2 of the note: with V = -c G, F(t) - F(0) = -c int |G|^2 and E = c^2 int |G|^2, so
 * the residual is (1/c - 1) E at every t: M - 1 without the factor M, M L - 1 (h = 1/L) for
 * the Euclidean gradient. */
Test(cot_flow, wrong_metric_factor_breaks_energy_identity, .timeout = NO_TEST_TIMEOUT_S)
{
    no_problem p = small(NO_ACT_TANH, NO_SCHEME_EULER, 4);
    double M = 4, L = 4;
    ref_cot_flow_opts o = ropts(0.25, 2, 1e-20, 1 / M);
    ref_cot_flow_traj t;
    char err[256];
    cr_assert_eq(ref_cot_flow_run(&p, 128, &o, &t, err, sizeof err), 0, "%s", err);
    cr_expect(fabs(t.resid_rel - (M - 1)) < 1e-15, "without M: residual %.17g of E, derived %g",
              t.resid_rel, M - 1);
    ref_cot_flow_traj_clear(&t);
    fast_cot_flow_traj f = fast_flow(&p, 0.25, 2, 16, 1 / (M * L));
    cr_expect(fabs(f.resid_rel - (M * L - 1)) < 1e-6 * M * L,
              "Euclidean velocity: residual %.17g of E, derived %g", f.resid_rel, M * L - 1);
    fast_cot_flow_traj_clear(&f);
    f = fast_flow(&p, 0.25, 2, 16, 1);
    cr_expect(f.resid_rel < 1e-8, "the contract's velocity in fast: residual %g", f.resid_rel);
    fast_cot_flow_traj_clear(&f);
    no_problem_free(&p);
}

/* ref_train integrates d theta/dt = -G by Dormand-Prince 5(4): an independent integrator
 * of the same ODE (training.md section 2: >= 39 bits at TOL 2^-40, T = 10). */
Test(cot_flow, is_ref_train_gradient_flow, .timeout = NO_TEST_TIMEOUT_S)
{
    no_problem p = small(NO_ACT_TANH, NO_SCHEME_EULER, 4);
    ref_cot_flow_opts o = ropts(0.5, 4, 1e-24, 1);
    ref_cot_flow_traj t;
    char err[256];
    cr_assert_eq(ref_cot_flow_run(&p, 128, &o, &t, err, sizeof err), 0, "%s", err);
    ref_train_opts to;
    memset(&to, 0, sizeof to);
    to.steps = 4;
    to.eta = 0.125;
    to.flow = 1;
    to.flow_tol = 0x1p-40;
    ref_train_traj g;
    cr_assert_eq(ref_train_run(&p, 128, &to, &g, err, sizeof err), 0, "%s", err);
    for (size_t r = 0; r <= 4; r++) {
        double rel = fabs(g.F[r] - t.F[r]) / t.F[r];
        cr_expect(rel < 0x1p-36, "t = %g: COT flow F %.17g, ref_train flow %.17g (%.3e)",
                  t.t[r], t.F[r], g.F[r], rel);
        double rg = fabs(g.gnorm2[r] - t.v2[r]) / t.v2[r];
        cr_expect(rg < 0x1p-32, "t = %g: |V|^2 %.17g, ref_train |G|^2 %.17g", t.t[r], t.v2[r],
                  g.gnorm2[r]);
    }
    ref_train_traj_clear(&g);
    ref_cot_flow_traj_clear(&t);
    no_problem_free(&p);
}

/* RK4: the error of F(T) against ref and the energy residual are O(dt^4).  The residual's
 * dt^4 coefficient at a single time can nearly vanish (at T = 1/2 it changes sign between 8
 * and 16 steps: proofs-notes/cot-flow.md section 5), so its order is fitted on the maximum
 * over four records to T = 2, with 32..256 steps per record, above the rounding floor. */
Test(cot_flow, fast_rk4_order_four, .timeout = NO_TEST_TIMEOUT_S)
{
    no_problem p = small(NO_ACT_TANH, NO_SCHEME_EULER, 4);
    ref_cot_flow_opts o = ropts(0.5, 1, 0, 1);
    ref_cot_flow_traj t;
    char err[256];
    cr_assert_eq(ref_cot_flow_run(&p, 128, &o, &t, err, sizeof err), 0, "%s", err);
    double dt[5], res[4], ferr[5];
    for (size_t i = 0; i < 5; i++) {
        size_t sub = (size_t)2 << i;
        fast_cot_flow_traj f = fast_flow(&p, 0.5, 1, sub, 1);
        dt[i] = 0.5 / (double)sub;
        ferr[i] = fabs(f.F[1] - t.F[1]);
        fast_cot_flow_traj_clear(&f);
    }
    no_fit b = no_fit_loglog(dt, ferr, 5, 0.95);
    double dte[4];
    for (size_t i = 0; i < 4; i++) {
        size_t sub = (size_t)32 << i;
        fast_cot_flow_traj f = fast_flow(&p, 2, 4, sub, 1);
        dte[i] = 0.5 / (double)sub;
        res[i] = f.resid_rel;
        fast_cot_flow_traj_clear(&f);
    }
    no_fit a = no_fit_loglog(dte, res, 4, 0.95);
    cr_expect(a.ok && fabs(a.slope - 4) < 0.15, "energy residual order %.4f [%.4f, %.4f]",
              a.slope, a.lo, a.hi);
    cr_expect(b.ok && fabs(b.slope - 4) < 0.15, "F error order %.4f [%.4f, %.4f]", b.slope,
              b.lo, b.hi);
    cr_log_info("cot_flow fast RK4: energy residual order %.4f [%.4f, %.4f], F error order "
                "%.4f [%.4f, %.4f]",
                a.slope, a.lo, a.hi, b.slope, b.lo, b.hi);
    ref_cot_flow_traj_clear(&t);
    no_problem_free(&p);
}

Test(cot_flow, gd_residual_order_two, .timeout = NO_TEST_TIMEOUT_S)
{
    no_problem p = small(NO_ACT_TANH, NO_SCHEME_EULER, 4);
    double eta[8], r[8], rf[8], ar[8];
    for (int i = 0; i < 8; i++)
        eta[i] = ldexp(1, -10 - i);
    char err[256];
    cr_assert_eq(ref_cot_flow_gd_residual(&p, 128, eta, 8, r, err, sizeof err), 0, "%s", err);
    cr_assert_eq(fast_cot_flow_gd_residual(&p, eta, 8, rf, err, sizeof err), 0, "%s", err);
    for (int i = 0; i < 8; i++)
        ar[i] = fabs(r[i]);
    no_fit f = no_fit_loglog(eta, ar, 8, 0.95);
    cr_expect(f.ok && fabs(f.slope - 2) <= 0.15, "GD residual order %.4f [%.4f, %.4f]",
              f.slope, f.lo, f.hi);
    /* section 3: local orders 2 + c eta + O(eta^2); Richardson removes the c eta */
    double s6 = log2(ar[5] / ar[6]), s7 = log2(ar[6] / ar[7]), ex = 2 * s7 - s6;
    cr_expect(fabs(ex - 2) < 1e-3, "extrapolated order %.6f", ex);
    cr_log_info("cot_flow GD residual: fitted order %.4f [%.4f, %.4f], local %.5f, %.5f, "
                "extrapolated %.6f",
                f.slope, f.lo, f.hi, s6, s7, ex);
    /* fast computes the same residual in double: r ~ 1e-8..1e-6, F's rounding ~ 1e-16 */
    for (int i = 0; i < 8; i++)
        cr_expect(fabs(rf[i] - r[i]) <= 1e-5 * fabs(r[i]) + 1e-14, "eta 2^%d: fast %.6e ref %.6e",
                  -10 - i, rf[i], r[i]);
    /* ref_train's one GD step gives the same residual (independent code path) */
    ref_train_opts to;
    memset(&to, 0, sizeof to);
    to.steps = 1;
    to.eta = eta[0];
    ref_train_traj g;
    cr_assert_eq(ref_train_run(&p, 128, &to, &g, err, sizeof err), 0, "%s", err);
    double rg = g.F[1] - g.F[0] + eta[0] * g.gnorm2[0];
    cr_expect(fabs(rg - r[0]) <= 1e-12 * fabs(r[0]) + 4e-16 * g.F[0],
              "ref_train's GD step: residual %.17g, ref_cot_flow %.17g", rg, r[0]);
    ref_train_traj_clear(&g);
    no_problem_free(&p);
}

/* mu = (1/L) sum_k delta_{s_k} x (1/M) sum_j delta_{theta_kj} does not change when every
 * particle is duplicated (M -> 2M) or relabelled within its layer; the COT velocity
 * -grad Psi_k(theta) depends only on mu, so F(t) does not change either.  A velocity
 * without the factor M moves the duplicated network at half the speed. */
Test(cot_flow, flow_of_the_measure, .timeout = NO_TEST_TIMEOUT_S)
{
    no_problem p = small(NO_ACT_TANH, NO_SCHEME_EULER, 4);
    no_problem d = small(NO_ACT_TANH, NO_SCHEME_EULER, 8), q;
    cr_assert_eq(no_problem_copy(&q, &p), 0);
    size_t L = 4, M = 4, D = 2;
    for (size_t k = 0; k < L; k++)
        for (size_t j = 0; j < 2 * M; j++) {
            size_t s = j % M, rj = M - 1 - s; /* duplicate; reverse within the layer */
            d.b[k * 2 * M + j] = p.b[k * M + s];
            q.b[k * M + s] = p.b[k * M + rj];
            for (size_t e = 0; e < D; e++) {
                d.a[(k * 2 * M + j) * D + e] = p.a[(k * M + s) * D + e];
                d.u[(k * 2 * M + j) * D + e] = p.u[(k * M + s) * D + e];
                q.a[(k * M + s) * D + e] = p.a[(k * M + rj) * D + e];
                q.u[(k * M + s) * D + e] = p.u[(k * M + rj) * D + e];
            }
        }
    fast_cot_flow_traj a = fast_flow(&p, 1, 4, 16, 1), b = fast_flow(&d, 1, 4, 16, 1),
                       c = fast_flow(&q, 1, 4, 16, 1), w = fast_flow(&d, 1, 4, 16, 0.5);
    for (size_t r = 0; r <= 4; r++) {
        cr_expect(fabs(a.F[r] - b.F[r]) <= 1e-13 * a.F[r], "t = %g: M = 4 %.17g, duplicated %.17g",
                  a.t[r], a.F[r], b.F[r]);
        cr_expect(fabs(a.F[r] - c.F[r]) <= 1e-13 * a.F[r], "t = %g: relabelled %.17g vs %.17g",
                  a.t[r], c.F[r], a.F[r]);
        cr_expect(fabs(a.length[r] - b.length[r]) <= 1e-12 * (a.length[r] + 1e-300),
                  "t = %g: COT length %.17g vs duplicated %.17g", a.t[r], a.length[r],
                  b.length[r]);
    }
    /* the factor-M bug: the duplicated network with velocity (M/2)/h dF/dtheta */
    cr_expect(fabs(w.F[4] - a.F[4]) > 1e-3 * a.F[4], "a wrong factor M is not seen: %.17g",
              w.F[4]);
    fast_cot_flow_traj_clear(&a);
    fast_cot_flow_traj_clear(&b);
    fast_cot_flow_traj_clear(&c);
    fast_cot_flow_traj_clear(&w);
    no_problem_free(&p);
    no_problem_free(&d);
    no_problem_free(&q);
}

/* The bits certify states for a 53-bit run with a loose local target 2^-30 (so that the
 * error is above a double's rounding and visible in the doubles) hold against a run far more
 * accurate (128 bits, target 1e-28); at 80 bits (target 2^-60) they are many: the global
 * error is a few local targets (section 2). */
Test(cot_flow, certify_states_bits, .timeout = NO_TEST_TIMEOUT_S)
{
    no_problem p = small(NO_ACT_TANH, NO_SCHEME_EULER, 4);
    ref_cot_flow_opts o = ropts(0.25, 2, 0x1p-30, 1), oa = ropts(0.25, 2, 1e-28, 1),
                      o80 = ropts(0.25, 2, 0, 1);
    ref_cot_flow_traj t, lo, acc;
    char err[256];
    cr_assert_eq(ref_cot_flow_certify(&p, 53, &o, &t, err, sizeof err), 0, "%s", err);
    cr_assert_not_null(t.F_bits);
    cr_assert_eq(ref_cot_flow_run(&p, 53, &o, &lo, err, sizeof err), 0, "%s", err);
    cr_assert_eq(ref_cot_flow_run(&p, 128, &oa, &acc, err, sizeof err), 0, "%s", err);
    for (size_t r = 1; r <= 2; r++) {
        double e = fabs(lo.F[r] - acc.F[r]) / acc.F[r];
        cr_expect(t.F_bits[r] >= 25, "record %zu: %g bits", r, t.F_bits[r]);
        cr_expect(e <= ldexp(1, -(int)t.F_bits[r]),
                  "record %zu: %g bits stated, actual relative error %.3e", r, t.F_bits[r], e);
        cr_log_info("cot_flow certify record %zu: %g bits stated at 53 bits, tol 2^-30, actual "
                    "error 2^%.1f",
                    r, t.F_bits[r], log2(e));
    }
    ref_cot_flow_traj_clear(&t);
    cr_assert_eq(ref_cot_flow_certify(&p, 80, &o80, &t, err, sizeof err), 0, "%s", err);
    for (size_t r = 1; r <= 2; r++) {
        cr_expect(t.F_bits[r] >= 55, "80 bits, record %zu: %g bits", r, t.F_bits[r]);
        cr_log_info("cot_flow certify at 80 bits record %zu: %g bits", r, t.F_bits[r]);
    }
    ref_cot_flow_traj_clear(&t);
    ref_cot_flow_traj_clear(&lo);
    ref_cot_flow_traj_clear(&acc);
    /* other families have no particles */
    no_spec s;
    no_spec_default(&s);
    no_problem l;
    cr_assert_eq(no_problem_generate(&l, &s, err, sizeof err), 0, "%s", err);
    cr_expect_neq(ref_cot_flow_run(&l, 128, &o, &t, err, sizeof err), 0);
    cr_expect(strstr(err, "mlp") != NULL, "%s", err);
    fast_cot_flow_opts fo = {0.25, 2, 4, 1, NULL, NULL};
    fast_cot_flow_traj f;
    cr_expect_neq(fast_cot_flow_run(&l, &fo, &f, err, sizeof err), 0);
    no_problem_free(&l);
    no_problem_free(&p);
}

/* The report validated against docs/report.schema.json (test_run.h). */
static void expect_schema_valid_merged(const char *text)
{
    char doc[PATH_MAX];
    IN_SCRATCH(doc, "report.json");
    no_test_expect_schema_valid(text, doc, "cot-flow --json");
}

Test(cot_flow, cli_json_and_out, .init = scratch_setup, .fini = scratch_teardown,
     .timeout = NO_TEST_TIMEOUT_S)
{
    char dir[PATH_MAX], csv[PATH_MAX];
    IN_SCRATCH(dir, "run");
    run_result r = runf("cot-flow --N 4 --D 2 --L 4 --M 4 --time 0.25 --records 2 --json "
                        "--out '%s'",
                        dir);
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    json_error_t je;
    json_t *o = json_loads(r.out, 0, &je);
    cr_assert_not_null(o, "not JSON: %s", r.out);
    cr_expect_str_eq(json_string_value(json_object_get(o, "kind")), "cot_flow");
    cr_expect_eq(json_array_size(json_object_get(o, "rows")), 3);
    double digits = json_number_value(
        json_object_get(json_object_get(o, "energy_identity"), "digits"));
    cr_expect(digits >= 25, "energy identity to %.1f digits", digits);
    json_t *gd = json_object_get(o, "gd_residual");
    double ord = json_number_value(json_object_get(gd, "order"));
    cr_expect(fabs(ord - 2) <= 0.15, "GD order %g", ord);
    cr_expect(json_is_true(json_object_get(json_object_get(o, "pl"), "decay_holds")));
    json_decref(o);
    expect_schema_valid_merged(r.out);
    run_free(&r);
    IN_SCRATCH(csv, "run/cot_flow.csv");
    FILE *f = fopen(csv, "r");
    cr_assert_not_null(f, "no %s", csv);
    int lines = 0, ch;
    while ((ch = fgetc(f)) != EOF)
        lines += ch == '\n';
    fclose(f);
    cr_expect_eq(lines, 4, "cot_flow.csv: %d lines, expected header + 3", lines);
    /* fast, and the wrong-factor diagnosis seen in the report */
    r = run("cot-flow --impl fast --N 4 --D 2 --L 4 --M 4 --time 0.25 --records 2 "
            "--velocity-scale 0.25 --json");
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    o = json_loads(r.out, 0, &je);
    double rel = json_number_value(
        json_object_get(json_object_get(o, "energy_identity"), "resid_rel"));
    cr_expect(fabs(rel - 3) < 1e-6, "velocity without M: residual %g of E, derived 3", rel);
    json_decref(o);
    expect_schema_valid_merged(r.out);
    run_free(&r);
}

Test(cot_flow, cli_hostile_options, .timeout = NO_TEST_TIMEOUT_S)
{
    static const char *const cases[][2] = {
        {"cot-flow --family linear", "mlp"},
        {"cot-flow --family rff", "mlp"},
        {"cot-flow --activation relu", NULL},
        {"cot-flow --time 0", "--time"},
        {"cot-flow --time nan", "--time"},
        {"cot-flow --time -1", "--time"},
        {"cot-flow --records 0", "--records"},
        {"cot-flow --records 1e9", "--records"},
        {"cot-flow --impl gpu", "--impl"},
        {"cot-flow --tol 1", "--tol"},
        {"cot-flow --tol 0", "--tol"},
        {"cot-flow --impl fast --tol 1e-9", "--tol"},
        {"cot-flow --impl fast --certify", "--certify"},
        {"cot-flow --impl fast --prec 256", "--prec"},
        {"cot-flow --substeps 4", "--substeps"},
        {"cot-flow --prec 10", NULL},
        {"cot-flow --velocity-scale -1", "--velocity-scale"},
        {"cot-flow --bogus 1", "--bogus"},
        {"cot-flow --M 0", NULL},
        {"cot-flow --time", "needs a value"},
    };
    expect_usage_errors(cases, sizeof cases / sizeof *cases);
}
