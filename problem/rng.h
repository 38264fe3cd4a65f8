/* rng.h - the seeded, platform-independent generator (proofs-notes/generator.md).
 *
 * splitmix64 seeds a xoshiro256** stream per (seed, stream id); uniforms take
 * the top 53 bits; normals come from Box-Muller and Student-t rows from a
 * chi-square (Marsaglia-Tsang gamma).  Every transcendental (log, sin, cos,
 * pow) is evaluated by MPFR with correct rounding (Box-Muller at 64 bits, then
 * rounded to double: deterministic, not the correctly rounded normal), and the
 * remaining double arithmetic is IEEE-754 +,-,*,/ and sqrt, correctly rounded,
 * with no contraction, so the same seed gives the same bits on every platform.
 */
#ifndef NO_RNG_H
#define NO_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4];
    int have_spare;  /* Box-Muller makes normals in pairs */
    double spare;
} no_rng;

/* Stream ids: one per generated array, so changing one size (say L) leaves
 * the arrays that do not depend on it (X, Y, Omega, ...) unchanged. */
enum {
    NO_STREAM_X = 1,
    NO_STREAM_Y = 2,
    NO_STREAM_OMEGA = 3,
    NO_STREAM_BETA = 4,
    NO_STREAM_W = 5,
    NO_STREAM_A = 6,
    NO_STREAM_U = 7,
    NO_STREAM_B = 8,
    NO_STREAM_TEST = 100, /* for tests and tools: draws of their own */
};

uint64_t no_splitmix64(uint64_t *state);
void no_rng_init(no_rng *r, uint64_t seed, uint64_t stream);
uint64_t no_rng_next(no_rng *r);
double no_rng_uniform(no_rng *r);          /* [0, 1), multiples of 2^-53 */
double no_rng_uniform_open0(no_rng *r);    /* (0, 1] */
double no_rng_normal(no_rng *r);           /* N(0, 1) */
double no_rng_gamma(no_rng *r, double shape); /* Gamma(shape, 1), shape > 0 */
double no_rng_chisq(no_rng *r, double dof);   /* 2 * Gamma(dof/2) */
uint64_t no_rng_below(no_rng *r, uint64_t n);  /* uniform in [0, n), unbiased; 0 if n == 0 */

#endif
