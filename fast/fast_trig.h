/* fast_trig.h - sin and cos of arrays of doubles for fast/: vectorised,
 * deterministic (the same bits on every x86-64 vector width and every
 * compiler flag the project builds with), with a proven error bound
 * (proofs-notes/fast-trig.md):
 *
 *   |computed - exact| <= FAST_TRIG_ERR_BOUND_U * 2^-53   for |x| <= FAST_TRIG_X_MAX,
 *
 * an absolute bound.  Arguments with |x| > FAST_TRIG_X_MAX, infinities and
 * NaNs get glibc's sin and cos, bit for bit (cos(inf) = NaN, NaN stays NaN).
 * sin(-0) = -0; sin is odd and cos even bit for bit (the kernel works on
 * |x|).  cos from fast_trig_cos and from fast_trig_sincos are the same bits.
 */
#ifndef FAST_TRIG_H
#define FAST_TRIG_H

#include <stddef.h>

/* The range of the vector kernel: |x| <= 2^26 (fast-trig.md section 2). */
#define FAST_TRIG_X_MAX 0x1p26

/* The proven absolute bound, in units of u = 2^-53 (fast-trig.md section 5):
 * 1.366 for sin, 1.222 for cos, rounded up.  Relative (same section): values
 * from the cos polynomial (cos x for even k = round(|x| 2/pi), sin x for odd
 * k) within 1.73 u; sin x for |x| < pi/4 within (1 + 0.88 x^2) u. */
#define FAST_TRIG_ERR_BOUND_U 1.4

/* c[i] = cos(x[i]) for i < n; x and c may be the same array (in place).
 * n = 0 reads and writes nothing (the pointers may be NULL).  Thread-safe. */
void fast_trig_cos(size_t n, const double *x, double *c);

/* s[i] = sin(x[i]), c[i] = cos(x[i]); s, c distinct; either may equal x. */
void fast_trig_sincos(size_t n, const double *x, double *s, double *c);

/* The backward pass of the rff field in one sweep: x[i] <- cos(x[i]) and
 * t[i] <- t[i] * sin(x[i]) (one rounding, the product of t[i] and the
 * sine that fast_trig_sincos gives), for i < n; x and t distinct.  The same
 * bits as fast_trig_sincos followed by the products, without storing the
 * sines or reading them back. */
void fast_trig_cos_sinmul(size_t n, double *x, double *t);

/* ---- for the tests ------------------------------------------------------ */

/* The compiled variants of the same kernel: 0 the baseline (SSE2 on x86-64,
 * whatever the target has elsewhere), 1 AVX2, 2 AVX-512F.  The dispatcher
 * takes the highest one the CPU supports, once. */
enum { FAST_TRIG_VARIANTS = 3 };

/* "generic", "avx2", "avx512f". */
const char *fast_trig_variant_name(int v);
/* 1 if variant v is compiled in and this CPU can run it. */
int fast_trig_variant_supported(int v);
/* The variant fast_trig_cos and fast_trig_sincos run. */
int fast_trig_variant_selected(void);
/* fast_trig_sincos (s != NULL) or fast_trig_cos (s == NULL) through variant v,
 * which must be supported. */
void fast_trig_run_variant(int v, size_t n, const double *x, double *s, double *c);

/* The constants of the algorithm, for the test that re-checks the
 * hypotheses of the proof (fast-trig.md section 2-4). */
typedef struct {
    double inv_pio2;  /* RN(2/pi) */
    double pio2[3];   /* pi/2 = pio2[0] + pio2[1] + pio2[2] + O(2^-107): a multiple of
                         2^-26, a multiple of 2^-53, the rounded rest */
    double sin[8];    /* sin[j-1] = RN((-1)^j / (2j+1)!), j = 1..8 (r^3 .. r^17) */
    double cos[7];    /* cos[j-2] = RN((-1)^j / (2j)!), j = 2..8 (r^4 .. r^16) */
} fast_trig_constants;
extern const fast_trig_constants fast_trig_k;

/* The generic variant's code run with other constants (a deliberately
 * broken copy: the tests show that their checks would catch it). */
void fast_trig_run_with(const fast_trig_constants *k, size_t n, const double *x, double *s,
                        double *c);

#endif
