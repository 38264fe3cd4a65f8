/* rng.c - see rng.h and proofs-notes/generator.md. */
#include "rng.h"

#include <math.h>
#include <mpfr.h>

uint64_t no_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void no_rng_init(no_rng *r, uint64_t seed, uint64_t stream)
{
    /* Mix the stream id through one splitmix64 round so that neighbouring
     * (seed, stream) pairs give unrelated states. */
    uint64_t sm = stream;
    uint64_t t = seed ^ no_splitmix64(&sm);
    for (int i = 0; i < 4; i++)
        r->s[i] = no_splitmix64(&t);
    r->have_spare = 0;
    r->spare = 0.0;
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t no_rng_next(no_rng *r)
{
    uint64_t *s = r->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double no_rng_uniform(no_rng *r)
{
    return (double)(no_rng_next(r) >> 11) * 0x1.0p-53;
}

double no_rng_uniform_open0(no_rng *r)
{
    return (double)((no_rng_next(r) >> 11) + 1) * 0x1.0p-53;
}

uint64_t no_rng_below(no_rng *r, uint64_t n)
{
    /* Rejection from the top of the range: unbiased, platform independent. */
    if (n == 0)
        return 0;
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do
        x = no_rng_next(r);
    while (x >= limit);
    return x % n;
}

/* Box-Muller: r = sqrt(-2 ln u1), (z0, z1) = r (cos 2 pi u2, sin 2 pi u2),
 * computed in MPFR at 64 bits (each operation correctly rounded) and rounded
 * once to double: deterministic on every platform. */
double no_rng_normal(no_rng *r)
{
    if (r->have_spare) {
        r->have_spare = 0;
        return r->spare;
    }
    double u1 = no_rng_uniform_open0(r);
    double u2 = no_rng_uniform(r);
    mpfr_t rad, ang, s, c;
    mpfr_inits2(64, rad, ang, s, c, (mpfr_ptr)0);
    mpfr_set_d(rad, u1, MPFR_RNDN);
    mpfr_log(rad, rad, MPFR_RNDN);
    mpfr_mul_si(rad, rad, -2, MPFR_RNDN);
    mpfr_sqrt(rad, rad, MPFR_RNDN);
    mpfr_const_pi(ang, MPFR_RNDN);
    mpfr_mul_d(ang, ang, 2.0 * u2, MPFR_RNDN);
    mpfr_sin_cos(s, c, ang, MPFR_RNDN);
    mpfr_mul(c, c, rad, MPFR_RNDN);
    mpfr_mul(s, s, rad, MPFR_RNDN);
    double z0 = mpfr_get_d(c, MPFR_RNDN);
    r->spare = mpfr_get_d(s, MPFR_RNDN);
    r->have_spare = 1;
    mpfr_clears(rad, ang, s, c, (mpfr_ptr)0);
    return z0;
}

static double log_cr(double x)
{
    mpfr_t t;
    mpfr_init2(t, 53);
    mpfr_set_d(t, x, MPFR_RNDN);
    mpfr_log(t, t, MPFR_RNDN);
    double y = mpfr_get_d(t, MPFR_RNDN);
    mpfr_clear(t);
    return y;
}

static double pow_cr(double x, double y)
{
    mpfr_t t, e;
    mpfr_inits2(53, t, e, (mpfr_ptr)0);
    mpfr_set_d(t, x, MPFR_RNDN);
    mpfr_set_d(e, y, MPFR_RNDN);
    mpfr_pow(t, t, e, MPFR_RNDN);
    double z = mpfr_get_d(t, MPFR_RNDN);
    mpfr_clears(t, e, (mpfr_ptr)0);
    return z;
}

/* Marsaglia & Tsang (2000), "A simple method for generating gamma variables";
 * for shape < 1 the boost Gamma(a) = Gamma(a + 1) U^(1/a). */
double no_rng_gamma(no_rng *r, double shape)
{
    if (shape < 1.0) {
        double g = no_rng_gamma(r, shape + 1.0);
        double u = no_rng_uniform_open0(r);
        return g * pow_cr(u, 1.0 / shape);
    }
    const double d = shape - 1.0 / 3.0;
    const double c = 1.0 / sqrt(9.0 * d) /* IEEE sqrt: correctly rounded */;
    for (;;) {
        double x = no_rng_normal(r);
        double v = 1.0 + c * x;
        if (v <= 0.0)
            continue;
        v = v * v * v;
        double u = no_rng_uniform_open0(r);
        double x2 = x * x;
        if (u < 1.0 - 0.0331 * x2 * x2)
            return d * v;
        if (log_cr(u) < 0.5 * x2 + d * (1.0 - v + log_cr(v)))
            return d * v;
    }
}

double no_rng_chisq(no_rng *r, double dof)
{
    return 2.0 * no_rng_gamma(r, 0.5 * dof);
}
