/* ref_memory.c - how much memory the reference will take, before it takes it.
 *
 * The commands refuse a problem that cannot fit (oracle/resources.c) instead
 * of dying half-way in GMP's allocator or the OOM killer.  So the counts here
 * follow the allocations of ref_model.c, ref_run.c, ref_scheme.c,
 * ref_field.c and ref_certify.c one by one; a change there changes them.
 * Bytes are doubles: an absurd problem's count may overflow 64 bits, and an
 * estimate needs no exactness. */
#include <gmp.h>

#include "ref_internal.h"

/* glibc's malloc serves n bytes from a chunk of n + 8 rounded up to 16, at
 * least 32: what a request really costs. */
static double chunk(double n)
{
    double c = 16.0 * (double)(unsigned long long)((n + 8.0 + 15.0) / 16.0);
    return c < 32.0 ? 32.0 : c;
}

double ref_number_bytes(mpfr_prec_t prec)
{
    /* The struct (in the array that holds it) and its significand, which
     * mpfr_init2 allocates with one extra limb in front for its size. */
    double limbs = (double)((prec + GMP_NUMB_BITS - 1) / GMP_NUMB_BITS);
    return (double)sizeof(__mpfr_struct) + chunk((limbs + 1.0) * sizeof(mp_limb_t));
}

/* Numbers of one layer's parameters, and of all layers'. */
static double layer_params(const no_spec *s)
{
    return (double)ref_layer_param_count(s);
}

/* ref_model: X, Y, A, B, Omega and beta (rff), the parameters, the grid. */
static double model_bytes(const no_spec *s, mpfr_prec_t prec, double nsteps)
{
    double n = (double)s->N * (double)(s->d_in + s->d_out) +
               (double)s->D * (double)(s->d_in + s->d_out) + (double)s->L * layer_params(s) +
               nsteps;
    if (s->family == NO_FAMILY_RFF)
        n += (double)s->q * (double)(s->D + 1);
    return n * ref_number_bytes(prec) + ((double)s->L + 1.0) * sizeof(size_t);
}

/* ref_result: states and adjoint, output, loss, grad_* and mgrad_*. */
static double result_bytes(const no_spec *s, mpfr_prec_t prec)
{
    double n = 2.0 * ((double)s->L + 1.0) * (double)s->N * (double)s->D +
               (double)s->N * (double)s->d_out + 1.0 + 2.0 * (double)s->L * layer_params(s);
    return n * ref_number_bytes(prec);
}

/* run_ws of ref_run.c with its stepper and field scratch. */
static double workspace_bytes(const no_spec *s, mpfr_prec_t prec, double nsteps)
{
    double N = (double)s->N, D = (double)s->D;
    double width = (double)ref_field_width(s);
    double S = (double)no_tableau_of(s->scheme)->stages;
    double n = (nsteps + 1.0) * N * D           /* sub: every step's states */
               + N * layer_params(s)             /* contrib */
               + N * D + 2.0 * N * (double)s->d_out + N /* p, yhat, r, perloss */
               + 4.0 * width + 2.0               /* field: pre, act, dact, t; c, tmp */
               + (4.0 * S + 1.0) * D + 2.0       /* stages Y, K, lam, mu; acc; tau, one */
               + 2.0 * NO_MAX_STAGES * (NO_MAX_STAGES + 1); /* the tableau, raw and scaled */
    /* the field's dot scratch (ref_field.c): pointer pairs and exact products */
    double dots = (double)ref_field_dot_terms(s);
    double ptrs = N + 2.0 * dots;
    return n * ref_number_bytes(prec) + dots * ref_number_bytes(2 * prec) +
           ptrs * sizeof(void *);
}

static double steps_of(const no_spec *s, size_t nsteps)
{
    return nsteps ? (double)nsteps : (double)s->L * (double)s->m;
}

/* Doubles of the output layout (arrays.h), as ref_result_to_double makes them. */
static double outputs_bytes(const no_spec *s)
{
    no_array lay[NO_MAX_ARRAYS];
    int count = no_outputs_layout(s, lay);
    double n = 0;
    for (int i = 0; i < count; i++)
        n += (double)lay[i].n;
    return n * sizeof(double);
}

double ref_run_memory_estimate(const no_spec *s, mpfr_prec_t prec, size_t nsteps)
{
    double t = steps_of(s, nsteps);
    return model_bytes(s, prec, t) + result_bytes(s, prec) + workspace_bytes(s, prec, t);
}

double ref_memory_estimate(const no_spec *s, mpfr_prec_t prec, size_t nsteps)
{
    mpfr_prec_t hi = prec + (prec / 2 > 32 ? prec / 2 : 32); /* ref_certify's guard */
    double t = steps_of(s, nsteps);
    /* Both models live through both runs, and the first run's result
     * through the second; the first run's workspace is freed before the
     * second allocates its own (glibc merges the freed small chunks when
     * the second run's large arrays are requested, so they are reused:
     * measured, docs in tests/test_resources.c). */
    double runs = model_bytes(s, prec, t) + model_bytes(s, hi, t) + result_bytes(s, prec) +
                  result_bytes(s, hi) + workspace_bytes(s, hi, t);
    /* Then both results are rounded into values and bits (doubles). */
    return runs + 2.0 * outputs_bytes(s);
}
