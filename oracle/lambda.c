/* lambda.c - lambda(delta), SPEC 5.3 (lambda.h; proofs-notes/theorem-lambda.md). */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fast_eig.h"
#include "fast_kernel.h"
#include "lambda.h"
#include "problem.h"
#include "ref.h"
#include "ref_eig.h"
#include "ref_kernel.h"
#include "rng.h"

#define U_DBL (DBL_EPSILON / 2) /* u = 2^-53 */

/* Every set handed to the reference is scaled to a minimum distance of
 * delta (1 + 2^-40): the separation then survives the double rounding of
 * the scaled coordinates with room to spare, and is proved in MPFR
 * (sep_lower) before a value is reported. */
#define SEP_NUDGE (1.0 + 0x1p-40)

int no_lambda_validate(const no_lambda_opts *o, char *err, size_t len)
{
    const no_lambda_kernel *k = &o->kernel;
    if (k->matern) {
        if (k->nu != 0.5 && k->nu != 1.5 && k->nu != 2.5 && k->nu != 3.5) {
            snprintf(err, len, "--nu: the Matern kernels are nu = 0.5, 1.5, 2.5, 3.5, got %g",
                     k->nu);
            return -1;
        }
    } else if (!(k->ell >= NO_ELL_MIN && k->ell <= NO_ELL_MAX)) {
        snprintf(err, len, "--ell: expected a bandwidth in [%g, %g], got %g", NO_ELL_MIN,
                 NO_ELL_MAX, k->ell);
        return -1;
    }
    if (o->N < 2 || o->N > NO_LAMBDA_N_MAX || o->D < 1 || o->D > NO_LAMBDA_D_MAX) {
        snprintf(err, len, "points: N in 2..%d and D in 1..%d, got N = %zu, D = %zu",
                 NO_LAMBDA_N_MAX, NO_LAMBDA_D_MAX, o->N, o->D);
        return -1;
    }
    if (!o->points && !(o->delta >= 1e-6 && o->delta <= 1e3)) {
        snprintf(err, len, "--delta: expected a separation in [1e-06, 1000], got %g", o->delta);
        return -1;
    }
    if (o->prec < REF_PREC_MIN || o->prec > REF_CERTIFY_PREC_MAX) {
        snprintf(err, len, "--prec: expected bits in [%d, %d], got %ld", REF_PREC_MIN,
                 REF_CERTIFY_PREC_MAX, o->prec);
        return -1;
    }
    if (o->sweep > NO_LAMBDA_SWEEP_MAX || o->seeds > NO_LAMBDA_SEEDS_MAX) {
        snprintf(err, len, "--sweep at most %d, --seeds at most %d", NO_LAMBDA_SWEEP_MAX,
                 NO_LAMBDA_SEEDS_MAX);
        return -1;
    }
    if (o->seeds && (o->qmin < 1 || o->qmax < o->qmin || o->qmax > NO_LAMBDA_Q_MAX ||
                     o->qmax / o->qmin < 4)) {
        snprintf(err, len, "--qmin, --qmax: 1 <= qmin, qmax >= 4 qmin (three q at least), "
                           "qmax <= %zu",
                 NO_LAMBDA_Q_MAX);
        return -1;
    }
    if (!(o->level > 0 && o->level < 1)) {
        snprintf(err, len, "--level: expected a number in (0, 1), got %g", o->level);
        return -1;
    }
    /* cost guards (theorem-lambda.md section 7): a Jacobi solve is about 10
     * sweeps of N^3 multiplications at prec bits (MPFR's products grow about
     * as prec^1.5 here), for at most NO_LAMBDA_REF_EVALS sets at each delta,
     * twice (two precisions); measured 1.7 us per N^3 at 128 bits, so the
     * limit is about a minute; a q sweep draws and multiplies about seeds 2 qmax (N^2 +
     * N D + 4 D) numbers.  Beyond these a run takes minutes: refused. */
    double n = (double)o->N, pr = o->prec > 128 ? (double)o->prec / 128 : 1;
    if (n * n * n * (double)(1 + o->sweep) * pr * sqrt(pr) > NO_LAMBDA_COST_MAX) {
        snprintf(err, len, "N = %zu at --prec %ld with --sweep %zu is too costly for the "
                           "reference (N^3 (1 + sweep) (prec/128)^1.5 <= %.3g): lower one of "
                           "them",
                 o->N, o->prec, o->sweep, NO_LAMBDA_COST_MAX);
        return -1;
    }
    if ((double)o->seeds * 2 * (double)o->qmax *
            (n * n + n * (double)o->D + 4 * (double)o->D) > 0x1p34) {
        snprintf(err, len, "--seeds %zu with --qmax %zu at N = %zu is too costly (seeds 2 qmax "
                           "(N^2 + N D + 4 D) <= 2^34): lower one of them",
                 o->seeds, o->qmax, o->N);
        return -1;
    }
    if (o->points && o->sweep) {
        snprintf(err, len, "--sweep needs the search (it is not a property of a given set): "
                           "use --sweep 0 with --points");
        return -1;
    }
    return 0;
}

static int fast_kernel_of(const no_lambda_kernel *k, fast_kernel *f)
{
    return k->matern ? fast_kernel_matern(f, k->nu) : fast_kernel_gaussian(f, k->ell);
}

double no_lambda_min_dist(size_t N, size_t D, const double *X)
{
    double best = INFINITY;
    for (size_t i = 0; i < N; i++)
        for (size_t j = i + 1; j < N; j++) {
            double s = 0;
            for (size_t d = 0; d < D; d++) {
                double e = X[i * D + d] - X[j * D + d];
                s += e * e;
            }
            if (s < best)
                best = s;
        }
    return sqrt(best);
}

/* A lower bound on the minimum distance of X, in MPFR with directed
 * rounding (|x - y| rounded down, squares and sums rounded down). */
static double sep_lower(size_t N, size_t D, const double *X)
{
    mpfr_t s, e;
    mpfr_inits2(128, s, e, (mpfr_ptr)0);
    double best = INFINITY;
    for (size_t i = 0; i < N; i++)
        for (size_t j = i + 1; j < N; j++) {
            mpfr_set_zero(s, 1);
            for (size_t d = 0; d < D; d++) {
                /* |a - b| rounded down: the larger minus the smaller */
                double a = X[i * D + d], b = X[j * D + d];
                mpfr_set_d(e, a >= b ? a : b, MPFR_RNDN); /* exact */
                mpfr_sub_d(e, e, a >= b ? b : a, MPFR_RNDD);
                mpfr_sqr(e, e, MPFR_RNDD);
                mpfr_add(s, s, e, MPFR_RNDD);
            }
            mpfr_sqrt(s, s, MPFR_RNDD);
            double v = mpfr_get_d(s, MPFR_RNDD);
            if (v < best)
                best = v;
        }
    mpfr_clears(s, e, (mpfr_ptr)0);
    return best;
}

static ref_kernel *ref_kernel_of(const no_lambda_kernel *k, size_t D, mpfr_prec_t prec)
{
    return k->matern ? ref_kernel_matern(D, k->nu, prec) : ref_kernel_gaussian(D, k->ell, prec);
}

/* lambda_min of K_X with every step at precision p, into lam. */
static int min_ref_at(const no_lambda_kernel *k, size_t N, size_t D, const double *X,
                      mpfr_prec_t p, mpfr_t lam, char *err, size_t len)
{
    ref_kernel *rk = ref_kernel_of(k, D, p);
    mpfr_t *Z = malloc(N * D * sizeof *Z), *K = malloc(N * N * sizeof *K),
           *w = malloc(N * sizeof *w);
    int rc = -1;
    if (!rk || !Z || !K || !w) {
        snprintf(err, len, "lambda: out of memory");
        ref_kernel_free(rk);
        free(Z);
        free(K);
        free(w);
        return -1;
    }
    for (size_t i = 0; i < N * D; i++) {
        mpfr_init2(Z[i], 64);
        mpfr_set_d(Z[i], X[i], MPFR_RNDN); /* exact */
    }
    for (size_t i = 0; i < N * N; i++)
        mpfr_init2(K[i], p);
    for (size_t i = 0; i < N; i++)
        mpfr_init2(w[i], p);
    for (size_t i = 0; i < N; i++)
        for (size_t j = i; j < N; j++) {
            ref_kernel_eval(rk, K[i * N + j], Z + i * D, Z + j * D);
            mpfr_set(K[j * N + i], K[i * N + j], MPFR_RNDN);
        }
    if (!ref_eig_sym(K, N, w, err, len)) {
        mpfr_set(lam, w[0], MPFR_RNDN);
        rc = 0;
    }
    for (size_t i = 0; i < N * D; i++)
        mpfr_clear(Z[i]);
    for (size_t i = 0; i < N * N; i++)
        mpfr_clear(K[i]);
    for (size_t i = 0; i < N; i++)
        mpfr_clear(w[i]);
    free(Z);
    free(K);
    free(w);
    ref_kernel_free(rk);
    return rc;
}

int no_lambda_min_ref(const no_lambda_kernel *k, size_t N, size_t D, const double *X,
                      mpfr_prec_t prec, mpfr_t lam, double *bits, char *err, size_t len)
{
    mpfr_prec_t g = prec / 2 > 32 ? prec / 2 : 32;
    mpfr_t lo, hi;
    mpfr_init2(lo, prec);
    mpfr_init2(hi, prec + g);
    int rc = min_ref_at(k, N, D, X, prec, lo, err, len);
    if (!rc)
        rc = min_ref_at(k, N, D, X, prec + g, hi, err, len);
    if (!rc) {
        *bits = ref_correct_bits(lo, hi, prec);
        mpfr_set(lam, hi, MPFR_RNDN);
    }
    mpfr_clears(lo, hi, (mpfr_ptr)0);
    return rc;
}

/* K (N x N) and psi of X in double. */
static void gram_fast(const fast_kernel *fk, size_t N, size_t D, const double *X, double *K,
                      double *psi)
{
    fast_kernel_matrix_direct(fk, N, X, N, X, D, K, psi);
}

double no_lambda_min_fast(const no_lambda_kernel *k, size_t N, size_t D, const double *X,
                          double *v, double *normK)
{
    fast_kernel fk;
    if (fast_kernel_of(k, &fk))
        return NAN;
    double *K = malloc(N * N * sizeof *K);
    if (!K)
        return NAN;
    gram_fast(&fk, N, D, X, K, NULL);
    if (normK) {
        double s = 0;
        for (size_t i = 0; i < N * N; i++)
            s += K[i] * K[i];
        *normK = sqrt(s);
    }
    double lam = NAN;
    if (fast_eig_sym_lowest(N, K, 1, &lam, v))
        lam = NAN;
    free(K);
    return lam;
}

double no_lambda_fast_bound(size_t N, size_t D, double normK)
{
    double n = (double)N;
    return n * 8.0 * ((double)D + 8.0) * U_DBL + n * n * U_DBL * normK;
}

double no_lambda_lower(const no_lambda_kernel *k, size_t N, size_t D, double delta)
{
    fast_kernel fk;
    if (fast_kernel_of(k, &fk))
        return NAN;
    double left = (double)N - 1, S = 0;
    for (double m = 1; left > 0; m++) {
        /* points at distance in [m delta, (m+1) delta): their disjoint balls
         * of radius delta/2 fill at most the shell [m - 1/2, m + 3/2) delta */
        double cap = pow(2 * m + 3, (double)D) - pow(2 * m - 1, (double)D);
        double c = cap < left ? cap : left;
        double kv, psi;
        fast_kernel_radial(&fk, m * delta * m * delta, &kv, &psi);
        S += c * kv;
        left -= c;
    }
    /* every k(m delta) is within a few ulps (exp, a cubic): 16 u each, and
     * the sum's own rounding, both covered by (N + 16) u */
    return 1 - S - ((double)N + 16) * U_DBL;
}

double no_lambda_expected_exponent(const no_lambda_kernel *k, size_t N)
{
    double poly = 2.0 * ((double)N - 1);
    if (!k->matern)
        return poly;
    return poly < 2 * k->nu ? poly : 2 * k->nu;
}

/* ---- the search --------------------------------------------------------- */

typedef struct {
    const no_lambda_opts *o;
    fast_kernel fk;
    size_t N, D;
    double delta;
    double *K, *psi, *v, *g, *Y; /* scratch */
} search_ctx;

/* Scale X so that its minimum distance is delta SEP_NUDGE; -1 (X
 * unchanged) when two points coincide or the scale is not finite: a step
 * that merges points is rejected, never rescaled into a degenerate set. */
static int normalise(size_t N, size_t D, double delta, double *X)
{
    double md = no_lambda_min_dist(N, D, X);
    double s = delta * SEP_NUDGE / md;
    if (!(md > 0) || !isfinite(md) || !isfinite(s) || s > 0x1p100)
        return -1;
    for (size_t i = 0; i < N * D; i++)
        X[i] *= s;
    return 0;
}

/* lambda_min (double) of X and its eigenvector into c->v; |K|_F into normK. */
static double eval(search_ctx *c, const double *X, double *normK)
{
    gram_fast(&c->fk, c->N, c->D, X, c->K, c->psi);
    if (normK) {
        double s = 0;
        for (size_t i = 0; i < c->N * c->N; i++)
            s += c->K[i] * c->K[i];
        *normK = sqrt(s);
    }
    double lam;
    if (fast_eig_sym_lowest(c->N, c->K, 1, &lam, c->v))
        return NAN;
    return lam;
}

/* Descent on lambda_min over sets scaled to separation delta: the gradient
 * d lambda / d x_i = 2 v_i sum_j v_j psi_ij (x_i - x_j) (v the unit
 * eigenvector; grad_z k(z, c) = psi (z - c)), a step of at most alpha delta
 * per point, rescaling, acceptance on decrease (alpha grows by 3/2 on
 * success, halves on failure).  Stops when lambda falls below the double
 * noise floor (it then ranks nothing) or alpha below 2^-30. */
static double descend(search_ctx *c, double *X, double lam, size_t *accepted)
{
    size_t N = c->N, D = c->D;
    double alpha = 0.25, normK;
    *accepted = 0;
    for (size_t it = 0; it < c->o->iters && alpha > 0x1p-30; it++) {
        (void)eval(c, X, &normK);
        if (!(lam > 4 * no_lambda_fast_bound(N, D, normK)))
            break;
        double gmax = 0;
        for (size_t i = 0; i < N; i++) {
            double gn = 0;
            for (size_t d = 0; d < D; d++) {
                double s = 0;
                for (size_t j = 0; j < N; j++)
                    s += c->v[j] * c->psi[i * N + j] * (X[i * D + d] - X[j * D + d]);
                c->g[i * D + d] = 2 * c->v[i] * s;
                gn += c->g[i * D + d] * c->g[i * D + d];
            }
            if (gn > gmax)
                gmax = gn;
        }
        if (!(gmax > 0))
            break;
        double step = alpha * c->delta / sqrt(gmax);
        for (size_t i = 0; i < N * D; i++)
            c->Y[i] = X[i] - step * c->g[i];
        double ly = normalise(N, D, c->delta, c->Y) ? NAN : eval(c, c->Y, NULL);
        if (ly < lam) {
            memcpy(X, c->Y, N * D * sizeof *X);
            lam = ly;
            alpha = alpha * 1.5 > 0.5 ? 0.5 : alpha * 1.5;
            (*accepted)++;
        } else {
            alpha *= 0.5;
        }
    }
    return lam;
}

/* The N points of a lattice nearest a generic centre, embedded in the first
 * dim coordinates: dim 1 the integers, 2 the hexagonal lattice, 3 the
 * face-centred cubic (integer points of even coordinate sum). */
static void lattice(size_t N, size_t D, int dim, double *X)
{
    const double centre[3] = {0.1234, 0.0567, 0.0312};
    int R = 1;
    while (pow(2 * R + 1, dim) < 4.0 * (double)N + 8)
        R++;
    size_t cap = (size_t)pow(2 * R + 1, dim);
    double *P = malloc(cap * 3 * sizeof *P), *dist = malloc(cap * sizeof *dist);
    memset(X, 0, N * D * sizeof *X);
    if (!P || !dist) {
        free(P);
        free(dist);
        return;
    }
    size_t n = 0;
    for (int a = -R; a <= R; a++)
        for (int b = dim > 1 ? -R : 0; b <= (dim > 1 ? R : 0); b++)
            for (int e = dim > 2 ? -R : 0; e <= (dim > 2 ? R : 0); e++) {
                double p[3] = {a, 0, 0};
                if (dim == 2) {
                    p[0] = a + 0.5 * b;
                    p[1] = b * sqrt(3.0) / 2;
                } else if (dim == 3) {
                    if ((a + b + e) % 2)
                        continue;
                    p[1] = b;
                    p[2] = e;
                }
                double s = 0;
                for (int d = 0; d < 3; d++)
                    s += (p[d] - centre[d]) * (p[d] - centre[d]);
                memcpy(P + 3 * n, p, sizeof p);
                dist[n++] = s;
            }
    /* selection sort of the N nearest (n is a few hundred at most) */
    for (size_t i = 0; i < N && i < n; i++) {
        size_t best = i;
        for (size_t j = i; j < n; j++)
            if (dist[j] < dist[best])
                best = j;
        double t = dist[i];
        dist[i] = dist[best];
        dist[best] = t;
        for (int d = 0; d < 3; d++) {
            double u = P[3 * i + d];
            P[3 * i + d] = P[3 * best + d];
            P[3 * best + d] = u;
        }
        for (int d = 0; d < dim && (size_t)d < D; d++)
            X[i * D + d] = P[3 * i + d];
    }
    free(P);
    free(dist);
}

typedef enum {
    START_COLLINEAR,
    START_LINE_JITTER,
    START_HEX,
    START_FCC,
    START_RANDOM,
    START_CLUSTER
} start_kind;

/* Random sequential addition at unit separation: each new point is placed
 * at distance 1 .. 1.25 from a random earlier point, in a uniformly random
 * direction, and kept if it is at distance >= 1 from all (else redrawn, at
 * most 1000 times, then placed far away along the first axis).  The sets are
 * compact, like the minimisers, where uniform points in a box rescaled to
 * separation delta leave one close pair and the rest far apart. */
static void random_packing(size_t N, size_t D, no_rng *rng, double *X)
{
    memset(X, 0, N * D * sizeof *X);
    for (size_t i = 1; i < N; i++) {
        double *x = X + i * D;
        int placed = 0;
        for (int t = 0; t < 1000 && !placed; t++) {
            const double *c = X + no_rng_below(rng, i) * D;
            double n2 = 0;
            for (size_t d = 0; d < D; d++) {
                x[d] = no_rng_normal(rng);
                n2 += x[d] * x[d];
            }
            double r = (1 + 0.25 * no_rng_uniform(rng)) / sqrt(n2 > 0 ? n2 : 1);
            for (size_t d = 0; d < D; d++)
                x[d] = c[d] + r * x[d];
            placed = no_lambda_min_dist(i + 1, D, X) >= 1;
        }
        if (!placed) {
            memset(x, 0, D * sizeof *x);
            x[0] = 2.0 * (double)(N + i);
        }
    }
}

static void make_start(start_kind kind, size_t N, size_t D, no_rng *rng, double *X)
{
    memset(X, 0, N * D * sizeof *X);
    switch (kind) {
    case START_COLLINEAR:
        lattice(N, D, 1, X);
        break;
    case START_LINE_JITTER:
        lattice(N, D, 1, X);
        for (size_t i = 0; i < N * D; i++)
            X[i] += 1e-3 * (no_rng_uniform(rng) - 0.5);
        break;
    case START_HEX:
        lattice(N, D, 2, X);
        break;
    case START_FCC:
        lattice(N, D, 3, X);
        break;
    case START_RANDOM:
        random_packing(N, D, rng, X);
        break;
    case START_CLUSTER:
        /* a lattice of the largest dimension available, jittered by 0.2 */
        lattice(N, D, D >= 3 ? 3 : (int)D, X);
        for (size_t i = 0; i < N * D; i++)
            X[i] += 0.2 * (2 * no_rng_uniform(rng) - 1);
        break;
    }
}

static const char *start_names[] = {"collinear", "collinear-jitter", "hexagonal", "fcc",
                                    "random-packing", "lattice-jitter"};

/* The search at one delta: every start, local search, reference values for
 * the candidates within a factor 2 of the best double value (or below the
 * double noise floor, where double cannot rank them); the best reference
 * value into pt.  starts (may be NULL) receives the per-start table. */
static int search(const no_lambda_opts *o, double delta, no_lambda_point *pt,
                  no_lambda_start **starts_out, size_t *nstarts_out, char *err, size_t len)
{
    size_t N = o->N, D = o->D;
    search_ctx c = {.o = o, .N = N, .D = D, .delta = delta};
    if (fast_kernel_of(&o->kernel, &c.fk)) {
        snprintf(err, len, "lambda: bad kernel");
        return -1;
    }
    size_t nst = 2 + (D >= 2) + (D >= 3) + 2 * o->starts;
    start_kind *kinds = malloc(nst * sizeof *kinds);
    no_lambda_start *st = calloc(nst, sizeof *st);
    double *sets = malloc(nst * N * D * sizeof *sets);
    c.K = malloc(N * N * sizeof *c.K);
    c.psi = malloc(N * N * sizeof *c.psi);
    c.v = malloc(N * sizeof *c.v);
    c.g = malloc(N * D * sizeof *c.g);
    c.Y = malloc(N * D * sizeof *c.Y);
    pt->X = malloc(N * D * sizeof *pt->X);
    int rc = -1;
    mpfr_t lam;
    mpfr_init2(lam, (mpfr_prec_t)o->prec);
    if (!kinds || !st || !sets || !c.K || !c.psi || !c.v || !c.g || !c.Y || !pt->X) {
        snprintf(err, len, "lambda: out of memory");
        goto done;
    }
    size_t n = 0;
    kinds[n++] = START_COLLINEAR;
    kinds[n++] = START_LINE_JITTER;
    if (D >= 2)
        kinds[n++] = START_HEX;
    if (D >= 3)
        kinds[n++] = START_FCC;
    for (size_t s = 0; s < o->starts; s++) {
        kinds[n++] = START_RANDOM;
        kinds[n++] = START_CLUSTER;
    }
    no_rng rng;
    no_rng_init(&rng, o->seed, NO_STREAM_TEST + 53);
    double best_fast = INFINITY, normK = 0;
    for (size_t s = 0; s < nst; s++) {
        double *X = sets + s * N * D;
        make_start(kinds[s], N, D, &rng, X);
        if (normalise(N, D, delta, X)) /* a random start with two equal points */
            make_start(START_COLLINEAR, N, D, &rng, X), normalise(N, D, delta, X);
        snprintf(st[s].name, sizeof st[s].name, "%s", start_names[kinds[s]]);
        st[s].lam_start = eval(&c, X, NULL);
        st[s].lam_fast = descend(&c, X, st[s].lam_start, &st[s].accepted);
        st[s].lam_ref = NAN;
        if (st[s].lam_fast < best_fast)
            best_fast = st[s].lam_fast;
    }
    if (!isfinite(best_fast)) {
        snprintf(err, len, "lambda: the double eigensolver failed on every start");
        goto done;
    }
    /* The reference ranks at most NO_LAMBDA_REF_EVALS candidates: those
     * within a factor 2 of the best double value, the smallest first; sets
     * whose double value is below the noise floor cannot be ranked in
     * double and come first, in start order (the structured starts lead). */
    double floor = 4 * no_lambda_fast_bound(N, D, (double)N);
    double *key = malloc(nst * sizeof *key);
    if (!key) {
        snprintf(err, len, "lambda: out of memory");
        goto done;
    }
    for (size_t s = 0; s < nst; s++)
        key[s] = !(st[s].lam_fast <= 2 * best_fast + floor) ? INFINITY
                 : st[s].lam_fast > floor                   ? st[s].lam_fast
                                                            : -1.0 + 1e-6 * (double)s;
    pt->lam = INFINITY;
    for (size_t e = 0; e < NO_LAMBDA_REF_EVALS; e++) {
        size_t s = 0;
        for (size_t t = 1; t < nst; t++)
            if (key[t] < key[s])
                s = t;
        if (key[s] == INFINITY)
            break;
        key[s] = INFINITY;
        double *X = sets + s * N * D;
        if (no_lambda_min_ref(&o->kernel, N, D, X, (mpfr_prec_t)o->prec, lam, &st[s].bits, err,
                              len)) {
            free(key);
            goto done;
        }
        st[s].lam_ref = mpfr_get_d(lam, MPFR_RNDN);
        if (st[s].lam_ref < pt->lam) {
            pt->lam = st[s].lam_ref;
            pt->bits = st[s].bits;
            memcpy(pt->X, X, N * D * sizeof *X);
            snprintf(pt->start, sizeof pt->start, "%s", st[s].name);
        }
    }
    free(key);
    pt->delta = delta;
    pt->lam_fast = no_lambda_min_fast(&o->kernel, N, D, pt->X, NULL, &normK);
    pt->normK = normK;
    pt->fast_bound = no_lambda_fast_bound(N, D, normK);
    pt->lower = no_lambda_lower(&o->kernel, N, D, delta);
    pt->min_dist = sep_lower(N, D, pt->X);
    if (starts_out) {
        *starts_out = st;
        *nstarts_out = nst;
        st = NULL;
    }
    rc = 0;
done:
    mpfr_clear(lam);
    free(kinds);
    free(st);
    free(sets);
    free(c.K);
    free(c.psi);
    free(c.v);
    free(c.g);
    free(c.Y);
    return rc;
}

/* ---- the given set -------------------------------------------------------- */

static int given(const no_lambda_opts *o, no_lambda_point *pt, char *err, size_t len)
{
    size_t N = o->N, D = o->D;
    pt->X = malloc(N * D * sizeof *pt->X);
    if (!pt->X) {
        snprintf(err, len, "lambda: out of memory");
        return -1;
    }
    memcpy(pt->X, o->points, N * D * sizeof *pt->X);
    pt->min_dist = sep_lower(N, D, pt->X);
    pt->delta = no_lambda_min_dist(N, D, pt->X);
    snprintf(pt->start, sizeof pt->start, "given");
    mpfr_t lam;
    mpfr_init2(lam, (mpfr_prec_t)o->prec);
    int rc = no_lambda_min_ref(&o->kernel, N, D, pt->X, (mpfr_prec_t)o->prec, lam, &pt->bits,
                               err, len);
    pt->lam = mpfr_get_d(lam, MPFR_RNDN);
    mpfr_clear(lam);
    double normK = 0;
    pt->lam_fast = no_lambda_min_fast(&o->kernel, N, D, pt->X, NULL, &normK);
    pt->normK = normK;
    pt->fast_bound = no_lambda_fast_bound(N, D, normK);
    pt->lower = no_lambda_lower(&o->kernel, N, D, pt->min_dist);
    return rc;
}

/* ---- the random-feature kernel ------------------------------------------ */

/* lambda_min of K_q = Phi Phi^T, Phi_ir = sqrt(2/q) cos(Omega_r . x_i + beta_r),
 * Omega and beta from the rff generator (problem/generate.c) with this seed. */
static int rff_min(const no_lambda_opts *o, const double *X, size_t q, uint64_t seed,
                   double *lam, double *Phi, double *Kq, char *err, size_t len)
{
    no_spec s;
    no_spec_default(&s);
    s.family = NO_FAMILY_RFF;
    s.N = 1;
    s.d_in = 1;
    s.d_out = 1;
    s.D = o->D;
    s.L = 1;
    s.q = q;
    s.kernel = o->kernel.matern ? NO_KERNEL_MATERN : NO_KERNEL_GAUSSIAN;
    s.ell = o->kernel.matern ? 1 : o->kernel.ell;
    s.nu = o->kernel.matern ? o->kernel.nu : 2.5;
    s.seed = seed;
    no_problem p;
    if (no_problem_generate(&p, &s, err, len))
        return -1;
    size_t N = o->N, D = o->D;
    double sc = sqrt(2.0 / (double)q);
    for (size_t i = 0; i < N; i++)
        for (size_t r = 0; r < q; r++) {
            double a = p.beta[r];
            for (size_t d = 0; d < D; d++)
                a += p.Omega[r * D + d] * X[i * D + d];
            Phi[i * q + r] = sc * cos(a);
        }
    no_problem_free(&p);
    for (size_t i = 0; i < N; i++)
        for (size_t j = i; j < N; j++) {
            double t = 0;
            for (size_t r = 0; r < q; r++)
                t += Phi[i * q + r] * Phi[j * q + r];
            Kq[i * N + j] = Kq[j * N + i] = t;
        }
    if (fast_eig_sym_lowest(N, Kq, 1, lam, NULL)) {
        snprintf(err, len, "lambda: the double eigensolver failed on K_q (q = %zu)", q);
        return -1;
    }
    return 0;
}

static int q_sweep(const no_lambda_opts *o, no_lambda_result *r, char *err, size_t len)
{
    size_t N = o->N;
    for (size_t q = o->qmin; q <= o->qmax; q *= 2)
        r->nq++;
    r->q = calloc(r->nq, sizeof *r->q);
    r->mean_err = calloc(r->nq, sizeof *r->mean_err);
    r->mean_lam = calloc(r->nq, sizeof *r->mean_lam);
    r->min_lam = calloc(r->nq, sizeof *r->min_lam);
    r->frac = calloc(r->nq, sizeof *r->frac);
    double *Phi = malloc(N * o->qmax * sizeof *Phi), *Kq = malloc(N * N * sizeof *Kq);
    double *qx = malloc(r->nq * sizeof *qx), *w = malloc(N * sizeof *w),
           *K = malloc(N * N * sizeof *K);
    fast_kernel fk;
    int rc = -1;
    if (!r->q || !r->mean_err || !r->mean_lam || !r->min_lam || !r->frac || !Phi || !Kq ||
        !qx || !w || !K || fast_kernel_of(&o->kernel, &fk)) {
        snprintf(err, len, "lambda: out of memory");
        goto done;
    }
    double lam = r->main.lam;
    size_t q = o->qmin;
    for (size_t i = 0; i < r->nq; i++, q *= 2) {
        r->q[i] = q;
        qx[i] = (double)q;
        r->min_lam[i] = INFINITY;
        size_t ok = 0;
        for (size_t s = 1; s <= o->seeds; s++) {
            double lq;
            if (rff_min(o, r->main.X, q, s, &lq, Phi, Kq, err, len))
                goto done;
            r->mean_err[i] += fabs(lq - lam) / (double)o->seeds;
            r->mean_lam[i] += lq / (double)o->seeds;
            if (lq < r->min_lam[i])
                r->min_lam[i] = lq;
            ok += lq >= lam / 2;
        }
        r->frac[i] = (double)ok / (double)o->seeds;
    }
    /* The Monte-Carlo rate is a statement about the regime where K_q carries
     * lambda: fitted only over the q with mean |lambda_q - lambda| < lambda
     * (below it lambda_min(K_q) is ~0 whatever q, and the mean error is flat
     * at lambda) and above 10 times the double rounding of lambda_min(K_q)
     * (section 6).  Fewer than three such q: no fit, the check undecided. */
    double fy[64], fx[64];
    size_t nf = 0;
    for (size_t i = 0; i < r->nq && nf < 64; i++) {
        double noise = (double)N * 2.0 * ((double)r->q[i] + 4) * U_DBL +
                       2.0 * (double)N * (double)N * (double)N * U_DBL;
        if (r->mean_err[i] < lam && r->mean_err[i] > 10 * noise) {
            fx[nf] = qx[i];
            fy[nf++] = r->mean_err[i];
        }
    }
    r->qfit = no_fit_loglog(fx, fy, nf, o->level);
    r->q_needed = 0;
    for (size_t i = r->nq; i-- > 0;) {
        if (r->frac[i] < 1 - NO_LAMBDA_EPS)
            break;
        r->q_needed = r->q[i];
    }
    /* matrix Bernstein (theorem-lambda.md section 6): |K_q - K|_2 <= lam/2
     * with probability >= 1 - eps once q >= 16 N (|K|_2 + lam/6) log(2N/eps)/lam^2 */
    gram_fast(&fk, N, o->D, r->main.X, K, NULL);
    double lmax = NAN;
    if (!fast_eig_sym(N, K, w))
        lmax = w[N - 1];
    r->q_bernstein = 16.0 * (double)N * (lmax + lam / 6) *
                     log(2.0 * (double)N / NO_LAMBDA_EPS) / (lam * lam);
    /* rounding of lambda_min(K_q) in double: an entry is a sum of q terms of
     * size <= 2/q, within 2 (q + 4) u (gamma_q and the cosines), so |dK|_2 <=
     * N 2 (q + 4) u; LAPACK adds N^2 u |K_q|_2, |K_q|_2 <= trace <= 2 N */
    r->q_noise = (double)N * 2.0 * ((double)o->qmax + 4) * U_DBL +
                 2.0 * (double)N * (double)N * (double)N * U_DBL;
    rc = 0;
done:
    free(Phi);
    free(Kq);
    free(qx);
    free(w);
    free(K);
    return rc;
}

/* ---- everything ------------------------------------------------------------ */

int no_lambda_run(const no_lambda_opts *o, no_lambda_result *r, char *err, size_t len)
{
    memset(r, 0, sizeof *r);
    r->local_slope = NAN;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (no_lambda_validate(o, err, len))
        return -1;
    r->expected = no_lambda_expected_exponent(&o->kernel, o->N);
    if (o->points) {
        if (given(o, &r->main, err, len))
            return -1;
    } else {
        if (search(o, o->delta, &r->main, &r->starts, &r->nstarts, err, len))
            return -1;
        if (o->sweep) {
            r->sweep = calloc(o->sweep, sizeof *r->sweep);
            if (!r->sweep) {
                snprintf(err, len, "lambda: out of memory");
                return -1;
            }
            r->nsweep = o->sweep;
            for (size_t j = 0; j < o->sweep; j++)
                if (search(o, ldexp(o->delta, -(int)j), &r->sweep[j], NULL, NULL, err, len))
                    return -1;
            /* fit the smaller half of the deltas (at least three): the
             * exponent is a flat-limit (delta -> 0) statement, and the local
             * slopes of the larger deltas are still pre-asymptotic (Matern
             * nu = 2.5: 3.4, 4.3, 4.7, 4.9 towards 5; theorem-lambda.md
             * section 5); values with fewer than 8 correct bits are left out */
            size_t keep = r->nsweep / 2 > 3 ? r->nsweep / 2 : 3;
            r->fit_from = r->nsweep > keep ? r->nsweep - keep : 0;
            double x[NO_LAMBDA_SWEEP_MAX], y[NO_LAMBDA_SWEEP_MAX];
            size_t k = 0;
            for (size_t j = r->fit_from; j < r->nsweep; j++)
                if (r->sweep[j].bits >= 8 && r->sweep[j].lam > 0) {
                    x[k] = r->sweep[j].delta;
                    y[k++] = r->sweep[j].lam;
                }
            r->fit = no_fit_loglog(x, y, k, o->level);
            if (r->nsweep >= 2)
                r->local_slope = log2(r->sweep[r->nsweep - 2].lam / r->sweep[r->nsweep - 1].lam);
        }
    }
    if (o->seeds && q_sweep(o, r, err, len))
        return -1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    r->seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    return 0;
}

void no_lambda_result_clear(no_lambda_result *r)
{
    free(r->main.X);
    for (size_t j = 0; j < r->nsweep; j++)
        free(r->sweep[j].X);
    free(r->sweep);
    free(r->starts);
    free(r->q);
    free(r->mean_err);
    free(r->mean_lam);
    free(r->min_lam);
    free(r->frac);
    memset(r, 0, sizeof *r);
}
