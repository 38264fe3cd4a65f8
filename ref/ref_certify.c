/* ref_certify.c - how many bits of each result are correct (SPEC 6;
 * proofs-notes/precision.md).
 *
 * As in MPFR's tgeneric, a claim about precision p is made by recomputing at
 * a higher precision p + g: if the error of a result scales like 2^-p, the
 * (p+g)-result is 2^g times closer to the truth, so |x_p - x_{p+g}| measures
 * the error of x_p to within a factor 1 +- 2^-g.  One bit is given up for
 * that factor and for the floor.  tests/test_ref_precision.c checks every
 * claim against a run at 4p. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ref_internal.h"

double ref_correct_bits(const mpfr_t x, const mpfr_t x_hi, mpfr_prec_t prec)
{
    if (mpfr_equal_p(x, x_hi))
        return (double)prec;
    if (mpfr_zero_p(x_hi) || !mpfr_number_p(x) || !mpfr_number_p(x_hi))
        return 0.0;
    /* 64 bits are plenty to take the logarithm of a relative difference;
     * on the stack (MPFR_DECL_INIT): this runs once per output element. */
    MPFR_DECL_INIT(d, 64);
    mpfr_sub(d, x, x_hi, MPFR_RNDA);
    mpfr_div(d, d, x_hi, MPFR_RNDA);
    mpfr_abs(d, d, MPFR_RNDN);
    mpfr_log2(d, d, MPFR_RNDU);
    double bits = floor(-mpfr_get_d(d, MPFR_RNDU)) - 1.0;
    if (bits < 0)
        bits = 0;
    return bits > (double)prec ? (double)prec : bits;
}

/* REF_CERTIFY_PREC_MAX is exactly the largest precision whose check run fits. */
_Static_assert(REF_CERTIFY_PREC_MAX + REF_CERTIFY_PREC_MAX / 2 <= REF_PREC_MAX &&
                   (REF_CERTIFY_PREC_MAX + 1) + (REF_CERTIFY_PREC_MAX + 1) / 2 > REF_PREC_MAX,
               "REF_CERTIFY_PREC_MAX out of step with guard_bits");

static mpfr_prec_t guard_bits(mpfr_prec_t prec)
{
    return prec / 2 > 32 ? prec / 2 : 32;
}

/* The model of p at prec under setup. */
static int model_setup(ref_model *m, const no_problem *p, mpfr_prec_t prec,
                       const ref_setup *setup, char *err, size_t len)
{
    if (ref_model_init(m, p, prec, err, len))
        return -1;
    int rc = 0;
    if (setup && setup->variant)
        rc = ref_model_set_variant(m, setup->variant, err, len);
    if (!rc && setup && setup->grid)
        rc = ref_model_set_grid(m, setup->grid, setup->grid_count, err, len);
    if (rc)
        ref_model_clear(m);
    return rc;
}

/* One of the two runs as a part [base, base + share) of the certification's
 * progress: a run's time grows about with its limbs, so the shares are
 * proportional to the precisions. */
typedef struct {
    const ref_progress *outer;
    double base, share;
} run_part;

static void part_tick(void *ctx, const char *pass, size_t layer, size_t L, double fraction)
{
    const run_part *r = ctx;
    r->outer->fn(r->outer->ctx, pass, layer, L, r->base + r->share * fraction);
}

int ref_certify(const no_problem *p, mpfr_prec_t prec, no_arrays *values, no_arrays *bits,
                char *err, size_t len)
{
    return ref_certify_setup(p, prec, NULL, values, bits, err, len);
}

int ref_certify_setup(const no_problem *p, mpfr_prec_t prec, const ref_setup *setup,
                      no_arrays *values, no_arrays *bits, char *err, size_t len)
{
    memset(values, 0, sizeof *values);
    memset(bits, 0, sizeof *bits);
    mpfr_prec_t hi = prec + guard_bits(prec);
    if (hi > REF_PREC_MAX) {
        snprintf(err, len, "precision %ld too high: certification needs %ld <= %d bits",
                 (long)prec, (long)hi, REF_PREC_MAX);
        return -1;
    }
    ref_model mlo, mhi;
    ref_result rlo, rhi;
    if (model_setup(&mlo, p, prec, setup, err, len))
        return -1;
    if (model_setup(&mhi, p, hi, setup, err, len)) {
        ref_model_clear(&mlo);
        return -1;
    }
    run_part plo = {NULL, 0, 0}, phi = plo;
    if (setup && setup->progress.fn) {
        double w = (double)prec / (double)(prec + hi);
        plo = (run_part){&setup->progress, 0, w};
        phi = (run_part){&setup->progress, w, 1 - w};
        mlo.progress = (ref_progress){part_tick, &plo};
        mhi.progress = (ref_progress){part_tick, &phi};
    }
    int rc = ref_run(&mlo, &rlo, err, len);
    if (!rc && (rc = ref_run(&mhi, &rhi, err, len)))
        ref_result_clear(&rlo);
    ref_model_clear(&mlo);
    ref_model_clear(&mhi);
    if (rc)
        return -1;
    /* Values: the higher-precision result, correctly rounded to double; it is
     * at least as accurate as the p-result the bits are claimed for. */
    rc = ref_result_to_double(&rhi, values) || ref_result_to_double(&rlo, bits);
    for (int i = 0; !rc && i < rlo.count; i++)
        for (size_t e = 0; e < rlo.a[i].n; e++)
            bits->a[i].v[e] = ref_correct_bits(rlo.a[i].v[e], rhi.a[i].v[e], prec);
    ref_result_clear(&rlo);
    if (!rc && setup && setup->keep_hi)
        *setup->keep_hi = rhi; /* ownership moves to the caller */
    else
        ref_result_clear(&rhi);
    if (rc) {
        no_arrays_free(values);
        no_arrays_free(bits);
        snprintf(err, len, "out of memory certifying the reference");
        return -1;
    }
    return 0;
}
