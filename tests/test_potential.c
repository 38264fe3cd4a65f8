/* test_potential.c - the mean-field potential Psi_k and the finite-width
 * consistency of the COT particle flow (SPEC 4; proofs-notes/mean-field-potential.md,
 * ref/ref_potential.h, fast/fast_potential.h):
 *   - at every particle, grad Psi_k(theta_kj) = mgrad_kj of the run (ref at 128 bits:
 *     relative 1e-30; fast against fast's own mgrad: twice the derived tolerance
 *     tol_mgrad of tolerance.md), every activation, euler / heun / rk4 with m = 1, 2,
 *     (L, M) = (2, 3), (4, 8), (3, 16);
 *   - -grad Psi is the metric gradient: F decreases along it at the rate of its metric
 *     norm h sum_k (1/M) sum_j |G_kj|^2 (central differences of the loss, no
 *     backpropagation); without the M, or with h in place of 1/h, the rate is off by
 *     M, resp. L^2;
 *   - at arbitrary theta: grad Psi against central differences of Psi, Euler's closed
 *     form sum_i <p_{k+1}^i, a sigma(u . z_k^i + b)>, ref against fast;
 *   - `nodeoracle potential`: JSON valid against the report schema, --out files, errors. */
#define _XOPEN_SOURCE 700
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "arrays.h"
#include "fast.h"
#include "fast_potential.h"
#include "ref.h"
#include "ref_activation.h"
#include "ref_potential.h"
#include "test_run.h"
#include "test_util.h"
#include "tolerance.h"

NO_TEST_SCRATCH("no_potential_")

#define PREC 128
#define REF_TOL 1e-30

/* A small mlp problem; L != M and M != L^2 throughout so that a wrong metric
 * factor (M, L^2 = 1/h^2) cannot be 1. */
static void spec_of(no_spec *s, no_activation act, no_scheme_id scheme, size_t m, size_t L,
                    size_t M, uint64_t seed)
{
    no_spec_default(s);
    s->N = 5;
    s->d_in = 2;
    s->d_out = 3;
    s->D = 3;
    s->L = L;
    s->M = M;
    s->m = m;
    s->family = NO_FAMILY_MLP;
    s->activation = act;
    s->scheme = scheme;
    s->seed = seed;
}

/* theta_kj of problem p laid out as ref/fast_potential want it: a, u, b. */
static void particle(const no_problem *p, size_t k, size_t j, double *theta)
{
    size_t D = p->spec.D, M = p->spec.M;
    memcpy(theta, p->a + (k * M + j) * D, D * sizeof(double));
    memcpy(theta + D, p->u + (k * M + j) * D, D * sizeof(double));
    theta[2 * D] = p->b[k * M + j];
}

/* max over the three arrays of (max_e |G_e - mgrad_e| / max_e |mgrad_e|), G the
 * potential's gradient at every particle (G laid out L x M x (2D+1)). */
static double mgrad_err(const no_spec *s, const double *G, const no_arrays *run)
{
    const char *names[3] = {"mgrad_a", "mgrad_u", "mgrad_b"};
    size_t D = s->D, P = 2 * D + 1, LM = s->L * s->M;
    double worst = 0;
    for (int r = 0; r < 3; r++) {
        const no_array *g = no_arrays_get(run, names[r]);
        cr_assert_not_null(g);
        size_t w = r == 2 ? 1 : D;
        double num = 0, den = 0;
        for (size_t q = 0; q < LM; q++)
            for (size_t c = 0; c < w; c++) {
                double x = g->v[q * w + c], y = G[q * P + (size_t)r * D + c];
                num = fmax(num, fabs(x - y));
                den = fmax(den, fabs(x));
            }
        worst = fmax(worst, num / den);
    }
    return worst;
}

/* G (L x M x (2D+1)) = grad Psi_k(theta_kj) by ref at PREC bits, rounded; if rel is
 * not NULL, *rel = the error of mgrad_err, measured in MPFR against the run's mgrad
 * arrays before any rounding; if Gm is not NULL, it receives G unrounded. */
static void ref_particle_grads(const no_problem *p, ref_model *m, const ref_result *r,
                               double *G, double *rel, mpfr_t *Gm)
{
    const no_spec *s = &p->spec;
    size_t D = s->D, P = 2 * D + 1;
    char err[256];
    const ref_array *mg[3] = {ref_result_get(r, "mgrad_a"), ref_result_get(r, "mgrad_u"),
                              ref_result_get(r, "mgrad_b")};
    cr_assert(mg[0] && mg[1] && mg[2]);
    mpfr_t *th = malloc(P * sizeof(mpfr_t)), *g = malloc(P * sizeof(mpfr_t)), psi, d;
    mpfr_inits2(PREC, psi, d, (mpfr_ptr)0);
    for (size_t c = 0; c < P; c++)
        mpfr_inits2(PREC, th[c], g[c], (mpfr_ptr)0);
    double *theta = malloc(P * sizeof(double)), num[3] = {0, 0, 0}, den[3] = {0, 0, 0};
    for (size_t k = 0; k < s->L; k++) {
        ref_potential pt;
        cr_assert_eq(ref_potential_init(&pt, m, r, k, err, sizeof err), 0, "%s", err);
        for (size_t j = 0; j < s->M; j++) {
            particle(p, k, j, theta);
            for (size_t c = 0; c < P; c++)
                mpfr_set_d(th[c], theta[c], MPFR_RNDN);
            ref_potential_eval(&pt, th, psi, g);
            size_t q = k * s->M + j;
            for (size_t c = 0; c < P; c++) {
                G[q * P + c] = mpfr_get_d(g[c], MPFR_RNDN);
                if (Gm)
                    mpfr_set(Gm[q * P + c], g[c], MPFR_RNDN);
                int a = c < D ? 0 : c < 2 * D ? 1 : 2;
                size_t w = a == 2 ? 1 : D;
                mpfr_srcptr x = mg[a]->v[q * w + c - (size_t)a * D];
                mpfr_sub(d, g[c], x, MPFR_RNDN);
                num[a] = fmax(num[a], fabs(mpfr_get_d(d, MPFR_RNDN)));
                den[a] = fmax(den[a], fabs(mpfr_get_d(x, MPFR_RNDN)));
            }
        }
        ref_potential_clear(&pt);
    }
    if (rel)
        *rel = fmax(num[0] / den[0], fmax(num[1] / den[1], num[2] / den[2]));
    for (size_t c = 0; c < P; c++)
        mpfr_clears(th[c], g[c], (mpfr_ptr)0);
    mpfr_clears(psi, d, (mpfr_ptr)0);
    free(th);
    free(g);
    free(theta);
}

static void fast_particle_grads(const no_problem *p, const no_arrays *run, double *G)
{
    const no_spec *s = &p->spec;
    size_t P = 2 * s->D + 1;
    char err[256];
    double *theta = malloc(P * sizeof(double));
    for (size_t k = 0; k < s->L; k++) {
        fast_potential pt;
        cr_assert_eq(fast_potential_init(&pt, p, run, k, err, sizeof err), 0, "%s", err);
        for (size_t j = 0; j < s->M; j++) {
            particle(p, k, j, theta);
            fast_potential_eval(&pt, theta, G + (k * s->M + j) * P);
        }
        fast_potential_clear(&pt);
    }
    free(theta);
}

static const size_t sizes[3][2] = {{2, 3}, {4, 8}, {3, 16}};
static const no_scheme_id schemes[3] = {NO_SCHEME_EULER, NO_SCHEME_HEUN, NO_SCHEME_RK4};

/* Item 3 of issue 11, ref side and fast side in one loop (one ref run serves both). */
Test(potential, particle_velocity_is_mgrad, .timeout = NO_TEST_TIMEOUT_S)
{
    double worst_ref = 0, worst_fast_ratio = 0, worst_cross_ratio = 0;
    int cases = 0;
    for (int act = 0; act < NO_ACT_COUNT; act++)
        for (int sc = 0; sc < 3; sc++)
            for (size_t m = 1; m <= 2; m++)
                for (int z = 0; z < 3; z++) {
                    no_spec s;
                    spec_of(&s, (no_activation)act, schemes[sc], m, sizes[z][0], sizes[z][1],
                            (uint64_t)(11 + act + 3 * sc + 7 * z));
                    no_problem p;
                    char err[256], what[128];
                    snprintf(what, sizeof what, "%s %s m=%zu L=%zu M=%zu",
                             no_activation_name(s.activation), no_scheme_name(s.scheme), m,
                             s.L, s.M);
                    cr_assert_eq(no_problem_generate(&p, &s, err, sizeof err), 0, "%s", err);
                    ref_model rm;
                    ref_result rr;
                    no_arrays rd, fo;
                    memset(&rd, 0, sizeof rd);
                    memset(&fo, 0, sizeof fo);
                    cr_assert_eq(ref_model_init(&rm, &p, PREC, err, sizeof err), 0, "%s", err);
                    cr_assert_eq(ref_run(&rm, &rr, err, sizeof err), 0, "%s", err);
                    cr_assert_eq(ref_result_to_double(&rr, &rd), 0);
                    cr_assert_eq(fast_run(&p, &fo, err, sizeof err), 0, "%s", err);
                    size_t n = s.L * s.M * (2 * s.D + 1);
                    double *G = malloc(n * sizeof(double)), *H = malloc(n * sizeof(double));
                    double e_ref;
                    ref_particle_grads(&p, &rm, &rr, G, &e_ref, NULL);
                    cr_expect(e_ref <= REF_TOL, "%s: ref grad Psi vs mgrad %.3e > %.0e", what,
                              e_ref, REF_TOL);
                    /* fast: both sides carry errors of the tolerance model's size
                     * (proofs-notes/mean-field-potential.md section 5) */
                    no_tol_model tm;
                    cr_assert_eq(no_tol_model_init(&tm, &p, &rd, ldexp(1, -53)), 0);
                    double tol = fmax(no_tol_for(&tm, "mgrad_a"),
                                      fmax(no_tol_for(&tm, "mgrad_u"),
                                           no_tol_for(&tm, "mgrad_b")));
                    fast_particle_grads(&p, &fo, H);
                    double e_fast = mgrad_err(&s, H, &fo), e_cross = mgrad_err(&s, H, &rd);
                    cr_expect(e_fast <= 2 * tol, "%s: fast grad Psi vs fast mgrad %.3e > 2 x %.3e",
                              what, e_fast, tol);
                    cr_expect(e_cross <= tol, "%s: fast grad Psi vs ref mgrad %.3e > %.3e", what,
                              e_cross, tol);
                    worst_ref = fmax(worst_ref, e_ref);
                    worst_fast_ratio = fmax(worst_fast_ratio, e_fast / (2 * tol));
                    worst_cross_ratio = fmax(worst_cross_ratio, e_cross / tol);
                    cases++;
                    free(G);
                    free(H);
                    no_arrays_free(&rd);
                    no_arrays_free(&fo);
                    ref_result_clear(&rr);
                    ref_model_clear(&rm);
                    no_problem_free(&p);
                }
    cr_log_info("particle_velocity_is_mgrad: %d cases; ref max rel %.3e; fast/own %.3e of 2 tol; "
                "fast/ref %.3e of tol",
                cases, worst_ref, worst_fast_ratio, worst_cross_ratio);
}

/* The loss at theta + t G (G: L x M x (2D+1), the metric-gradient layout, in MPFR). */
static void loss_along(ref_model *m, mpfr_t *base, mpfr_t *G, mpfr_srcptr t, mpfr_t out)
{
    const no_spec *s = &m->spec;
    size_t D = s->D, P = 2 * D + 1;
    ref_array *pa = ref_model_param(m, "a"), *pu = ref_model_param(m, "u"),
              *pb = ref_model_param(m, "b");
    size_t LM = s->L * s->M;
    for (size_t q = 0; q < LM; q++)
        for (size_t c = 0; c < P; c++) {
            mpfr_ptr dst = c < D ? pa->v[q * D + c] : c < 2 * D ? pu->v[q * D + c - D]
                                                               : pb->v[q];
            mpfr_fma(dst, G[q * P + c], t, base[q * P + c], MPFR_RNDN);
        }
    cr_assert_eq(ref_loss(m, out), 0);
}

/* Item 3's factor test.  With v = c G (G = grad Psi at the particles):
 * dF/dt (theta + t v) at 0 = sum (h/M) <G, c G> = c |G|^2_metric, while
 * |v|^2_metric = c^2 |G|^2_metric: the rate equals the metric norm only for c = 1.
 * c = 1/M is "the metric without the M", c = h^2 "h in place of 1/h". */
Test(potential, velocity_is_the_metric_gradient, .timeout = NO_TEST_TIMEOUT_S)
{
    no_scheme_id sch[2] = {NO_SCHEME_EULER, NO_SCHEME_RK4};
    size_t ms[2] = {1, 2};
    double worst = 0;
    for (int z = 0; z < 3; z += 2)
        for (int i = 0; i < 2; i++) {
            no_spec s;
            spec_of(&s, NO_ACT_TANH, sch[i], ms[i], sizes[z][0], sizes[z][1], 5 + (uint64_t)z);
            no_problem p;
            char err[256];
            cr_assert_eq(no_problem_generate(&p, &s, err, sizeof err), 0, "%s", err);
            ref_model rm;
            ref_result rr;
            cr_assert_eq(ref_model_init(&rm, &p, PREC, err, sizeof err), 0, "%s", err);
            cr_assert_eq(ref_run(&rm, &rr, err, sizeof err), 0, "%s", err);
            size_t D = s.D, P = 2 * D + 1, LM = s.L * s.M, n = LM * P;
            double *G = malloc(n * sizeof(double));
            mpfr_t *Gm = malloc(n * sizeof(mpfr_t)), *base = malloc(n * sizeof(mpfr_t));
            for (size_t e = 0; e < n; e++)
                mpfr_inits2(PREC, Gm[e], base[e], (mpfr_ptr)0);
            ref_particle_grads(&p, &rm, &rr, G, NULL, Gm);
            mpfr_t fp, fm, rate, norm2, c, t;
            mpfr_inits2(PREC, fp, fm, rate, norm2, c, t, (mpfr_ptr)0);
            double theta[64];
            for (size_t q = 0; q < LM; q++) {
                particle(&p, q / s.M, q % s.M, theta);
                for (size_t e = 0; e < P; e++)
                    mpfr_set_d(base[q * P + e], theta[e], MPFR_RNDN);
            }
            /* |G|^2_metric = h sum_k (1/M) sum_j |G_kj|^2, h = 1/L */
            mpfr_set_zero(norm2, 1);
            for (size_t e = 0; e < n; e++)
                mpfr_fma(norm2, Gm[e], Gm[e], norm2, MPFR_RNDN);
            mpfr_div_ui(norm2, norm2, (unsigned long)(s.L * s.M), MPFR_RNDN);
            for (int f = 0; f < 3; f++) {
                /* c = 1, 1/M, h^2 = 1/L^2; want rate / |c G|^2 = 1/c */
                mpfr_set_ui(c, 1, MPFR_RNDN);
                if (f == 1)
                    mpfr_div_ui(c, c, (unsigned long)s.M, MPFR_RNDN);
                if (f == 2)
                    mpfr_div_ui(c, c, (unsigned long)(s.L * s.L), MPFR_RNDN);
                /* rate = (F(theta + eps c G) - F(theta - eps c G)) / (2 eps), eps = 2^-40 */
                mpfr_mul_2si(t, c, -40, MPFR_RNDN);
                loss_along(&rm, base, Gm, t, fp);
                mpfr_neg(t, t, MPFR_RNDN);
                loss_along(&rm, base, Gm, t, fm);
                mpfr_sub(rate, fp, fm, MPFR_RNDN);
                mpfr_mul_2si(rate, rate, 39, MPFR_RNDN);
                /* ratio c = rate / (c^2 |G|^2) * c = rate / (c |G|^2): 1 iff c = 1 */
                mpfr_mul(t, c, norm2, MPFR_RNDN);
                mpfr_div(t, rate, t, MPFR_RNDN);
                double ratio_c = mpfr_get_d(t, MPFR_RNDN);
                double ratio = ratio_c / mpfr_get_d(c, MPFR_RNDN);
                mpfr_sub_ui(t, t, 1, MPFR_RNDN);
                double dev = fabs(mpfr_get_d(t, MPFR_RNDN));
                /* the rate / |v|^2 is 1/c: 1, M, L^2 (truncation O(eps^2) ~ 1e-24) */
                cr_expect(dev <= 1e-20, "L=%zu M=%zu %s: factor %d: rate/|v|^2 = %.17g, c "
                          "rate/|v|^2 - 1 = %.3e", s.L, s.M, no_scheme_name(s.scheme), f,
                          ratio, dev);
                if (f == 0)
                    worst = fmax(worst, dev);
                else
                    cr_expect(fabs(ratio - 1) >= 0.5, "factor %d not detected: rate/|v|^2 = %g",
                              f, ratio);
            }
            mpfr_clears(fp, fm, rate, norm2, c, t, (mpfr_ptr)0);
            for (size_t e = 0; e < n; e++)
                mpfr_clears(Gm[e], base[e], (mpfr_ptr)0);
            free(Gm);
            free(base);
            free(G);
            ref_result_clear(&rr);
            ref_model_clear(&rm);
            no_problem_free(&p);
        }
    cr_log_info("velocity_is_the_metric_gradient: |rate/|G|^2 - 1| <= %.3e", worst);
}

/* At a theta that is no particle: grad Psi against central differences of Psi (ref,
 * 128 bits), Euler m = 1's closed form, and fast against ref. */
Test(potential, arbitrary_theta, .timeout = NO_TEST_TIMEOUT_S)
{
    double worst_fd = 0, worst_closed = 0, worst_fast = 0;
    for (int act = 0; act < NO_ACT_COUNT; act++)
        for (int sc = 0; sc < 3; sc++) {
            no_spec s;
            spec_of(&s, (no_activation)act, schemes[sc], sc == 0 ? 1 : 2, 3, 4, 40 + (uint64_t)act);
            no_problem p;
            char err[256];
            cr_assert_eq(no_problem_generate(&p, &s, err, sizeof err), 0, "%s", err);
            ref_model rm;
            ref_result rr;
            no_arrays rd, fo;
            memset(&rd, 0, sizeof rd);
            memset(&fo, 0, sizeof fo);
            cr_assert_eq(ref_model_init(&rm, &p, PREC, err, sizeof err), 0, "%s", err);
            cr_assert_eq(ref_run(&rm, &rr, err, sizeof err), 0, "%s", err);
            cr_assert_eq(ref_result_to_double(&rr, &rd), 0);
            cr_assert_eq(fast_run(&p, &fo, err, sizeof err), 0, "%s", err);
            no_tol_model tm;
            cr_assert_eq(no_tol_model_init(&tm, &p, &rd, ldexp(1, -53)), 0);
            double tol = no_tol_for(&tm, "mgrad_u");
            size_t D = s.D, P = 2 * D + 1, N = s.N;
            mpfr_t th[7], g[7], psi, fp, fm, ref_closed, t;
            mpfr_inits2(PREC, psi, fp, fm, ref_closed, t, (mpfr_ptr)0);
            for (size_t c = 0; c < P; c++)
                mpfr_inits2(PREC, th[c], g[c], (mpfr_ptr)0);
            for (size_t k = 0; k < s.L; k++) {
                ref_potential rp;
                fast_potential fpt;
                cr_assert_eq(ref_potential_init(&rp, &rm, &rr, k, err, sizeof err), 0, "%s",
                             err);
                cr_assert_eq(fast_potential_init(&fpt, &p, &fo, k, err, sizeof err), 0, "%s",
                             err);
                /* a theta between two particles, shifted off both */
                double theta[7], fg[7];
                double tj[7], tl[7];
                particle(&p, k, 0, tj);
                particle(&p, k, 1, tl);
                for (size_t c = 0; c < P; c++)
                    theta[c] = 0.3 * tj[c] + 0.7 * tl[c] + 0.25 * ((double)(c % 3) - 1);
                theta[2 * D] += 2; /* relu: most terms active, so grad Psi != 0 */
                for (size_t c = 0; c < P; c++)
                    mpfr_set_d(th[c], theta[c], MPFR_RNDN);
                ref_potential_eval(&rp, th, psi, g);
                double eps = ldexp(1, -40), num = 0, den = 0;
                for (size_t c = 0; c < P; c++) {
                    mpfr_set_d(t, theta[c], MPFR_RNDN);
                    mpfr_add_d(th[c], t, eps, MPFR_RNDN);
                    ref_potential_eval(&rp, th, fp, NULL);
                    mpfr_sub_d(th[c], t, eps, MPFR_RNDN);
                    ref_potential_eval(&rp, th, fm, NULL);
                    mpfr_set(th[c], t, MPFR_RNDN);
                    /* fd - grad in MPFR: their difference is far below a double's ulp */
                    mpfr_sub(fp, fp, fm, MPFR_RNDN);
                    mpfr_div_d(fp, fp, 2 * eps, MPFR_RNDN);
                    mpfr_sub(fp, fp, g[c], MPFR_RNDN);
                    num = fmax(num, fabs(mpfr_get_d(fp, MPFR_RNDN)));
                    den = fmax(den, fabs(mpfr_get_d(g[c], MPFR_RNDN)));
                }
                /* relu: the difference may straddle a kink of one term; it does not here
                 * (|xi| >> eps at every stage point for these seeds), checked by the bound */
                cr_assert(den > 0, "grad Psi = 0 at the test point");
                worst_fd = fmax(worst_fd, num / den);
                cr_expect(num / den <= 1e-20, "%s %s k=%zu: grad Psi vs central differences %.3e",
                          no_activation_name(s.activation), no_scheme_name(s.scheme), k,
                          num / den);
                if (s.scheme == NO_SCHEME_EULER && s.m == 1) {
                    /* Psi_k = sum_i <p_{k+1}^i, a> sigma(u . z_k^i + b) from the run's arrays */
                    const ref_array *Z = ref_result_get(&rr, "states"),
                                    *Pp = ref_result_get(&rr, "adjoint");
                    mpfr_t xi, sg, dsg, aw;
                    mpfr_inits2(PREC, xi, sg, dsg, aw, (mpfr_ptr)0);
                    mpfr_set_zero(ref_closed, 1);
                    for (size_t i = 0; i < N; i++) {
                        mpfr_set(xi, th[2 * D], MPFR_RNDN);
                        mpfr_set_zero(aw, 1);
                        for (size_t c = 0; c < D; c++) {
                            mpfr_fma(xi, th[D + c], Z->v[(k * N + i) * D + c], xi, MPFR_RNDN);
                            mpfr_fma(aw, th[c], Pp->v[((k + 1) * N + i) * D + c], aw,
                                     MPFR_RNDN);
                        }
                        ref_activation(s.activation, sg, dsg, xi, t);
                        mpfr_fma(ref_closed, aw, sg, ref_closed, MPFR_RNDN);
                    }
                    mpfr_sub(t, ref_closed, psi, MPFR_RNDN);
                    double e = fabs(mpfr_get_d(t, MPFR_RNDN) / mpfr_get_d(psi, MPFR_RNDN));
                    worst_closed = fmax(worst_closed, e);
                    cr_expect(e <= REF_TOL, "k=%zu: Euler closed form %.3e", k, e);
                    mpfr_clears(xi, sg, dsg, aw, (mpfr_ptr)0);
                }
                double fpsi = fast_potential_eval(&fpt, theta, fg);
                double e = fabs(fpsi - mpfr_get_d(psi, MPFR_RNDN));
                double scale = fabs(mpfr_get_d(psi, MPFR_RNDN));
                for (size_t c = 0; c < P; c++) {
                    e = fmax(e, fabs(fg[c] - mpfr_get_d(g[c], MPFR_RNDN)));
                    scale = fmax(scale, fabs(mpfr_get_d(g[c], MPFR_RNDN)));
                }
                worst_fast = fmax(worst_fast, e / scale / tol);
                cr_expect(e <= tol * scale, "%s %s k=%zu: fast vs ref %.3e > %.3e",
                          no_activation_name(s.activation), no_scheme_name(s.scheme), k,
                          e / scale, tol);
                ref_potential_clear(&rp);
                fast_potential_clear(&fpt);
            }
            for (size_t c = 0; c < P; c++)
                mpfr_clears(th[c], g[c], (mpfr_ptr)0);
            mpfr_clears(psi, fp, fm, ref_closed, t, (mpfr_ptr)0);
            no_arrays_free(&rd);
            no_arrays_free(&fo);
            ref_result_clear(&rr);
            ref_model_clear(&rm);
            no_problem_free(&p);
        }
    cr_log_info("arbitrary_theta: fd %.3e, Euler closed form %.3e, fast/ref %.3e of tol", worst_fd,
                worst_closed, worst_fast);
}

Test(potential, api_rejects_bad_input)
{
    no_spec s;
    spec_of(&s, NO_ACT_TANH, NO_SCHEME_EULER, 1, 2, 3, 1);
    no_problem p;
    char err[256];
    cr_assert_eq(no_problem_generate(&p, &s, err, sizeof err), 0, "%s", err);
    no_arrays fo;
    memset(&fo, 0, sizeof fo);
    cr_assert_eq(fast_run(&p, &fo, err, sizeof err), 0, "%s", err);
    fast_potential pt;
    cr_expect_eq(fast_potential_init(&pt, &p, &fo, 2, err, sizeof err), -1);
    cr_expect(strstr(err, "layer 2") != NULL, "%s", err);
    p.spec.adjoint = NO_ADJOINT_CONTINUOUS;
    cr_expect_eq(fast_potential_init(&pt, &p, &fo, 0, err, sizeof err), -1);
    cr_expect(strstr(err, "discrete") != NULL, "%s", err);
    p.spec.adjoint = NO_ADJOINT_DISCRETE;
    no_arrays empty;
    memset(&empty, 0, sizeof empty);
    cr_expect_eq(fast_potential_init(&pt, &p, &empty, 0, err, sizeof err), -1);
    no_arrays_free(&fo);
    no_problem_free(&p);
}

/* The report validated against docs/report.schema.json (test_run.h). */
static void expect_potential_schema_valid(const char *text)
{
    char doc[PATH_MAX];
    IN_SCRATCH(doc, "report.json");
    no_test_expect_schema_valid(text, doc, "potential --json");
}

Test(potential, cli_json_out_and_errors, .init = scratch_setup, .fini = scratch_teardown,
     .timeout = NO_TEST_TIMEOUT_S)
{
    run_result r = runf("potential --M 5 --L 4 --layer 2 --particle 3 --slice u1,b --points 9 "
                        "--scheme rk4 --m 2 --json");
    cr_assert_eq(r.status, 0, "status %d: %s", r.status, r.err);
    json_error_t je;
    json_t *o = json_loads(r.out, 0, &je);
    cr_assert_not_null(o, "not JSON: %s", r.out);
    cr_expect_str_eq(json_string_value(json_object_get(o, "kind")), "potential");
    cr_expect_eq(json_integer_value(json_object_get(json_object_get(o, "grid"), "count")), 81);
    cr_expect(json_is_true(json_object_get(json_object_get(o, "check"), "within")));
    cr_expect_eq(json_array_size(json_object_get(o, "particle_psi")), 5);
    /* the centre is particle 3: the velocity there is -mgrad (fast: a few ulps) */
    cr_expect_lt(json_real_value(json_object_get(o, "centre_velocity_rel_err")), 1e-12);
    json_decref(o);
    expect_potential_schema_valid(r.out);
    run_free(&r);

    char dir[PATH_MAX], path[PATH_MAX];
    IN_SCRATCH(dir, "out");
    r = runf("potential --slice a1 --points 17 --impl ref --prec 96 --out '%s' --quiet", dir);
    cr_assert_eq(r.status, 0, "status %d: %s", r.status, r.err);
    cr_expect(strstr(r.out, "agree") != NULL, "%s", r.out);
    run_free(&r);
    IN_SCRATCH(path, "out/potential.csv");
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "no potential.csv");
    char line[512];
    int rows = 0;
    cr_assert_not_null(fgets(line, sizeof line, f));
    cr_expect_str_eq(line, "a1,psi,d_a1\n");
    while (fgets(line, sizeof line, f))
        rows++;
    fclose(f);
    cr_expect_eq(rows, 17);
    IN_SCRATCH(path, "out/particles.csv");
    cr_expect_eq(access(path, R_OK), 0, "no particles.csv");
    int tmp = 0;
    no_test_count_entries(dir, &tmp);
    cr_expect_eq(tmp, 0, "temporary files left in %s", dir);

    static const char *const cases[][2] = {
        {"potential --family linear", "mlp"},
        {"potential --adjoint continuous", "discrete"},
        {"potential --L 3 --layer 3", "--layer"},
        {"potential --particle 8", "--particle"},
        {"potential --slice a9", "--slice"},
        {"potential --slice a0,a0", "same"},
        {"potential --slice a0,u0,b", "at most two"},
        {"potential --slice x", "--slice"},
        {"potential --range 0", "--range"},
        {"potential --points 1", "--points"},
        {"potential --slice a0,b --points 2000", "1001"},
        {"potential --impl gpu", "--impl"},
        {"potential --prec 20", NULL},
        {"potential --bogus 1", "bogus"},
        {"potential --layer", "needs a value"},
    };
    expect_usage_errors(cases, sizeof cases / sizeof cases[0]);
}
