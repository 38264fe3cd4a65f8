/* fast_trig.c - sin and cos of arrays (fast_trig.h); the algorithm and its
 * error bound are proofs-notes/fast-trig.md, whose section numbers the
 * comments cite.
 *
 * Why not libm: glibc's scalar sin/cos cost ~30 ns an argument and take most
 * of fast's time on the rff family.  This is one loop of + - * and bit
 * operations that GCC vectorises; the same C kernel is compiled for three
 * instruction sets and each computes the same IEEE operations in the same
 * order, with contraction off (-ffp-contract=off, no FMA intrinsics), so all
 * give the same bits.
 *
 * Per element, with a = |x| (sin is odd, cos even: the sign of x is put back
 * on sin at the end):
 *   k  = round(a * RN(2/pi))             by adding and subtracting 1.5*2^52
 *   r  = ((a - k P1) - k P2) - k P3      P1 + P2 + P3 ~ pi/2; the first two
 *                                        steps exact for a <= 2^26 (section 2)
 *   sin r = r + (r z) S(z),  cos r = 1 - z/2 + z^2 C(z),  z = r*r (Taylor;
 *                                        cos with 1 - z/2 split exactly)
 *   quadrant k mod 4 (low bits of the rounding sum): swap and sign flips as
 *   selects and XORs of the sign bit.
 */
#include "fast_trig.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

/* Elements per block: a multiple of every vector width (8 doubles), so the
 * block loop has a constant trip count that -O2's very-cheap vectoriser
 * accepts without an epilogue or alias checks (the block writes local
 * buffers, which also makes in-place calls safe). */
#define FT_BLOCK 64

#define FT_SIGN 0x8000000000000000ull
#define FT_MAGIC 0x1.8p52 /* t + 1.5*2^52 lies in [2^52, 2^53): rounds t to an integer */

const fast_trig_constants fast_trig_k = {
    .inv_pio2 = 0x1.45f306dc9c883p-1,
    .pio2 = {0x1.921fb54p+0, 0x1.10b462p-30, -0x1.cb3b399d747f2p-55},
    .sin = {-0x1.5555555555555p-3, 0x1.1111111111111p-7, -0x1.a01a01a01a01ap-13,
            0x1.71de3a556c734p-19, -0x1.ae64567f544e4p-26, 0x1.6124613a86d09p-33,
            -0x1.ae7f3e733b81fp-41, 0x1.952c77030ad4ap-49},
    .cos = {0x1.5555555555555p-5, -0x1.6c16c16c16c17p-10, 0x1.a01a01a01a01ap-16,
            -0x1.27e4fb7789f5cp-22, 0x1.1eed8eff8d898p-29, -0x1.93974a8c07c9dp-37,
            0x1.ae7f3e733b81fp-45},
};

static inline uint64_t ft_bits(double d)
{
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    return b;
}

static inline double ft_double(uint64_t b)
{
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

/* One block of FT_BLOCK elements: s (when want_sin) and c from x.  Returns
 * nonzero if some |x[i]| > X_MAX or is not a number; those entries are
 * garbage here and fixed by the caller.  The comparison is on the bit
 * pattern of |x|, which orders non-negative doubles like their values and
 * puts inf and every NaN above X_MAX: one integer compare, vectorisable. */
static inline __attribute__((always_inline)) int
ft_block(const fast_trig_constants *K, const double *restrict x, double *restrict s,
         double *restrict c, int want_sin)
{
    const uint64_t lim = ft_bits(FAST_TRIG_X_MAX);
    uint64_t bad = 0;
    for (int i = 0; i < FT_BLOCK; i++) {
        uint64_t xb = ft_bits(x[i]);
        uint64_t ab = xb & ~FT_SIGN;
        bad |= (lim - ab) >> 63; /* ab > lim: both < 2^63, so the difference wraps */
        double a = ft_double(ab);

        /* Section 2: k = nearest integer to a * RN(2/pi); the quadrant is
         * k mod 4, the low bits of the significand of the sum. */
        double t = a * K->inv_pio2 + FT_MAGIC;
        double k = t - FT_MAGIC;
        uint64_t q = ft_bits(t) & 3;
        /* a - k P1 and its - k P2 are exact; one rounding in the last step. */
        double r = ((a - k * K->pio2[0]) - k * K->pio2[1]) - k * K->pio2[2];
        double z = r * r;

        /* Section 3: sin r = r + (r z) S(z), S by Horner. */
        const double *S = K->sin;
        double ps = S[7];
        ps = ps * z + S[6];
        ps = ps * z + S[5];
        ps = ps * z + S[4];
        ps = ps * z + S[3];
        ps = ps * z + S[2];
        ps = ps * z + S[1];
        ps = ps * z + S[0];
        double sr = r + (r * z) * ps;

        /* Section 4: cos r = w + (((1 - w) - z/2) + z^2 C(z)), w = RN(1 - z/2);
         * (1 - w) - z/2 is the rounding error of w, exactly. */
        const double *C = K->cos;
        double pc = C[6];
        pc = pc * z + C[5];
        pc = pc * z + C[4];
        pc = pc * z + C[3];
        pc = pc * z + C[2];
        pc = pc * z + C[1];
        pc = pc * z + C[0];
        double hz = 0.5 * z;
        double w = 1.0 - hz;
        double cr = w + (((1.0 - w) - hz) + (z * z) * pc);

        /* sin(r + q pi/2) = sin r, cos r, -sin r, -cos r;
         * cos(r + q pi/2) = cos r, -sin r, -cos r, sin r.
         * The swap is a mask select on the bits, not a ?: (which GCC if-converts
         * only sometimes, and SSE2 has no blend). */
        uint64_t odd = 0 - (q & 1), sbits = ft_bits(sr), cbits = ft_bits(cr);
        uint64_t vc = (sbits & odd) | (cbits & ~odd);
        c[i] = ft_double(vc ^ (((q + 1) & 2) << 62));
        if (want_sin) {
            uint64_t vs = (cbits & odd) | (sbits & ~odd);
            s[i] = ft_double(vs ^ ((q & 2) << 62) ^ (xb & FT_SIGN));
        }
    }
    return bad != 0;
}

/* The whole array through blocks; s == NULL: cos only; t != NULL: also
 * t[i] <- t[i] * sin(x[i]) (fast_trig_cos_sinmul; the sine is not stored).
 * Outliers (|x| > X_MAX, inf, NaN) are rare, so their blocks go through
 * glibc one element at a time after the vector pass. */
static inline __attribute__((always_inline)) void
ft_run(const fast_trig_constants *K, size_t n, const double *x, double *s, double *c,
       double *t)
{
    /* The kernel reads x directly (a full block) or a zero-padded copy (the
     * last, partial one: cos(0) computed and dropped) and writes local
     * buffers, copied out after the outliers are fixed: so in-place calls
     * are safe, and the copies have a constant size (inlined moves). */
    double xpad[FT_BLOCK], sb[FT_BLOCK], cb[FT_BLOCK];
    for (size_t i0 = 0; i0 < n; i0 += FT_BLOCK) {
        size_t m = n - i0 < FT_BLOCK ? n - i0 : FT_BLOCK;
        const double *in = x + i0;
        if (m < FT_BLOCK) {
            memcpy(xpad, in, m * sizeof *xpad);
            memset(xpad + m, 0, (FT_BLOCK - m) * sizeof *xpad);
            in = xpad;
        }
        int want_sin = s || t;
        int bad = want_sin ? ft_block(K, in, sb, cb, 1) : ft_block(K, in, sb, cb, 0);
        if (bad)
            for (size_t i = 0; i < m; i++)
                if (!(fabs(in[i]) <= FAST_TRIG_X_MAX)) {
                    cb[i] = cos(in[i]);
                    if (want_sin)
                        sb[i] = sin(in[i]);
                }
        if (t)
            for (size_t i = 0; i < m; i++)
                t[i0 + i] *= sb[i];
        if (m == FT_BLOCK) {
            if (s)
                memcpy(s + i0, sb, sizeof sb);
            memcpy(c + i0, cb, sizeof cb);
        } else {
            if (s)
                memcpy(s + i0, sb, m * sizeof *sb);
            memcpy(c + i0, cb, m * sizeof *cb);
        }
    }
}

/* The variants: one body, three instruction sets.  The kernel is inlined
 * into each with the constants folded in. */
static void ft_generic(size_t n, const double *x, double *s, double *c, double *t)
{
    ft_run(&fast_trig_k, n, x, s, c, t);
}

#if defined(__x86_64__) && defined(__GNUC__)
#define FT_X86 1
__attribute__((target("avx2"))) static void ft_avx2(size_t n, const double *x, double *s,
                                                    double *c, double *t)
{
    ft_run(&fast_trig_k, n, x, s, c, t);
}

/* prefer-vector-width=512: without it GCC may keep to 256-bit vectors.  Clang
 * (the fuzz build) rejects that option in the attribute and uses 512-bit
 * vectors for avx512f anyway. */
#ifdef __clang__
#define FT_AVX512_TARGET "avx512f"
#else
#define FT_AVX512_TARGET "avx512f,prefer-vector-width=512"
#endif
__attribute__((target(FT_AVX512_TARGET))) static void
ft_avx512(size_t n, const double *x, double *s, double *c, double *t)
{
    ft_run(&fast_trig_k, n, x, s, c, t);
}
#else
#define FT_X86 0
#endif

typedef void ft_fn(size_t, const double *, double *, double *, double *);

static ft_fn *ft_variant_fn(int v)
{
#if FT_X86
    if (v == 1)
        return ft_avx2;
    if (v == 2)
        return ft_avx512;
#endif
    return v == 0 ? ft_generic : NULL;
}

int fast_trig_variant_supported(int v)
{
    if (v == 0)
        return 1;
#if FT_X86
    __builtin_cpu_init();
    if (v == 1)
        return __builtin_cpu_supports("avx2") != 0;
    if (v == 2)
        return __builtin_cpu_supports("avx512f") != 0;
#endif
    return 0;
}

const char *fast_trig_variant_name(int v)
{
    static const char *const names[FAST_TRIG_VARIANTS] = {"generic", "avx2", "avx512f"};
    return v >= 0 && v < FAST_TRIG_VARIANTS ? names[v] : "none";
}

/* Chosen once (pthread_once: calls from several threads see one choice). */
static pthread_once_t ft_once = PTHREAD_ONCE_INIT;
static int ft_selected;
static ft_fn *ft_selected_fn;

static void ft_choose(void)
{
    int v = FAST_TRIG_VARIANTS - 1;
    while (v > 0 && !fast_trig_variant_supported(v))
        v--;
    ft_selected = v;
    ft_selected_fn = ft_variant_fn(v);
}

int fast_trig_variant_selected(void)
{
    pthread_once(&ft_once, ft_choose);
    return ft_selected;
}

void fast_trig_cos(size_t n, const double *x, double *c)
{
    pthread_once(&ft_once, ft_choose);
    ft_selected_fn(n, x, NULL, c, NULL);
}

void fast_trig_sincos(size_t n, const double *x, double *s, double *c)
{
    pthread_once(&ft_once, ft_choose);
    ft_selected_fn(n, x, s, c, NULL);
}

void fast_trig_cos_sinmul(size_t n, double *x, double *t)
{
    pthread_once(&ft_once, ft_choose);
    ft_selected_fn(n, x, NULL, x, t);
}

void fast_trig_run_variant(int v, size_t n, const double *x, double *s, double *c)
{
    ft_fn *f = fast_trig_variant_supported(v) ? ft_variant_fn(v) : NULL;
    if (f)
        f(n, x, s, c, NULL);
}

void fast_trig_run_with(const fast_trig_constants *k, size_t n, const double *x, double *s,
                        double *c)
{
    ft_run(k, n, x, s, c, NULL);
}
