/* fuzz_generate.c - libFuzzer harness for validation, the generator, ref and fast.
 *
 * Input bytes are read as a spec: one byte per size (mostly small, sometimes
 * zero, one over the run caps, or an absurd value such as SIZE_MAX), one per
 * enum (mod count + 1, sometimes far out of range), doubles from a table of
 * specials (0, -0, denormals, DBL_MAX, +-Inf, NaN, the 1e6 limits) or from 8
 * raw bytes, the seed from a byte or 8 raw bytes.  Missing bytes read as 0.
 *
 * Then no_spec_validate; if valid and small (fuzz_common.h): no_problem_generate,
 * ref at 64 bits (ref_model_init + ref_run, rounded to double) and fast_run.
 *
 * Properties checked (abort = finding):
 *   - no crash, leak or undefined behaviour (ASan, UBSan, LSan);
 *   - a validated small spec generates and both implementations run;
 *   - gross agreement of the loss: |ref - fast| <= 1e-6 max(|ref|, |fast|)
 *     when both losses are finite and < 1e10 and the problem is well
 *     conditioned (below).  This is a smoke alarm for a broken formula or a
 *     mixed-up array, not the tolerance model of oracle/: 1e-6 is many orders
 *     above what double can lose on the problems that are compared.
 *
 * Conditioning guard.  The fuzzer readily builds problems (ell = 1e-300,
 * param_scale = 1e6, nu = 1e-300) on which double arithmetic legitimately
 * loses every digit of the loss; a disagreement there says nothing.  The loss
 * is compared only if a crude bound on the flow's Lipschitz constant,
 * exp(h sum_k Lip(v_k)) (spectral norms, estimated; it bounds Euler and RK4
 * steps alike), is at most 1e6, and for rff the phases |Omega| |z| are at most
 * 1e6, so the expected relative error is about 1e-10, far below 1e-6.
 */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arrays.h"
#include "fast.h"
#include "fuzz_common.h"
#include "problem.h"
#include "ref.h"

#define REF_BITS 64
#define LOSS_RTOL 1e-6
#define LOSS_MAX 1e10
#define COND_MAX 1e6

typedef struct {
    const uint8_t *d;
    size_t n, i;
} reader;

static uint8_t rd_u8(reader *r)
{
    return r->i < r->n ? r->d[r->i++] : 0;
}

static uint64_t rd_u64(reader *r)
{
    uint64_t x = 0;
    for (int k = 0; k < 8; k++)
        x = x << 8 | rd_u8(r);
    return x;
}

/* A size: mostly 0..cap+1 (0 and cap+1 reach "invalid" and "valid but not
 * run"), the top 16 byte values pick absurd sizes that validation must refuse
 * (or accept without anything being allocated here). */
static size_t size_of_byte(uint8_t b, size_t cap)
{
    static const size_t absurd[16] = {
        NO_MAX_DIM,           NO_MAX_DIM + 1,     NO_MAX_ELEMENTS,     NO_MAX_ELEMENTS + 1,
        NO_MAX_SUBSTEPS,      NO_MAX_SUBSTEPS + 1, SIZE_MAX,           SIZE_MAX / 2,
        SIZE_MAX / 8 + 1,     (size_t)1 << 32,    ((size_t)1 << 32) + 1, (size_t)1 << 14,
        ((size_t)1 << 14) + 1, 1000,              65535,               3,
    };
    return b < 0xF0 ? b % (cap + 2) : absurd[b & 15];
}

static size_t rd_size(reader *r, size_t cap)
{
    return size_of_byte(rd_u8(r), cap);
}

/* An enum value: mostly 0..count (count is one past the last enumerator),
 * sometimes a value far out of range (C allows any value of the enum's
 * underlying type; validation must refuse it before any switch sees it). */
static unsigned rd_enum(reader *r, unsigned count)
{
    static const unsigned far[8] = {UINT_MAX, INT_MAX, (unsigned)INT_MAX + 1, 255,
                                    256,      1000,    UINT_MAX - 1,          7};
    uint8_t b = rd_u8(r);
    return b < 0xF8 ? b % (count + 1) : far[b & 7];
}

/* A double: mostly a moderate positive value, else a special, else raw bits
 * (which covers NaN payloads, denormals, negatives of every size). */
static double rd_double(reader *r)
{
    uint8_t b = rd_u8(r);
    if (b < 0xA0)
        return (double)(b % 64 + 1) / 16.0; /* 1/16 .. 4 */
    if (b < 0xE0) {
        const double special[16] = {0.0,     -0.0,           DBL_TRUE_MIN, DBL_MIN,
                                    DBL_MAX, INFINITY,       -INFINITY,    NAN,
                                    1e6,     nextafter(1e6, INFINITY), 1e-300, 1e-3,
                                    -1.0,    2.0,            nextafter(2.0, 3.0), 1e-160};
        return special[b & 15];
    }
    uint64_t bits = rd_u64(r);
    double x;
    memcpy(&x, &bits, sizeof x);
    return x;
}

static double max_abs(const double *v, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(v[i]));
    return m;
}

/* Largest singular value of the rows x cols matrix A (row-major, rows and
 * cols <= 8 here), by power iteration on A^T A from a fixed start vector.  An
 * estimate from below, which is enough for a guard whose own bound (product
 * of layer norms) is already generous.  Overflow (entries near 1e154 and
 * above) or NaN entries give +Inf: "not comparable", never "small". */
static double spectral_norm(const double *A, size_t rows, size_t cols)
{
    double v[FUZZ_MAX_Q > FUZZ_MAX_D ? FUZZ_MAX_Q : FUZZ_MAX_D];
    double w[FUZZ_MAX_Q > FUZZ_MAX_D ? FUZZ_MAX_Q : FUZZ_MAX_D];
    double sigma = 0;
    for (size_t j = 0; j < cols; j++)
        v[j] = 1.0 + 0.1 * (double)j; /* not orthogonal to anything special */
    for (int it = 0; it < 60; it++) {
        /* w = A v, then v = A^T w; sigma^2 ~ |A^T A v| / |v|. */
        double nv = 0;
        for (size_t j = 0; j < cols; j++)
            nv += v[j] * v[j];
        nv = sqrt(nv);
        if (nv == 0)
            return 0; /* A v = 0 and A^T A v = 0: A is zero (on this start) */
        if (!isfinite(nv))
            return INFINITY; /* overflow or NaN entries: "too large to compare" */
        for (size_t j = 0; j < cols; j++)
            v[j] /= nv;
        for (size_t i = 0; i < rows; i++) {
            w[i] = 0;
            for (size_t j = 0; j < cols; j++)
                w[i] += A[i * cols + j] * v[j];
        }
        double nw = 0;
        for (size_t i = 0; i < rows; i++)
            nw += w[i] * w[i];
        sigma = sqrt(nw);
        for (size_t j = 0; j < cols; j++) {
            v[j] = 0;
            for (size_t i = 0; i < rows; i++)
                v[j] += A[i * cols + j] * w[i];
        }
    }
    return isfinite(sigma) ? sigma : INFINITY;
}

/* The conditioning guard of the header comment: nonzero if the loss of p can
 * be compared at LOSS_RTOL; zmax is max |z| over the fast run's states.
 * Lip(v_k) <= |W_k| (linear), sqrt(2/q) |W_k| |Omega| (rff, |sin| <= 1),
 * |A_k| |U_k| / M (mlp, rows a_kj and u_kj; |sigma'| <= 1 for tanh, softplus,
 * relu), with |.| the spectral norm. */
static int well_conditioned(const no_problem *p, double zmax)
{
    const no_spec *s = &p->spec;
    size_t D = s->D, q = s->q, M = s->M;
    double lip = 0, omega = s->family == NO_FAMILY_RFF ? spectral_norm(p->Omega, q, D) : 0;
    for (size_t k = 0; k < s->L; k++) {
        switch (s->family) {
        case NO_FAMILY_LINEAR:
            lip += spectral_norm(p->W + k * D * D, D, D);
            break;
        case NO_FAMILY_RFF:
            lip += sqrt(2.0 / (double)q) * spectral_norm(p->W + k * D * q, D, q) * omega;
            break;
        case NO_FAMILY_MLP:
            lip += spectral_norm(p->a + k * M * D, M, D) * spectral_norm(p->u + k * M * D, M, D) /
                   (double)M;
            break;
        }
    }
    double growth = no_spec_step(s) * lip;
    if (!(growth <= log(COND_MAX)))
        return 0;
    return s->family != NO_FAMILY_RFF || omega * zmax <= COND_MAX;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reader r = {data, size, 0};
    no_spec s;
    no_spec_default(&s);
    s.family = (no_family)rd_enum(&r, 3);
    s.kernel = (no_kernel)rd_enum(&r, 2);
    s.activation = (no_activation)rd_enum(&r, NO_ACT_COUNT);
    s.scheme = (no_scheme_id)rd_enum(&r, NO_SCHEME_COUNT);
    s.scaling = (no_scaling)rd_enum(&r, 2);
    s.adjoint = (no_adjoint)rd_enum(&r, 2);
    s.N = rd_size(&r, FUZZ_MAX_N);
    s.d_in = rd_size(&r, FUZZ_MAX_DIO);
    s.d_out = rd_size(&r, FUZZ_MAX_DIO);
    s.D = rd_size(&r, FUZZ_MAX_D);
    s.L = rd_size(&r, FUZZ_MAX_L);
    s.m = rd_size(&r, FUZZ_MAX_SUB);
    /* q and M: the family's width when the top bit is clear (so that most
     * inputs pass validation), any size otherwise (q on a linear family, ...). */
    uint8_t wq = rd_u8(&r), wm = rd_u8(&r);
    s.q = !(wq & 0x80) ? (s.family == NO_FAMILY_RFF ? 1 + wq % FUZZ_MAX_Q : 0)
                       : size_of_byte(wq, FUZZ_MAX_Q);
    s.M = !(wm & 0x80) ? (s.family == NO_FAMILY_MLP ? 1 + wm % FUZZ_MAX_M : 0)
                       : size_of_byte(wm, FUZZ_MAX_M);
    s.ell = rd_double(&r);
    s.nu = rd_double(&r);
    s.param_scale = rd_double(&r);
    uint8_t sb = rd_u8(&r);
    s.seed = sb < 0x80 ? sb : rd_u64(&r);

    char err[256] = "";
    int invalid = no_spec_validate(&s, NO_REQ_NONE, err, sizeof err);
    /* NO_FUZZ_VERBOSE=1 when replaying: what each input decoded to. */
    int verbose = getenv("NO_FUZZ_VERBOSE") != NULL;
    if (verbose) {
        char desc[512];
        no_spec_describe(&s, desc, sizeof desc);
        fprintf(stderr, "spec: %s ell=%g nu=%g param_scale=%g q=%zu M=%zu -> %s%s\n", desc,
                s.ell, s.nu, s.param_scale, s.q, s.M, invalid ? "invalid: " : "valid",
                invalid ? err : fuzz_spec_small(&s) ? ", run" : ", not run (large)");
    }
    if (invalid) {
        if (err[0] == '\0')
            fuzz_fail(&s, "no_spec_validate rejected without an error message");
        return 0;
    }
    if (!fuzz_spec_small(&s))
        return 0;

    no_problem p;
    if (no_problem_generate(&p, &s, err, sizeof err))
        fuzz_fail(&s, "no_problem_generate failed on a validated small spec");

    ref_model m;
    ref_result res;
    memset(&res, 0, sizeof res);
    if (ref_model_init(&m, &p, REF_BITS, err, sizeof err))
        fuzz_fail(&s, "ref_model_init failed on a validated small spec");
    if (ref_run(&m, &res, err, sizeof err))
        fuzz_fail(&s, "ref_run failed on a validated small spec");
    no_arrays ref_out;
    if (ref_result_to_double(&res, &ref_out))
        fuzz_fail(&s, "ref_result_to_double failed");
    ref_result_clear(&res);
    ref_model_clear(&m);

    no_arrays fast_out;
    memset(&fast_out, 0, sizeof fast_out);
    if (fast_run(&p, &fast_out, err, sizeof err))
        fuzz_fail(&s, "fast_run failed on a validated small spec");

    /* The same layout on both sides (arrays.h) is part of the contract. */
    if (ref_out.count != fast_out.count)
        fuzz_fail(&s, "ref and fast output layouts differ in array count");
    for (int i = 0; i < ref_out.count; i++)
        if (strcmp(ref_out.a[i].name, fast_out.a[i].name) || ref_out.a[i].n != fast_out.a[i].n)
            fuzz_fail(&s, "ref and fast output layouts differ");

    double lr = no_arrays_get(&ref_out, "loss")->v[0];
    double lf = no_arrays_get(&fast_out, "loss")->v[0];
    const no_array *st = no_arrays_get(&fast_out, "states");
    double zmax = max_abs(st->v, st->n);
    int compared = isfinite(lr) && isfinite(lf) && fabs(lr) < LOSS_MAX && fabs(lf) < LOSS_MAX &&
                   well_conditioned(&p, zmax);
    if (verbose)
        fprintf(stderr, "loss: ref%d %.17g fast %.17g%s\n", REF_BITS, lr, lf,
                compared ? "" : " (not compared)");
    if (compared && fabs(lr - lf) > LOSS_RTOL * fmax(fabs(lr), fabs(lf))) {
        fprintf(stderr, "loss: ref%d %.17g  fast %.17g  (rel %.3g)\n", REF_BITS, lr, lf,
                fabs(lr - lf) / fmax(fabs(lr), fabs(lf)));
        fuzz_fail(&s, "ref and fast disagree grossly on the loss");
    }

    no_arrays_free(&fast_out);
    no_arrays_free(&ref_out);
    no_problem_free(&p);
    return 0;
}
