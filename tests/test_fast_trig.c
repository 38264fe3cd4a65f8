/* fast_trig: fast/'s vectorised sin and cos (fast/fast_trig.h) hold to what
 * proofs-notes/fast-trig.md proves and promises of them.  u = 2^-53.
 *
 *  error_within_proven_bound_below_1, error_within_proven_bound_from_1
 *        1.0e6 arguments in two halves (|x| < 1, mostly >= 1: -j2 runs
 *        them side by side: MPFR costs ~3 us an argument): log-uniform
 *        magnitudes 2^-30 .. X_MAX = 2^26 with both signs, uniform on [-8, 8],
 *        within 3 ulps of j pi/4 for j = 1..2048 and 4000 random j up to
 *        X_MAX/(pi/4), +-0, subnormals, DBL_MIN, X_MAX and its lower
 *        neighbours.  Against MPFR's sin and cos at 128 bits (their own
 *        error, 2^-128 relative, is nothing at the u level):
 *        |error| <= FAST_TRIG_ERR_BOUND_U u, the note's theorem, not a tuned
 *        tolerance (a failure is a bug or a hole in the proof), and at least a
 *        quarter of it, so that the bound is not vacuous; the relative bounds
 *        of section 5 likewise.  Measured: sin 1.05 u, cos 1.05 u (bound 1.4);
 *        cos-polynomial values 1.49 u relative (bound 1.73); sin for
 *        |x| < pi/4 0.998 of (1 + 0.88 x^2) u.
 *  outliers_are_glibc  |x| > X_MAX (its upper neighbour .. DBL_MAX), +-inf
 *        and NaN give glibc's sin and cos bit for bit (NaN for NaN), mixed into
 *        blocks of ordinary arguments, which the fix-up leaves alone.
 *  variants_bit_identical  every compiled variant (generic, AVX2, AVX-512F)
 *        that this CPU runs gives the generic variant's bits for sin, cos and
 *        cos-only on 2^20 arguments of every kind; the dispatcher picks the
 *        highest supported one.  Bits, not a tolerance: determinism is the
 *        claim.
 *  in_place_and_lengths  n = 0 (NULL pointers), lengths 1..1000 around the
 *        block of 64, two alignments, x == c, x == s, cos in place: the bits
 *        of the out-of-place call, nothing written past n; cos-only equals
 *        sincos's cos.
 *  broken_copies_exceed_bound  the same code with one constant broken (pi/2
 *        in two parts; the r^3 or the r^4 coefficient off by 2^-40 relative)
 *        exceeds the bound (1.9e7 u, 662 u, 131 u): the first check can fail.
 *  proof_constants_and_budget  the hypotheses of the note, in MPFR: RN(2/pi);
 *        the pi/2 split's grids and sizes; the largest k keeps k P1, k P2 and
 *        the first two subtractions exact; |r| <= rho; the coefficients are
 *        the rounded Taylor ones.  And the bounds of sections 3-5 recomputed
 *        from the constants in the code, rounding upward: sin 1.3660 u, cos
 *        1.2217 u <= FAST_TRIG_ERR_BOUND_U; 1.7277 u and kappa = 0.8763 for
 *        the relative ones. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <float.h>
#include <math.h>
#include <mpfr.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fast_trig.h"

#define U 0x1p-53
#define PREC 128

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static void rng_seed(uint64_t s)
{
    rng_state = s;
}

/* splitmix64 */
static uint64_t rng_u64(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double rng_unit(void) /* [0, 1) */
{
    return (double)(rng_u64() >> 11) * 0x1p-53;
}

static double from_bits(uint64_t b)
{
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

static uint64_t to_bits(double d)
{
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    return b;
}

/* ---- the accuracy sample ------------------------------------------------ */

typedef struct {
    double *x;
    size_t n, cap;
} sample;

static void push(sample *s, double v)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 1 << 20;
        s->x = realloc(s->x, s->cap * sizeof *s->x);
        cr_assert_not_null(s->x);
    }
    s->x[s->n++] = v;
}

/* The nearest double to j pi/4 and its 3 neighbours each side, those <= X_MAX. */
static void push_near_multiple(sample *s, mpfr_t t, double j)
{
    mpfr_const_pi(t, MPFR_RNDN);
    mpfr_mul_d(t, t, j / 4, MPFR_RNDN); /* j/4 exact; 128 bits: t to 2^-100 relative */
    double x0 = mpfr_get_d(t, MPFR_RNDN), lo = x0, hi = x0;
    for (int d = 0; d < 3; d++)
        lo = nextafter(lo, 0), hi = nextafter(hi, INFINITY);
    for (double v = lo; v <= hi; v = nextafter(v, INFINITY))
        if (v <= FAST_TRIG_X_MAX)
            push(s, v);
}

/* Deterministic, all with |x| <= X_MAX, in two parts of about 5e5 (two
 * tests, which `make test -j2` runs side by side: MPFR takes ~3 us an
 * argument).  Part 0, |x| < 1: log-uniform magnitudes 2^-30 .. 1, both
 * signs, +-0, subnormals, DBL_MIN.  Part 1, mostly |x| >= 1: log-uniform
 * magnitudes 1 .. 2^26, uniform on [-8, 8] (the rff phases' range), within
 * 3 ulps of j pi/4 for j = 1..2048 and for 4000 random j up to X_MAX/(pi/4)
 * (positive only: the kernel works on |x|), X_MAX and its two lower
 * neighbours with both signs. */
static sample accuracy_sample(int part)
{
    sample s = {0};
    rng_seed(20240611 + (uint64_t)part);
    for (int i = 0; i < 450000; i++) {
        double m = ldexp(1.0 + rng_unit(), part ? (int)(rng_u64() % 26) : -30 + (int)(rng_u64() % 30));
        push(&s, (rng_u64() & 1) ? -m : m);
    }
    if (part == 0) {
        double special[] = {0.0,          from_bits(1), /* smallest subnormal */
                            from_bits(0x000fffffffffffffull), /* largest subnormal */
                            from_bits(0x0000000123456789ull), DBL_MIN, 0x1p-600, 0x1p-30};
        for (size_t i = 0; i < sizeof special / sizeof *special; i++) {
            push(&s, special[i]);
            push(&s, -special[i]);
        }
        return s;
    }
    for (int i = 0; i < 60000; i++)
        push(&s, 16 * rng_unit() - 8);
    mpfr_t t;
    mpfr_init2(t, PREC);
    for (int j = 1; j <= 2048; j++)
        push_near_multiple(&s, t, j);
    for (int i = 0; i < 4000; i++) /* j up to X_MAX / (pi/4) = 8.5e7 */
        push_near_multiple(&s, t, (double)(1 + rng_u64() % 85000000u));
    mpfr_clear(t);
    double special[] = {FAST_TRIG_X_MAX, nextafter(FAST_TRIG_X_MAX, 0),
                        nextafter(nextafter(FAST_TRIG_X_MAX, 0), 0)};
    for (size_t i = 0; i < sizeof special / sizeof *special; i++) {
        push(&s, special[i]);
        push(&s, -special[i]);
    }
    return s;
}

/* The relative bounds of fast-trig.md section 5: sin x for |x| < pi/4 (k =
 * 0) within (1 + REL_K0 x^2) u; every value taken from the cos polynomial
 * (cos x for even k, sin x for odd k) within REL_COS u. */
#define REL_K0 0.88
#define REL_COS 1.73

/* Over the sample, in units of u: max |s - sin x| and |c - cos x| and where;
 * max relative error of sin for k = 0 over (1 + REL_K0 x^2); max relative
 * error of the values from the cos polynomial. */
typedef struct {
    double es, ec, rel_k0, rel_cos;
    size_t is, ic;
} errs;

static errs max_errors(size_t n, const double *x, const double *s, const double *c)
{
    errs e = {0, 0, 0, 0, 0, 0};
    mpfr_t X, S, C;
    mpfr_inits2(PREC, X, S, C, (mpfr_ptr)0);
    for (size_t i = 0; i < n; i++) {
        mpfr_set_d(X, x[i], MPFR_RNDN);
        mpfr_sin_cos(S, C, X, MPFR_RNDN);
        double sx = mpfr_get_d(S, MPFR_RNDN), cx = mpfr_get_d(C, MPFR_RNDN);
        mpfr_sub_d(S, S, s[i], MPFR_RNDN);
        mpfr_sub_d(C, C, c[i], MPFR_RNDN);
        double ds = fabs(mpfr_get_d(S, MPFR_RNDU)) / U, dc = fabs(mpfr_get_d(C, MPFR_RNDU)) / U;
        if (!(ds <= e.es))
            e.es = ds, e.is = i;
        if (!(dc <= e.ec))
            e.ec = dc, e.ic = i;
        /* k as the kernel rounds it (section 2) */
        double k = (fabs(x[i]) * fast_trig_k.inv_pio2 + 0x1.8p52) - 0x1.8p52;
        if (k == 0 && x[i] != 0)
            e.rel_k0 = fmax(e.rel_k0, ds / fabs(sx) / (1 + REL_K0 * x[i] * x[i]));
        double rc = fmod(k, 2) == 1 ? ds / fabs(sx) : dc / fabs(cx);
        e.rel_cos = fmax(e.rel_cos, rc);
    }
    mpfr_clears(X, S, C, (mpfr_ptr)0);
    return e;
}

static void error_within_proven_bound(int part)
{
    sample smp = accuracy_sample(part);
    size_t n = smp.n;
    cr_assert_geq(n, 450000);
    double *s = malloc(n * sizeof *s), *c = malloc(n * sizeof *c);
    cr_assert(s && c);
    fast_trig_sincos(n, smp.x, s, c);
    errs e = max_errors(n, smp.x, s, c);
    cr_log_info("fast_trig (%s) on %zu arguments with |x| %s 1: max |error| sin %.3f u (x = %a), "
                "cos %.3f u (x = %a); proven bound %.2f u",
                fast_trig_variant_name(fast_trig_variant_selected()), n, part ? ">=" : "<", e.es,
                smp.x[e.is], e.ec,
                smp.x[e.ic], FAST_TRIG_ERR_BOUND_U);
    cr_expect_leq(e.es, FAST_TRIG_ERR_BOUND_U, "sin: %.4f u at x = %a", e.es, smp.x[e.is]);
    cr_expect_leq(e.ec, FAST_TRIG_ERR_BOUND_U, "cos: %.4f u at x = %a", e.ec, smp.x[e.ic]);
    cr_expect_geq(fmax(e.es, e.ec), FAST_TRIG_ERR_BOUND_U / 4, "the bound looks vacuous");
    cr_log_info("fast_trig: relative errors: sin for k = 0 %.3f (1 + %.2f x^2) u, values from the "
                "cos polynomial %.3f u (bound %.2f u)",
                e.rel_k0, REL_K0, e.rel_cos, REL_COS);
    cr_expect_leq(e.rel_k0, 1.0);
    cr_expect_leq(e.rel_cos, REL_COS);
    /* sin is odd, cos even, bit for bit; sin(-0) = -0. */
    for (size_t i = 0; i < n; i++)
        if (smp.x[i] == 0)
            cr_expect_eq(to_bits(s[i]), to_bits(smp.x[i]), "sin(%g)", smp.x[i]);
    free(s);
    free(c);
    free(smp.x);
}

Test(fast_trig, error_within_proven_bound_below_1)
{
    error_within_proven_bound(0);
}

Test(fast_trig, error_within_proven_bound_from_1)
{
    error_within_proven_bound(1);
}

/* ---- outliers ----------------------------------------------------------- */

Test(fast_trig, outliers_are_glibc)
{
    const double out[] = {nextafter(FAST_TRIG_X_MAX, INFINITY),
                          FAST_TRIG_X_MAX + 2,
                          1e8,
                          0x1p30,
                          0x1p52 + 1,
                          1e22,
                          0x1p1000,
                          1e300,
                          DBL_MAX,
                          INFINITY,
                          NAN};
    enum { NOUT = sizeof out / sizeof *out, N = 4 * NOUT * 2 + 61 };
    double x[N], plain[N], s[N], c[N], c2[N], ps[N], pc[N];
    int is_out[N];
    rng_seed(7);
    for (int i = 0; i < N; i++) {
        plain[i] = 20 * rng_unit() - 10;
        x[i] = plain[i];
        is_out[i] = 0;
    }
    /* every outlier with both signs, at spread positions (several blocks) */
    for (int i = 0; i < 2 * NOUT; i++) {
        int at = (int)(i * (N - 1) / (2 * NOUT - 1));
        x[at] = i % 2 ? -out[i / 2] : out[i / 2];
        is_out[at] = 1;
    }
    fast_trig_sincos(N, x, s, c);
    fast_trig_cos(N, x, c2);
    fast_trig_sincos(N, plain, ps, pc);
    for (int i = 0; i < N; i++) {
        if (!is_out[i]) { /* the fix-up leaves the others alone */
            cr_expect_eq(to_bits(s[i]), to_bits(ps[i]), "sin, entry %d", i);
            cr_expect_eq(to_bits(c[i]), to_bits(pc[i]), "cos, entry %d", i);
            continue;
        }
        double gs = sin(x[i]), gc = cos(x[i]);
        if (isnan(gs) || isnan(gc)) {
            cr_expect(isnan(x[i]) || isinf(x[i]));
            cr_expect(isnan(s[i]) && isnan(c[i]) && isnan(c2[i]), "x = %g", x[i]);
        } else {
            cr_expect_eq(to_bits(s[i]), to_bits(gs), "sin(%a) = %a, glibc %a", x[i], s[i], gs);
            cr_expect_eq(to_bits(c[i]), to_bits(gc), "cos(%a) = %a, glibc %a", x[i], c[i], gc);
            cr_expect_eq(to_bits(c2[i]), to_bits(gc), "cos only (%a)", x[i]);
        }
    }
}

/* ---- variants ----------------------------------------------------------- */

/* Arguments of every kind: a quarter random bit patterns (every exponent:
 * subnormals, huge outliers, infinities, NaN payloads), a quarter
 * log-uniform magnitudes 2^-40 .. 2^30 (a sixth of them beyond X_MAX), half
 * uniform on [-20, 20]. */
static void variant_sample(size_t n, double *x)
{
    rng_seed(99);
    for (size_t i = 0; i < n; i++) {
        uint64_t r = rng_u64();
        switch (r % 4) {
        case 0:
            x[i] = from_bits(rng_u64());
            break;
        case 1:
            x[i] = ldexp(1.0 + rng_unit(), -40 + (int)(rng_u64() % 70)) * ((r >> 8) & 1 ? -1 : 1);
            break;
        default:
            x[i] = 40 * rng_unit() - 20;
        }
    }
}

Test(fast_trig, variants_bit_identical)
{
    enum { N = 1 << 20 };
    double *x = malloc(N * sizeof *x), *s0 = malloc(N * sizeof *s0), *c0 = malloc(N * sizeof *c0),
           *s = malloc(N * sizeof *s), *c = malloc(N * sizeof *c);
    cr_assert(x && s0 && c0 && s && c);
    variant_sample(N, x);
    fast_trig_run_variant(0, N, x, s0, c0);
    int best = 0, ran = 0;
    for (int v = 0; v < FAST_TRIG_VARIANTS; v++) {
        if (!fast_trig_variant_supported(v)) {
            cr_log_info("fast_trig: variant %s not supported here", fast_trig_variant_name(v));
            continue;
        }
        best = v, ran++;
        memset(s, 0, N * sizeof *s);
        memset(c, 0, N * sizeof *c);
        fast_trig_run_variant(v, N, x, s, c);
        size_t ds = 0, dc = 0, dco = 0;
        for (size_t i = 0; i < N; i++)
            ds += to_bits(s[i]) != to_bits(s0[i]), dc += to_bits(c[i]) != to_bits(c0[i]);
        fast_trig_run_variant(v, N, x, NULL, c);
        for (size_t i = 0; i < N; i++)
            dco += to_bits(c[i]) != to_bits(c0[i]);
        cr_log_info("fast_trig: variant %s vs generic on %d arguments: %zu sin, %zu cos, %zu "
                    "cos-only differences",
                    fast_trig_variant_name(v), N, ds, dc, dco);
        cr_expect_eq(ds + dc + dco, 0, "variant %s differs from generic", fast_trig_variant_name(v));
    }
    cr_expect_eq(fast_trig_variant_selected(), best, "the dispatcher should take %s",
                 fast_trig_variant_name(best));
    cr_log_info("fast_trig: %d variants run here, dispatcher uses %s", ran,
                fast_trig_variant_name(fast_trig_variant_selected()));
    free(x), free(s0), free(c0), free(s), free(c);
}

/* ---- in place, lengths -------------------------------------------------- */

Test(fast_trig, in_place_and_lengths)
{
    enum { NMAX = 1000, PAD = 8 };
    static const size_t lens[] = {0, 1, 2, 3, 7, 8, 9, 63, 64, 65, 127, 128, 129, 200, 1000};
    double X[NMAX + 1], S[NMAX + 1], C[NMAX + 1], buf[NMAX + PAD], b2[NMAX + PAD];
    rng_seed(5);
    for (int i = 0; i <= NMAX; i++)
        X[i] = 14 * rng_unit() - 7;
    X[17] = 1e9; /* one outlier in the first block, for the fix-up on local copies */
    fast_trig_sincos(NMAX + 1, X, S, C);
    fast_trig_cos(0, NULL, NULL);
    fast_trig_sincos(0, NULL, NULL, NULL);
    fast_trig_cos_sinmul(0, NULL, NULL);
    for (size_t li = 0; li < sizeof lens / sizeof *lens; li++) {
        size_t n = lens[li];
        for (int off = 0; off <= 1; off++) { /* X + 1: another alignment */
            const double *x = X + off, *s = S + off, *c = C + off;
            for (size_t i = 0; i < n + PAD; i++)
                buf[i] = -1.5, b2[i] = -1.5;
            fast_trig_cos(n, x, buf); /* out of place: n entries, nothing beyond */
            for (size_t i = 0; i < n; i++)
                cr_expect_eq(to_bits(buf[i]), to_bits(c[i]), "cos n=%zu i=%zu", n, i);
            for (size_t i = n; i < n + PAD; i++)
                cr_expect_eq(buf[i], -1.5, "cos wrote past n = %zu", n);

            memcpy(buf, x, n * sizeof *buf); /* cos in place */
            fast_trig_cos(n, buf, buf);
            for (size_t i = 0; i < n; i++)
                cr_expect_eq(to_bits(buf[i]), to_bits(c[i]), "cos in place n=%zu i=%zu", n, i);

            memcpy(buf, x, n * sizeof *buf); /* s == x */
            for (size_t i = 0; i < n + PAD; i++)
                b2[i] = -1.5;
            fast_trig_sincos(n, buf, buf, b2);
            for (size_t i = 0; i < n; i++) {
                cr_expect_eq(to_bits(buf[i]), to_bits(s[i]), "s == x n=%zu i=%zu", n, i);
                cr_expect_eq(to_bits(b2[i]), to_bits(c[i]), "s == x n=%zu i=%zu", n, i);
            }
            for (size_t i = n; i < n + PAD; i++)
                cr_expect_eq(b2[i], -1.5, "sincos wrote past n = %zu", n);

            memcpy(buf, x, n * sizeof *buf); /* c == x */
            fast_trig_sincos(n, buf, b2, buf);
            for (size_t i = 0; i < n; i++) {
                cr_expect_eq(to_bits(b2[i]), to_bits(s[i]), "c == x n=%zu i=%zu", n, i);
                cr_expect_eq(to_bits(buf[i]), to_bits(c[i]), "c == x n=%zu i=%zu", n, i);
            }

            /* cos_sinmul: cos in place, t <- t * sin; the products are those of
             * sincos's sines (one rounding each), nothing written past n */
            memcpy(buf, x, n * sizeof *buf);
            for (size_t i = 0; i < n + PAD; i++)
                b2[i] = i < n ? 0.75 + 0.01 * (double)i : -1.5;
            fast_trig_cos_sinmul(n, buf, b2);
            for (size_t i = 0; i < n; i++) {
                cr_expect_eq(to_bits(buf[i]), to_bits(c[i]), "sinmul cos n=%zu i=%zu", n, i);
                cr_expect_eq(to_bits(b2[i]), to_bits((0.75 + 0.01 * (double)i) * s[i]),
                             "sinmul t n=%zu i=%zu", n, i);
            }
            for (size_t i = n; i < n + PAD; i++)
                cr_expect_eq(b2[i], -1.5, "cos_sinmul wrote past n = %zu", n);
        }
    }
    /* cos-only and sincos's cos: the same bits (the rff eval and vjp rely on it) */
    double c1[NMAX + 1];
    fast_trig_cos(NMAX + 1, X, c1);
    cr_expect_eq(memcmp(c1, C, sizeof c1), 0);
}

/* ---- broken copies ------------------------------------------------------ */

Test(fast_trig, broken_copies_exceed_bound)
{
    sample smp = accuracy_sample(1);
    /* every 25th argument with |x| >= 1: 2.2e4 of them */
    size_t n = 0;
    for (size_t i = 0; i < smp.n; i += 25)
        smp.x[n++] = smp.x[i];
    double *s = malloc(n * sizeof *s), *c = malloc(n * sizeof *c), *s0 = malloc(n * sizeof *s),
           *c0 = malloc(n * sizeof *c);
    cr_assert(s && c && s0 && c0);
    /* the unbroken constants through the same entry: the generic variant's bits */
    fast_trig_run_with(&fast_trig_k, n, smp.x, s, c);
    fast_trig_run_variant(0, n, smp.x, s0, c0);
    cr_expect_eq(memcmp(s, s0, n * sizeof *s), 0);
    cr_expect_eq(memcmp(c, c0, n * sizeof *c), 0);
    errs ok = max_errors(n, smp.x, s, c);
    cr_expect_leq(fmax(ok.es, ok.ec), FAST_TRIG_ERR_BOUND_U);

    static const char *const what[] = {"pi/2 in two parts", "r^3 coefficient * (1 + 2^-40)",
                                       "r^4 coefficient * (1 + 2^-40)"};
    for (int m = 0; m < 3; m++) {
        fast_trig_constants k = fast_trig_k;
        if (m == 0)
            k.pio2[2] = 0;
        else if (m == 1)
            k.sin[0] *= 1 + 0x1p-40;
        else
            k.cos[0] *= 1 + 0x1p-40;
        fast_trig_run_with(&k, n, smp.x, s, c);
        errs e = max_errors(n, smp.x, s, c);
        cr_log_info("fast_trig broken (%s): max error sin %.3g u, cos %.3g u", what[m], e.es, e.ec);
        cr_expect_gt(fmax(e.es, e.ec), FAST_TRIG_ERR_BOUND_U, "%s was not caught", what[m]);
    }
    free(s), free(c), free(s0), free(c0), free(smp.x);
}

/* ---- the proof's hypotheses and arithmetic ------------------------------ */

#define BP 256 /* bits for the checks: every quantity below to 2^-200 or better */

/* Nonnegative quantities only, rounded upward: upper bounds. */
#define ADD(r, a, b) mpfr_add(r, a, b, MPFR_RNDU)
#define MUL(r, a, b) mpfr_mul(r, a, b, MPFR_RNDU)

/* Upper bounds of |a_j| and of sigma_j = |a - a_j| for the exact
 * coefficient a_j, given ex = a_j rounded to BP bits (relative error
 * 2^-BP; 2^-200 covers it). */
static void coef_bounds(mpfr_t absa, mpfr_t sigma, mpfr_t ex, double a)
{
    mpfr_t slack;
    mpfr_init2(slack, BP);
    mpfr_abs(slack, ex, MPFR_RNDU);
    mpfr_mul_2si(slack, slack, -200, MPFR_RNDU);
    mpfr_abs(absa, ex, MPFR_RNDU);
    ADD(absa, absa, slack);
    mpfr_sub_d(sigma, ex, a, MPFR_RNDN); /* exact: both on a 2^-BP-relative grid */
    mpfr_abs(sigma, sigma, MPFR_RNDU);
    ADD(sigma, sigma, slack);
    mpfr_clear(slack);
}

/* Section 3's running bound for Horner: A >= |P_lo(z0)|, E >= |computed -
 * P_lo(z0)| for coefficients a[0..m-1] (computed), ex[0..m-1] (exact), z0 <=
 * Z, |z - z0| <= eps, z <= Zp. */
static void horner_bound(int m, const double *a, mpfr_t *ex, mpfr_t Z, mpfr_t Zp, mpfr_t eps,
                         mpfr_t u, mpfr_t A, mpfr_t E)
{
    mpfr_t t, F, An, sig;
    mpfr_inits2(BP, t, F, An, sig, (mpfr_ptr)0);
    coef_bounds(A, E, ex[m - 1], a[m - 1]);
    for (int j = m - 2; j >= 0; j--) {
        coef_bounds(An, sig, ex[j], a[j]); /* A_j = |a_j| + Z A_{j+1} */
        MUL(t, Z, A);
        ADD(An, An, t);
        MUL(F, E, Zp); /* F = E Zp + A eps + u (A + E) Zp + sigma_j */
        MUL(t, A, eps);
        ADD(F, F, t);
        ADD(t, A, E);
        MUL(t, t, Zp);
        MUL(t, t, u);
        ADD(F, F, t);
        ADD(F, F, sig);
        ADD(t, An, F); /* E = F + u (A_j + F) */
        MUL(t, t, u);
        ADD(E, F, t);
        mpfr_set(A, An, MPFR_RNDU);
    }
    mpfr_clears(t, F, An, sig, (mpfr_ptr)0);
}

/* Sections 3 and 5, sin: out = We + rho^19/19!, with Ve = rho eps + u rho Zp,
 * Vm = rho Z + Ve, We = Ve (A + E) + rho Z E + u Vm (A + E), A and E from
 * horner_bound over the sin coefficients (left in A, E). */
static void sin_budget(mpfr_t out, const fast_trig_constants *K, mpfr_t *sx, mpfr_t rho,
                       mpfr_t Z, mpfr_t Zp, mpfr_t eps, mpfr_t u, mpfr_t A, mpfr_t E)
{
    mpfr_t t, t2, Ve, Vm;
    mpfr_inits2(BP, t, t2, Ve, Vm, (mpfr_ptr)0);
    horner_bound(8, K->sin, sx, Z, Zp, eps, u, A, E);
    MUL(Ve, rho, eps);
    MUL(t, u, rho);
    MUL(t, t, Zp);
    ADD(Ve, Ve, t);
    MUL(Vm, rho, Z);
    ADD(Vm, Vm, Ve);
    ADD(t2, A, E);
    MUL(out, Ve, t2);
    MUL(t, rho, Z);
    MUL(t, t, E);
    ADD(out, out, t);
    MUL(t, u, Vm);
    MUL(t, t, t2);
    ADD(out, out, t);
    mpfr_pow_ui(t, rho, 19, MPFR_RNDU);
    mpfr_fac_ui(t2, 19, MPFR_RNDD);
    mpfr_div(t, t, t2, MPFR_RNDU);
    ADD(out, out, t);
    mpfr_clears(t, t2, Ve, Vm, (mpfr_ptr)0);
}

/* 1/n! (sign (-1)^j) at BP bits */
static void taylor(mpfr_t r, int n, int j)
{
    mpfr_fac_ui(r, (unsigned long)n, MPFR_RNDN);
    mpfr_ui_div(r, 1, r, MPFR_RNDN);
    if (j % 2)
        mpfr_neg(r, r, MPFR_RNDN);
}

Test(fast_trig, proof_constants_and_budget)
{
    const fast_trig_constants *K = &fast_trig_k;
    mpfr_t pi2, t, t2, u, rho, Z, Zp, eps, A, E, Ye, Ym, Ge, Gm, Bs, Bc, dr;
    mpfr_inits2(BP, pi2, t, t2, u, rho, Z, Zp, eps, A, E, Ye, Ym, Ge, Gm, Bs, Bc, dr,
                (mpfr_ptr)0);
    mpfr_set_d(u, U, MPFR_RNDN);
    mpfr_const_pi(pi2, MPFR_RNDN);
    mpfr_div_2ui(pi2, pi2, 1, MPFR_RNDN);

    /* Section 2: RN(2/pi), off by at most 2^-54. */
    mpfr_ui_div(t, 1, pi2, MPFR_RNDN); /* 2/pi = 1/(pi/2) */
    cr_expect_eq(K->inv_pio2, mpfr_get_d(t, MPFR_RNDN), "inv_pio2 is not RN(2/pi)");
    /* P1 a multiple of 2^-26 below 2 (27 bits); P2 a multiple of 2^-53;
     * |pi/2 - P1| <= 2^-29, |pi/2 - P1 - P2| <= 2^-54, P3 = RN(rest),
     * |pi/2 - P1 - P2 - P3| <= 2^-108. */
    double m1 = ldexp(K->pio2[0], 26), m2 = ldexp(K->pio2[1], 53);
    cr_expect(m1 == floor(m1) && m1 < 0x1p27, "P1 is not 27 bits on the 2^-26 grid");
    cr_expect(m2 == floor(m2) && fabs(m2) <= 0x1p26, "P2 is not on the 2^-53 grid");
    mpfr_sub_d(t, pi2, K->pio2[0], MPFR_RNDN);
    cr_expect(mpfr_cmp_d(t, 0x1p-29) <= 0 && mpfr_cmp_d(t, -0x1p-29) >= 0);
    mpfr_sub_d(t, t, K->pio2[1], MPFR_RNDN);
    cr_expect(mpfr_cmpabs(t, (mpfr_set_d(t2, 0x1p-54, MPFR_RNDN), t2)) <= 0);
    cr_expect_eq(K->pio2[2], mpfr_get_d(t, MPFR_RNDN), "P3 is not RN(pi/2 - P1 - P2)");
    mpfr_sub_d(t, t, K->pio2[2], MPFR_RNDN);
    cr_expect(mpfr_cmpabs(t, (mpfr_set_d(t2, 0x1p-108, MPFR_RNDN), t2)) <= 0);
    /* The largest k: X_MAX RN(2/pi) (1 + u) + 1/2 < 4.28e7; k P1 and k P2 then
     * have integer significands below 2^53. */
    double kmax = 42800000;
    cr_expect_lt(FAST_TRIG_X_MAX * K->inv_pio2 * (1 + 2 * U) + 0.5, kmax);
    cr_expect_lt(kmax * m1, 0x1p53);
    cr_expect_lt(kmax * fabs(m2), 0x1p53);
    cr_expect_lt(0.7854 + kmax * 0x1p-29, 1.0, "|a - k P1| < 1");
    /* |t - a 2/pi| <= (u/2 + u 2/pi) a <= 2^-26: |r_exact| <= pi/4 + (pi/2)
     * 2^-26, and |r| <= that + delta r < rho = 0.7854 */
    mpfr_set_str(rho, "0.7854", 10, MPFR_RNDU);
    mpfr_mul_2si(t, pi2, -26, MPFR_RNDU);
    mpfr_div_2ui(t2, pi2, 1, MPFR_RNDU);
    ADD(t, t, t2);
    mpfr_set_d(t2, 0x1p-54, MPFR_RNDN);
    ADD(t, t, t2); /* + delta r */
    cr_expect_lt(mpfr_cmp(t, rho), 0, "|r| may exceed rho");
    /* delta r <= u/2 + 2^-81 */
    mpfr_set_d(dr, 0x1p-54 + 0x1p-81, MPFR_RNDU);

    /* The coefficients are the rounded Taylor ones. */
    mpfr_t sx[8], cx[7];
    for (int j = 1; j <= 8; j++) {
        mpfr_init2(sx[j - 1], BP);
        taylor(sx[j - 1], 2 * j + 1, j);
        cr_expect_eq(K->sin[j - 1], mpfr_get_d(sx[j - 1], MPFR_RNDN), "sin coefficient %d", j);
    }
    for (int j = 2; j <= 8; j++) {
        mpfr_init2(cx[j - 2], BP);
        taylor(cx[j - 2], 2 * j, j);
        cr_expect_eq(K->cos[j - 2], mpfr_get_d(cx[j - 2], MPFR_RNDN), "cos coefficient %d", j);
    }

    /* Sections 3-5 at |r| <= rho (every bound is increasing in |r|):
     * Z = rho^2, eps = u/2 >= |z - z0|, Zp = Z + eps. */
    MUL(Z, rho, rho);
    mpfr_div_2ui(eps, u, 1, MPFR_RNDU);
    ADD(Zp, Z, eps);

    /* sin: Ve = rho eps + u rho Zp, Vm = rho Z + Ve,
     * We = Ve (A + E) + rho Z E + u Vm (A + E),
     * B_sin = u/2 + dr + We + rho^19/19!. */
    sin_budget(Bs, K, sx, rho, Z, Zp, eps, u, A, E);
    ADD(Bs, Bs, eps); /* the final rounding, u/2 */
    ADD(Bs, Bs, dr);

    /* cos: Ye = (2Z + eps) eps + u Zp^2, Ym = Z^2 + Ye,
     * Ge = Ye (A + E) + Z^2 E + u Ym (A + E), Gm = Z^2 A + Ge,
     * He = u (u/2 + Gm),
     * B_cos = u/2 + eps/2 + Ge + He + rho^18/18! + dr sin(rho). */
    horner_bound(7, K->cos, cx, Z, Zp, eps, u, A, E);
    mpfr_mul_2ui(t, Z, 1, MPFR_RNDU);
    ADD(t, t, eps);
    MUL(Ye, t, eps);
    MUL(t, Zp, Zp);
    MUL(t, t, u);
    ADD(Ye, Ye, t);
    MUL(Ym, Z, Z);
    ADD(Ym, Ym, Ye);
    ADD(t2, A, E);
    MUL(Ge, Ye, t2);
    MUL(t, Z, Z);
    MUL(t, t, E);
    ADD(Ge, Ge, t);
    MUL(t, u, Ym);
    MUL(t, t, t2);
    ADD(Ge, Ge, t);
    MUL(Gm, Z, Z);
    MUL(Gm, Gm, A);
    ADD(Gm, Gm, Ge);
    ADD(t, eps, Gm); /* He */
    MUL(t, t, u);
    ADD(Bc, Ge, t);
    mpfr_div_2ui(t, eps, 1, MPFR_RNDU);
    ADD(Bc, Bc, t);
    ADD(Bc, Bc, eps);
    mpfr_pow_ui(t, rho, 18, MPFR_RNDU);
    mpfr_fac_ui(t2, 18, MPFR_RNDD);
    mpfr_div(t, t, t2, MPFR_RNDU);
    ADD(Bc, Bc, t);
    mpfr_sin(t, rho, MPFR_RNDU);
    MUL(t, t, dr);
    ADD(Bc, Bc, t);

    /* Relative, values from the cos polynomial: B_cos / cos(rho). */
    mpfr_cos(t, rho, MPFR_RNDD);
    mpfr_div(t, Bc, t, MPFR_RNDU);
    mpfr_div(t, t, u, MPFR_RNDU);
    double relc = mpfr_get_d(t, MPFR_RNDU);

    /* Relative, sin for k = 0 (r = x exactly): the evaluation error with
     * eps = u z0 <= u Z is r^3 times a bound increasing in r, so <= We(rho)
     * (r/rho)^3; with T_s likewise and r / sin r <= rho / sin rho:
     * kappa = (We(rho) + rho^19/19!) / (u rho^2 sin rho), and the relative
     * error is <= u (1 + kappa (1 + u) r^2). */
    mpfr_t Wr;
    mpfr_init2(Wr, BP);
    MUL(eps, u, Z);
    ADD(Zp, Z, eps);
    sin_budget(Wr, K, sx, rho, Z, Zp, eps, u, A, E);
    mpfr_sin(t, rho, MPFR_RNDD);
    mpfr_mul(t, t, Z, MPFR_RNDD);
    mpfr_mul(t, t, u, MPFR_RNDD);
    mpfr_div(Wr, Wr, t, MPFR_RNDU);
    mpfr_set_d(t, 1 + U, MPFR_RNDN);
    MUL(Wr, Wr, t);
    double kappa = mpfr_get_d(Wr, MPFR_RNDU);
    mpfr_clear(Wr);

    mpfr_div(Bs, Bs, u, MPFR_RNDU);
    mpfr_div(Bc, Bc, u, MPFR_RNDU);
    double bs = mpfr_get_d(Bs, MPFR_RNDU), bc = mpfr_get_d(Bc, MPFR_RNDU);
    cr_log_info("fast_trig: the proven bounds recomputed: sin %.4f u, cos %.4f u (header %.2f u); "
                "relative: cos polynomial %.4f u, sin for k = 0 (1 + %.4f x^2) u",
                bs, bc, FAST_TRIG_ERR_BOUND_U, relc, kappa);
    cr_expect_leq(bs, FAST_TRIG_ERR_BOUND_U);
    cr_expect_leq(bc, FAST_TRIG_ERR_BOUND_U);
    cr_expect_leq(relc, REL_COS);
    cr_expect_leq(kappa, REL_K0);
    cr_expect_leq(FAST_TRIG_ERR_BOUND_U, 4.0, "above tolerance.md's libm charge");

    for (int j = 0; j < 8; j++)
        mpfr_clear(sx[j]);
    for (int j = 0; j < 7; j++)
        mpfr_clear(cx[j]);
    mpfr_clears(pi2, t, t2, u, rho, Z, Zp, eps, A, E, Ye, Ym, Ge, Gm, Bs, Bc, dr,
                (mpfr_ptr)0);
}
