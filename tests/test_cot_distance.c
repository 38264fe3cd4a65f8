/* test_cot_distance.c - the COT distance (oracle/cot.h, fast/fast_assign.h,
 * ref/ref_assign.h, proofs-notes/cot-distance.md):
 *   - the Hungarian solver's cost equals brute force over all n! permutations
 *     (n <= 7, random points and integer costs with ties), its duals are
 *     feasible and tight on the assignment up to rounding;
 *   - the MPFR certificate verifies the optimum with a tiny eps, encloses the
 *     brute-force optimum, and rejects a perturbed assignment (two entries
 *     swapped: eps at least the cost increase) and a non-permutation;
 *   - 1-D: the optimal assignment matches sorted points (fast alone, and a
 *     measure whose particles differ only in b);
 *   - W_2 of the joint measures <= COT_2, strictly when the layers are
 *     shifted; the identity pairing's L^2 length >= COT_2, and equal to it
 *     (identity assignment) for a displacement smaller than the gaps;
 *   - the metric derivative along GD: COT_2(theta^0, theta^1)/eta -> |G| in
 *     SPEC 3's metric as eta shrinks (and never above it);
 *   - `nodeoracle cot-distance`: --json (valid against the schema), --out,
 *     hostile inputs (shapes, NaN, M = 0, different L or M, huge M) exit 2
 *     with one line. */
#define _XOPEN_SOURCE 700
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cot.h"
#include "fast_assign.h"
#include "fast_train.h"
#include "npy.h"
#include "ref_assign.h"
#include "test_run.h"
#include "test_util.h"

NO_TEST_SCRATCH("no_cot_")

/* A small platform-independent generator (xorshift64*), uniform in [0, 1). */
static double unif(unsigned long long *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return (double)((*s * 2685821657736338717ull) >> 11) * 0x1p-53;
}

/* min over all permutations of sum_i c[i n + p(i)] (Heap's algorithm). */
static double brute_force(size_t n, const double *c)
{
    size_t p[8], cnt[8] = {0};
    for (size_t i = 0; i < n; i++)
        p[i] = i;
    double best = INFINITY;
    for (;;) {
        double s = 0;
        for (size_t i = 0; i < n; i++)
            s += c[i * n + p[i]];
        if (s < best)
            best = s;
        size_t i = 1;
        while (i < n && cnt[i] >= i)
            cnt[i++] = 0;
        if (i >= n)
            break;
        size_t j = i % 2 ? cnt[i] : 0, t = p[i];
        p[i] = p[j];
        p[j] = t;
        cnt[i]++;
    }
    return best;
}

static double perm_cost(size_t n, const double *c, const size_t *p)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += c[i * n + p[i]];
    return s;
}

Test(cot_distance, hungarian_equals_brute_force)
{
    unsigned long long s = 12345;
    int iters = 40 * no_test_iters();
    for (int it = 0; it < iters; it++)
        for (size_t n = 1; n <= 7; n++) {
            double c[49], x[49 * 3], y[49 * 3], u[7], v[7], cost;
            size_t p[7], dim = 1 + it % 3;
            char err[256];
            if (it % 2) {
                /* integer costs 0..3: many ties, many optimal permutations */
                for (size_t i = 0; i < n * n; i++)
                    c[i] = floor(4 * unif(&s));
            } else {
                for (size_t i = 0; i < n * dim; i++)
                    x[i] = 2 * unif(&s) - 1, y[i] = 2 * unif(&s) - 1;
                cr_assert_eq(fast_assign_sqdist(n, dim, x, y, NULL, NULL, 0, c), 0);
            }
            cr_assert_eq(fast_assign_solve(n, c, p, u, v, &cost, err, sizeof err), 0, "%s",
                         err);
            double bf = brute_force(n, c);
            cr_expect(fabs(cost - bf) <= 1e-13 * (1 + bf), "it %d n %zu: %.17g vs brute %.17g",
                      it, n, cost, bf);
            cr_expect(fabs(perm_cost(n, c, p) - cost) <= 1e-15 * (1 + cost));
            for (size_t i = 0; i < n; i++) {
                cr_expect(fabs(u[i] + v[p[i]] - c[i * n + p[i]]) <= 1e-13 * (1 + bf),
                          "slack on the assignment, it %d n %zu", it, n);
                for (size_t j = 0; j < n; j++)
                    cr_expect(u[i] + v[j] <= c[i * n + j] + 1e-13 * (1 + bf),
                              "dual infeasible, it %d n %zu (%zu, %zu)", it, n, i, j);
            }
        }
}

Test(cot_distance, hungarian_rejects_nonfinite_cost)
{
    double c[4] = {1, 2, NAN, 0}, u[2], v[2], cost;
    size_t p[2];
    char err[256];
    cr_expect_eq(fast_assign_solve(2, c, p, u, v, &cost, err, sizeof err), -1);
    cr_expect(strstr(err, "not finite") != NULL, "%s", err);
}

/* Random points, solved and certified; returns the brute-force optimum when
 * n <= 7 (else NAN). */
typedef struct {
    size_t n, dim;
    double x[64 * 5], y[64 * 5], c[64 * 64], u[64], v[64], cost;
    size_t p[64];
} problem_t;

static void make_problem(problem_t *q, size_t n, size_t dim, unsigned long long *s)
{
    char err[256];
    q->n = n, q->dim = dim;
    for (size_t i = 0; i < n * dim; i++)
        q->x[i] = 4 * unif(s) - 2, q->y[i] = 4 * unif(s) - 2;
    cr_assert_eq(fast_assign_sqdist(n, dim, q->x, q->y, NULL, NULL, 0, q->c), 0);
    cr_assert_eq(fast_assign_solve(n, q->c, q->p, q->u, q->v, &q->cost, err, sizeof err), 0);
}

Test(cot_distance, certificate_accepts_the_optimum)
{
    unsigned long long s = 777;
    char err[256];
    static problem_t q;
    for (int it = 0; it < 10 * no_test_iters(); it++) {
        size_t n = it < 6 ? 2 + (size_t)it : 64, dim = 1 + (size_t)it % 5;
        make_problem(&q, n, dim, &s);
        ref_assign_points pts = {n, dim, q.x, q.y, NULL, NULL, 0};
        ref_assign_cert cert;
        ref_assign_cert_init(&cert, 128);
        cr_assert_eq(ref_assign_certify(&pts, q.p, q.u, q.v, &cert, err, sizeof err), 0, "%s",
                     err);
        double eps = mpfr_get_d(cert.eps, MPFR_RNDU), lo = mpfr_get_d(cert.dual_lo, MPFR_RNDD);
        double hi = mpfr_get_d(cert.primal_hi, MPFR_RNDU);
        cr_expect(cert.is_perm && cert.verified, "n %zu: not verified, eps %g", n, eps);
        /* repaired duals at 128 bits: the gap is rounding of the certificate, not
         * of the double solver */
        cr_expect(eps <= 0x1p-100 * hi, "n %zu: eps %g of %g", n, eps, hi);
        cr_expect(lo <= q.cost * (1 + 1e-14) && q.cost <= hi * (1 + 1e-14));
        if (n <= 7) {
            double bf = brute_force(n, q.c);
            cr_expect(lo <= bf * (1 + 1e-14) && bf <= hi * (1 + 1e-14),
                      "n %zu: brute force %.17g outside [%.17g, %.17g]", n, bf, lo, hi);
        }
        cr_log_info("certificate n %zu dim %zu: eps %.3g of %.6g, rescans %ld", n, dim, eps, hi,
                    cert.repair_rescans);
        ref_assign_cert_clear(&cert);
    }
}

Test(cot_distance, certificate_rejects_a_perturbed_assignment)
{
    unsigned long long s = 4242;
    char err[256];
    static problem_t q;
    int rejected = 0;
    for (int it = 0; it < 8; it++) {
        size_t n = 3 + (size_t)it;
        make_problem(&q, n, 3, &s);
        size_t p[64];
        memcpy(p, q.p, n * sizeof *p);
        p[0] = q.p[1], p[1] = q.p[0];
        double delta = perm_cost(n, q.c, p) - q.cost;
        cr_assert(delta > 0, "random points give no tie");
        ref_assign_points pts = {n, 3, q.x, q.y, NULL, NULL, 0};
        ref_assign_cert cert;
        ref_assign_cert_init(&cert, 128);
        cr_assert_eq(ref_assign_certify(&pts, p, q.u, q.v, &cert, err, sizeof err), 0);
        double eps = mpfr_get_d(cert.eps, MPFR_RNDU);
        cr_expect(!cert.verified, "n %zu: a swapped assignment verified (eps %g)", n, eps);
        cr_expect(eps >= delta * (1 - 1e-12), "n %zu: eps %g below the increase %g", n, eps,
                  delta);
        rejected += !cert.verified;
        /* not a permutation */
        p[0] = p[1];
        cr_assert_eq(ref_assign_certify(&pts, p, q.u, q.v, &cert, err, sizeof err), 0);
        cr_expect(!cert.is_perm && !cert.verified && mpfr_inf_p(cert.eps));
        ref_assign_cert_clear(&cert);
    }
    cr_expect_eq(rejected, 8);
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

Test(cot_distance, one_dimension_is_sorting)
{
    unsigned long long s = 99;
    char err[256];
    enum { N = 200 };
    static double x[N], y[N], c[N * N], xs[N], ys[N];
    size_t p[N];
    for (size_t i = 0; i < N; i++)
        x[i] = unif(&s) * 10 - 5, y[i] = unif(&s) * 3;
    cr_assert_eq(fast_assign_sqdist(N, 1, x, y, NULL, NULL, 0, c), 0);
    double cost;
    cr_assert_eq(fast_assign_solve(N, c, p, NULL, NULL, &cost, err, sizeof err), 0);
    memcpy(xs, x, sizeof x), memcpy(ys, y, sizeof y);
    qsort(xs, N, sizeof *xs, cmp_d), qsort(ys, N, sizeof *ys, cmp_d);
    double sorted = 0;
    for (size_t i = 0; i < N; i++)
        sorted += (xs[i] - ys[i]) * (xs[i] - ys[i]);
    cr_expect(fabs(cost - sorted) <= 1e-12 * sorted, "%.17g vs sorted %.17g", cost, sorted);
    /* the assignment itself is monotone: x_i < x_k => y_p(i) <= y_p(k) */
    for (size_t i = 0; i < N; i++)
        for (size_t k = 0; k < N; k++)
            if (x[i] < x[k])
                cr_expect(y[p[i]] <= y[p[k]]);

    /* a measure whose particles differ only in b: COT_2^2 = h sum_k (1/M)
     * sum_j (b sorted - b' sorted)^2 */
    enum { L = 3, M = 40, D = 2 };
    static double a0[L * M * D], b1[L * M], b2[L * M];
    for (size_t i = 0; i < L * M; i++)
        b1[i] = unif(&s) * 2 - 1, b2[i] = unif(&s);
    no_cot_measure m1 = {L, M, D, a0, a0, b1}, m2 = {L, M, D, a0, a0, b2};
    no_cot_result r;
    cr_assert_eq(no_cot_distance(&m1, &m2, 128, 0, &r, err, sizeof err), 0, "%s", err);
    double want = 0;
    for (size_t k = 0; k < L; k++) {
        memcpy(xs, b1 + k * M, M * sizeof *xs), memcpy(ys, b2 + k * M, M * sizeof *ys);
        qsort(xs, M, sizeof *xs, cmp_d), qsort(ys, M, sizeof *ys, cmp_d);
        double sk = 0;
        for (size_t j = 0; j < M; j++)
            sk += (xs[j] - ys[j]) * (xs[j] - ys[j]);
        want += sk / M;
    }
    want /= L;
    cr_expect(r.verified);
    cr_expect(r.cot2_lo <= want * (1 + 1e-14) && want <= r.cot2_hi * (1 + 1e-14),
              "sorted %.17g outside [%.17g, %.17g]", want, r.cot2_lo, r.cot2_hi);
    cr_expect(r.cot2_bits >= 100, "%d bits", r.cot2_bits);
    no_cot_result_clear(&r);
}

static void random_measure(double *a, double *u, double *b, size_t L, size_t M, size_t D,
                           unsigned long long *s)
{
    for (size_t i = 0; i < L * M * D; i++)
        a[i] = 2 * unif(s) - 1, u[i] = 2 * unif(s) - 1;
    for (size_t i = 0; i < L * M; i++)
        b[i] = 2 * unif(s) - 1;
}

Test(cot_distance, w2_below_cot_and_identity_above)
{
    unsigned long long s = 2024;
    char err[256];
    enum { L = 4, M = 6, D = 2 };
    static double a1[L * M * D], u1[L * M * D], b1[L * M], a2[L * M * D], u2[L * M * D],
        b2[L * M];
    for (int it = 0; it < 5 * no_test_iters(); it++) {
        random_measure(a1, u1, b1, L, M, D, &s);
        random_measure(a2, u2, b2, L, M, D, &s);
        if (it == 0) {
            /* layer k of the second is layer k+1 of the first: cross-layer
             * transport is cheap for W_2, forbidden for COT */
            for (size_t k = 0; k + 1 < L; k++) {
                memcpy(a2 + k * M * D, a1 + (k + 1) * M * D, M * D * sizeof *a2);
                memcpy(u2 + k * M * D, u1 + (k + 1) * M * D, M * D * sizeof *u2);
                memcpy(b2 + k * M, b1 + (k + 1) * M, M * sizeof *b2);
            }
        }
        no_cot_measure m1 = {L, M, D, a1, u1, b1}, m2 = {L, M, D, a2, u2, b2};
        no_cot_result r;
        cr_assert_eq(no_cot_distance(&m1, &m2, 128, 1, &r, err, sizeof err), 0, "%s", err);
        cr_expect(r.verified && r.have_w2 && r.w2_verified);
        cr_expect(r.w2_le_cot && r.w2sq_joint_lo <= r.cot2_hi, "W_2^2 %.17g > COT_2^2 %.17g",
                  r.w2sq_joint_lo, r.cot2_hi);
        cr_expect(r.cot2_lo <= r.identity2 * (1 + 1e-14), "COT_2^2 %.17g > identity %.17g",
                  r.cot2_lo, r.identity2);
        if (it == 0)
            cr_expect(r.w2sq_joint_hi < 0.5 * r.cot2_lo, "shifted layers: W_2^2 %g, COT^2 %g",
                      r.w2sq_joint_hi, r.cot2_lo);
        /* COT_2^2 is the mean of the layers' W_2^2 */
        double mean = 0;
        for (size_t k = 0; k < L; k++)
            mean += r.w2sq[k] / L;
        cr_expect(fabs(mean - r.cot2) <= 1e-14 * r.cot2);
        no_cot_result_clear(&r);
    }
}

Test(cot_distance, identity_assignment_is_the_displacement_length)
{
    unsigned long long s = 31;
    char err[256];
    enum { L = 5, M = 12, D = 3 };
    static double a1[L * M * D], u1[L * M * D], b1[L * M], a2[L * M * D], u2[L * M * D],
        b2[L * M];
    random_measure(a1, u1, b1, L, M, D, &s);
    /* a displacement of size 1e-3, far below the distances between
     * particles (about 1): the identity is the unique optimal pairing */
    for (size_t i = 0; i < L * M * D; i++)
        a2[i] = a1[i] + 1e-3 * (unif(&s) - 0.5), u2[i] = u1[i] + 1e-3 * (unif(&s) - 0.5);
    for (size_t i = 0; i < L * M; i++)
        b2[i] = b1[i] + 1e-3 * (unif(&s) - 0.5);
    no_cot_measure m1 = {L, M, D, a1, u1, b1}, m2 = {L, M, D, a2, u2, b2};
    no_cot_result r;
    cr_assert_eq(no_cot_distance(&m1, &m2, 128, 0, &r, err, sizeof err), 0, "%s", err);
    for (size_t i = 0; i < L * M; i++)
        cr_expect_eq(r.perm[i], i % M, "layer %zu particle %zu", i / M, i % M);
    cr_expect(r.verified);
    cr_expect(r.cot2_lo <= r.identity2 * (1 + 1e-13) && r.identity2 <= r.cot2_hi * (1 + 1e-13),
              "identity %.17g outside [%.17g, %.17g]", r.identity2, r.cot2_lo, r.cot2_hi);
    no_cot_result_clear(&r);
}


/* SPEC 3/4: one GD step moves every particle by -eta G_kj, so
 * COT_2(theta^0, theta^1) <= eta |G| (the identity pairing), with equality
 * once eta |G_kj| is below the gaps between particles: the metric speed of
 * the flow is the metric norm of its velocity.  A wrong M or h in the metric
 * (of GD or of COT) breaks the limit. */
Test(cot_distance, metric_derivative_along_gd, .timeout = NO_TEST_TIMEOUT_S)
{
    no_spec sp;
    no_spec_default(&sp);
    sp.family = NO_FAMILY_MLP;
    sp.M = 8;
    sp.L = 4;
    sp.activation = NO_ACT_TANH;
    no_problem p;
    char err[256];
    cr_assert_eq(no_problem_generate(&p, &sp, err, sizeof err), 0, "%s", err);
    size_t L = sp.L, M = sp.M, D = sp.D, nd = L * M * D;
    double prev = INFINITY;
    for (int e = 0; e < 8; e++) {
        double eta = ldexp(1, 2 - 2 * e); /* 4 .. 2^-12 */
        fast_train_traj t;
        cr_assert_eq(fast_train_gd(&p, 1, eta, 1, NULL, NULL, &t, err, sizeof err), 0, "%s",
                     err);
        const double *t0 = t.params, *t1 = t.params + t.K;
        no_cot_measure m0 = {L, M, D, t0, t0 + nd, t0 + 2 * nd};
        no_cot_measure m1 = {L, M, D, t1, t1 + nd, t1 + 2 * nd};
        no_cot_result r;
        cr_assert_eq(no_cot_distance(&m0, &m1, 128, 0, &r, err, sizeof err), 0, "%s", err);
        double g = sqrt(t.gnorm2[0]), speed = r.cot / eta, dev = (g - speed) / g;
        cr_expect(r.verified);
        cr_expect(dev >= -1e-12, "eta %g: COT/eta %.17g above |G| %.17g", eta, speed, g);
        cr_expect(dev <= prev + 1e-12, "eta %g: deviation %g grew from %g", eta, dev, prev);
        if (e == 7)
            cr_expect(fabs(dev) <= 1e-12, "eta %g: COT/eta %.17g vs |G| %.17g", eta, speed, g);
        cr_log_info("eta %g: |G| %.15g, COT/eta %.15g, relative deviation %.3g", eta, g, speed,
                    dev);
        prev = dev;
        no_cot_result_clear(&r);
        fast_train_traj_clear(&t);
    }
    no_problem_free(&p);
}

/* ---- the command ------------------------------------------------------- */

static void write_arr(const char *dir, const char *name, int ndim, size_t s0, size_t s1,
                      size_t s2, const double *v)
{
    char path[PATH_MAX], err[256];
    no_array a;
    memset(&a, 0, sizeof a);
    a.ndim = ndim, a.shape[0] = s0, a.shape[1] = s1, a.shape[2] = s2;
    a.n = s0 * s1 * (ndim == 3 ? s2 : 1);
    a.v = (double *)v;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    cr_assert_eq(no_npy_write(path, &a, err, sizeof err), 0, "%s", err);
}

/* scratch/name with a.npy, u.npy, b.npy of a random (L, M, D) measure;
 * bad_b: b.npy of shape (L, M + 1) instead. */
static void write_measure(const char *name, size_t L, size_t M, size_t D, unsigned long long seed,
                          int bad_b)
{
    char dir[PATH_MAX];
    IN_SCRATCH(dir, "%s", name);
    no_test_mkdirs(dir, 0755);
    size_t na = L * M * D + 1, nb = L * (M + 1) + 1;
    double *a = calloc(na, sizeof *a), *u = calloc(na, sizeof *u), *b = calloc(nb, sizeof *b);
    cr_assert(a && u && b);
    for (size_t i = 0; i < L * M * D; i++)
        a[i] = 2 * unif(&seed) - 1, u[i] = 2 * unif(&seed) - 1;
    for (size_t i = 0; i < L * (M + 1); i++)
        b[i] = 2 * unif(&seed) - 1;
    write_arr(dir, "a.npy", 3, L, M, D, a);
    write_arr(dir, "u.npy", 3, L, M, D, u);
    write_arr(dir, "b.npy", 2, L, bad_b ? M + 1 : M, 0, b);
    free(a), free(u), free(b);
}

Test(cot_distance, cli_json_and_out, .init = scratch_setup, .fini = scratch_teardown,
     .timeout = NO_TEST_TIMEOUT_S)
{
    write_measure("A", 3, 5, 2, 1, 0);
    write_measure("B", 3, 5, 2, 2, 0);
    run_result r = runf("cot-distance %s/A %s/B --w2 --json --out %s/match", scratch, scratch,
                        scratch);
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    json_error_t je;
    json_t *o = json_loads(r.out, 0, &je);
    cr_assert_not_null(o, "not JSON: %s", r.out);
    cr_expect_str_eq(json_string_value(json_object_get(o, "kind")), "cot_distance");
    cr_expect(json_is_true(json_object_get(o, "verified")));
    cr_expect_eq(json_array_size(json_object_get(o, "layers")), 3);
    json_t *asg = json_object_get(o, "assignment");
    cr_expect_eq(json_array_size(asg), 3);
    double cot = json_number_value(json_object_get(o, "cot"));
    double w2 = json_number_value(json_object_get(json_object_get(o, "w2"), "w2"));
    cr_expect(w2 > 0 && w2 <= cot, "W_2 %g, COT_2 %g", w2, cot);
    char path[PATH_MAX], err[256];
    IN_SCRATCH(path, "match/assignment.npy");
    no_array a;
    memset(&a, 0, sizeof a);
    cr_assert_eq(no_npy_read(path, &a, 0, err, sizeof err), 0, "%s", err);
    cr_expect(a.ndim == 2 && a.shape[0] == 3 && a.shape[1] == 5);
    for (size_t k = 0; k < 3; k++)
        for (size_t j = 0; j < 5; j++)
            cr_expect_eq((json_int_t)a.v[k * 5 + j],
                         json_integer_value(json_array_get(json_array_get(asg, k), j)));
    free(a.v);
    IN_SCRATCH(path, "match/w2_assignment.npy");
    cr_assert_eq(no_npy_read(path, &a, 0, err, sizeof err), 0, "%s", err);
    cr_expect(a.ndim == 3 && a.shape[2] == 2);
    free(a.v);
    IN_SCRATCH(path, "report.json");
    no_test_expect_schema_valid(r.out, path, "cot-distance --json");
    json_decref(o);
    run_free(&r);

    /* the same measure twice: distance 0, exactly */
    r = runf("cot-distance %s/A %s/A --quiet", scratch, scratch);
    cr_expect_eq(r.status, 0);
    cr_expect(strstr(r.out, "COT_2 = 0 ") != NULL, "%s", r.out);
    run_free(&r);
}

Test(cot_distance, cli_hostile_inputs, .init = scratch_setup, .fini = scratch_teardown,
     .timeout = NO_TEST_TIMEOUT_S)
{
    write_measure("A", 3, 5, 2, 1, 0);
    write_measure("L4", 4, 5, 2, 2, 0);
    write_measure("M6", 3, 6, 2, 3, 0);
    write_measure("badb", 3, 5, 2, 4, 0);
    write_measure("badshape", 3, 5, 2, 4, 1);
    write_measure("M0", 3, 0, 2, 5, 0);
    write_measure("huge", 1, 20000, 1, 6, 0);
    write_measure("wide", 200, 100, 1, 7, 0);
    write_measure("wide2", 200, 100, 1, 8, 0);
    /* NaN in a.npy */
    char dir[PATH_MAX];
    IN_SCRATCH(dir, "nan");
    no_test_mkdirs(dir, 0755);
    double v[30] = {0}, b[15] = {0};
    v[7] = NAN;
    write_arr(dir, "a.npy", 3, 3, 5, 2, v);
    v[7] = 0;
    write_arr(dir, "u.npy", 3, 3, 5, 2, v);
    write_arr(dir, "b.npy", 2, 3, 5, 0, b);
    char c[12][2][PATH_MAX + 64];
    const char *want[12] = {"differ",  "differ",  "b.npy",      "M = 0",  "above the limit",
                            "NaN", "not a directory", "needs two", "takes two",
                            "--prec", "unknown option", "above the limit"};
    snprintf(c[0][0], sizeof c[0][0], "cot-distance %s/A %s/L4", scratch, scratch);
    snprintf(c[1][0], sizeof c[1][0], "cot-distance %s/A %s/M6", scratch, scratch);
    snprintf(c[2][0], sizeof c[2][0], "cot-distance %s/A %s/badshape", scratch, scratch);
    snprintf(c[3][0], sizeof c[3][0], "cot-distance %s/M0 %s/M0", scratch, scratch);
    snprintf(c[4][0], sizeof c[4][0], "cot-distance %s/huge %s/huge", scratch, scratch);
    snprintf(c[5][0], sizeof c[5][0], "cot-distance %s/nan %s/A", scratch, scratch);
    snprintf(c[6][0], sizeof c[6][0], "cot-distance %s/A/a.npy %s/A", scratch, scratch);
    snprintf(c[7][0], sizeof c[7][0], "cot-distance %s/A", scratch);
    snprintf(c[8][0], sizeof c[8][0], "cot-distance %s/A %s/A %s/A", scratch, scratch, scratch);
    snprintf(c[9][0], sizeof c[9][0], "cot-distance %s/A %s/A --prec 12", scratch, scratch);
    snprintf(c[10][0], sizeof c[10][0], "cot-distance %s/A %s/A --bogus 1", scratch, scratch);
    snprintf(c[11][0], sizeof c[11][0], "cot-distance %s/wide %s/wide2 --w2", scratch, scratch);
    const char *cases[12][2];
    for (int i = 0; i < 12; i++)
        cases[i][0] = c[i][0], cases[i][1] = want[i];
    expect_usage_errors((const char *const(*)[2])cases, 12);
    /* the wide pair is fine without --w2 (200 assignments of 100 points) */
    run_result r = runf("cot-distance %s/wide %s/wide2 --quiet", scratch, scratch);
    cr_expect_eq(r.status, 0, "%s", r.err);
    run_free(&r);
    /* nothing was written by the failed runs */
    cr_expect_eq(no_test_count_entries(scratch, NULL), 10 + 9 * 3 + 3);
}
