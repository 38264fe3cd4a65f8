/* ref_model.c - a problem's arrays as MPFR numbers (exact conversion from double). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref_internal.h"

static void grid_clear(ref_model *m)
{
    ref_vec_free(m->tau, m->nsteps);
    free(m->first);
    m->tau = NULL;
    m->first = NULL;
    m->nsteps = 0;
}

static int grid_alloc(ref_model *m, size_t nsteps)
{
    grid_clear(m);
    m->first = malloc((m->spec.L + 1) * sizeof(size_t));
    m->tau = ref_vec_new(nsteps, m->prec);
    if (!m->first || !m->tau) {
        free(m->first);
        m->first = NULL;
        m->tau = NULL;
        return -1;
    }
    m->nsteps = nsteps;
    return 0;
}

/* The field scales of a variant, applied to the steps (ref.h): every step
 * times field_scale, layer scale_layer - 1's times layer_scale. */
static void grid_scale(ref_model *m)
{
    const ref_variant *v = &m->variant;
    if (v->field_scale != 0)
        for (size_t t = 0; t < m->nsteps; t++)
            mpfr_mul_d(m->tau[t], m->tau[t], v->field_scale, MPFR_RNDN);
    if (v->scale_layer > 0 && v->scale_layer <= m->spec.L && v->layer_scale != 0)
        for (size_t t = m->first[v->scale_layer - 1]; t < m->first[v->scale_layer]; t++)
            mpfr_mul_d(m->tau[t], m->tau[t], v->layer_scale, MPFR_RNDN);
}

/* The uniform grid of the spec: m substeps of h/m per layer, h = 1/L (ode) or
 * 1/sqrt(L) (sqrt), or 1/h_den under a variant (and the variant's step and
 * field changes). */
static int grid_uniform(ref_model *m)
{
    const no_spec *s = &m->spec;
    if (grid_alloc(m, s->L * s->m))
        return -1;
    mpfr_t tau;
    mpfr_init2(tau, m->prec);
    /* h = 1/n (ode) or 1/sqrt(n) (sqrt), n = L or the variant's h_den. */
    unsigned long n = (unsigned long)(m->variant.h_den ? m->variant.h_den : s->L);
    unsigned long sub = m->variant.substep_h ? 1 : (unsigned long)s->m;
    if ((s->scaling == NO_SCALING_SQRT) != (m->variant.swap_scaling != 0)) {
        mpfr_set_ui(tau, n, MPFR_RNDN);
        mpfr_rec_sqrt(tau, tau, MPFR_RNDN);
        mpfr_div_ui(tau, tau, sub, MPFR_RNDN);
    } else {
        mpfr_set_ui(tau, 1, MPFR_RNDN);
        mpfr_div_ui(tau, tau, n * sub, MPFR_RNDN);
    }
    for (size_t t = 0; t < m->nsteps; t++)
        mpfr_set(m->tau[t], tau, MPFR_RNDN);
    for (size_t k = 0; k <= s->L; k++)
        m->first[k] = k * s->m;
    mpfr_clear(tau);
    grid_scale(m);
    return 0;
}

int ref_model_set_variant(ref_model *m, const ref_variant *v, char *err, size_t len)
{
    m->variant = *v;
    if (grid_uniform(m))
        return no_errorf(err, len, "out of memory building the step grid");
    return 0;
}

int ref_model_set_grid(ref_model *m, const double *t, size_t count, char *err, size_t len)
{
    const no_spec *s = &m->spec;
    if (s->scaling != NO_SCALING_ODE)
        return no_errorf(err, len, "grid: a step grid is only defined for scaling ode");
    if (count < s->L + 1 || t[0] != 0.0 || t[count - 1] != 1.0)
        return no_errorf(err, len, "grid: must run from 0 to 1 with at least L + 1 = %zu points",
                         s->L + 1);
    for (size_t j = 0; j + 1 < count; j++)
        if (!(t[j] < t[j + 1]))
            return no_errorf(err, len, "grid: not strictly increasing at index %zu", j + 1);
    if (grid_alloc(m, count - 1))
        return no_errorf(err, len, "out of memory building the step grid");
    /* Layer k owns the steps inside [k/L, (k+1)/L]; a boundary must be a grid
     * point.  k/L is not a double in general (1/3), so a grid point within
     * 1e-12 of a boundary is that boundary, and the step sizes are computed
     * from the exact k/L (docs/formats.md, "A step grid"). */
    size_t k = 0;
    m->first[0] = 0;
    mpfr_t a, b, x;
    mpfr_inits2(m->prec, a, b, (mpfr_ptr)0);
    mpfr_init2(x, 64 + 64); /* L t exactly: 53-bit t times an integer < 2^64 */
    mpfr_set_zero(a, 1);
    for (size_t j = 0; j + 1 < count; j++) {
        mpfr_set_d(x, t[j + 1], MPFR_RNDN);
        mpfr_mul_ui(x, x, (unsigned long)s->L, MPFR_RNDN);
        mpfr_sub_ui(x, x, (unsigned long)(k + 1), MPFR_RNDN);
        double off = mpfr_get_d(x, MPFR_RNDN) / (double)s->L; /* t - (k+1)/L */
        if (fabs(off) <= 1e-12) {
            mpfr_set_ui(b, (unsigned long)(k + 1), MPFR_RNDN);
            mpfr_div_ui(b, b, (unsigned long)s->L, MPFR_RNDN);
            m->first[++k] = j + 1;
        } else if (off > 0) {
            mpfr_clears(a, b, x, (mpfr_ptr)0);
            grid_uniform(m);
            return no_errorf(err, len, "grid: step %zu crosses the layer boundary %zu/L", j,
                             k + 1);
        } else {
            mpfr_set_d(b, t[j + 1], MPFR_RNDN);
        }
        mpfr_sub(m->tau[j], b, a, MPFR_RNDN);
        mpfr_swap(a, b);
    }
    mpfr_clear(x);
    mpfr_clears(a, b, (mpfr_ptr)0);
    grid_scale(m); /* a field scale applies on any grid */
    return 0;
}

void ref_model_clear(ref_model *m)
{
    grid_clear(m);
    ref_array *all[] = {&m->X, &m->Y, &m->A, &m->B, &m->Omega, &m->beta};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        ref_array_clear(all[i]);
    for (int i = 0; i < m->nparams; i++)
        ref_array_clear(&m->param[i]);
    m->nparams = 0;
}

/* Both entry points: the contract's (prec >= 53, inputs exact) and the
 * emulation of a lower precision (inputs rounded to prec bits). */
static int model_init(ref_model *m, const no_problem *p, mpfr_prec_t prec, mpfr_prec_t lo,
                      char *err, size_t len)
{
    memset(m, 0, sizeof *m);
    if (prec < lo || prec > REF_PREC_MAX) {
        snprintf(err, len, "precision %ld out of range [%ld, %d] bits", (long)prec, (long)lo,
                 REF_PREC_MAX);
        return -1;
    }
    if (no_spec_validate(&p->spec, NO_REQ_NONE, err, len))
        return -1;
    const no_spec *s = &p->spec;
    m->spec = *s;
    m->prec = prec;
    size_t sx[2] = {s->N, s->d_in}, sy[2] = {s->N, s->d_out};
    size_t sa[2] = {s->D, s->d_in}, sb[2] = {s->d_out, s->D};
    size_t so[2] = {s->q, s->D}, sbeta[1] = {s->q};
    int bad = ref_array_from_double(&m->X, "X", 2, sx, p->X, prec) ||
              ref_array_from_double(&m->Y, "Y", 2, sy, p->Y, prec) ||
              ref_array_from_double(&m->A, "A", 2, sa, p->A, prec) ||
              ref_array_from_double(&m->B, "B", 2, sb, p->B, prec);
    if (!bad && s->family == NO_FAMILY_RFF)
        bad = ref_array_from_double(&m->Omega, "Omega", 2, so, p->Omega, prec) ||
              ref_array_from_double(&m->beta, "beta", 1, sbeta, p->beta, prec);
    no_param_info pi[NO_MAX_PARAMS];
    int np = no_spec_params(s, pi);
    for (int i = 0; !bad && i < np; i++) {
        bad = ref_array_from_double(&m->param[i], pi[i].name, pi[i].ndim, pi[i].shape,
                                    no_problem_param(p, pi[i].name), prec);
        if (!bad)
            m->nparams++;
    }
    if (bad || grid_uniform(m)) {
        ref_model_clear(m);
        snprintf(err, len, "out of memory converting the problem to MPFR");
        return -1;
    }
    return 0;
}

int ref_model_init(ref_model *m, const no_problem *p, mpfr_prec_t prec, char *err, size_t len)
{
    /* Below 53 bits the double inputs would not be represented exactly. */
    return model_init(m, p, prec, REF_PREC_MIN, err, len);
}

int ref_model_init_rounded(ref_model *m, const no_problem *p, mpfr_prec_t prec, char *err,
                           size_t len)
{
    return model_init(m, p, prec, REF_PREC_ROUNDED_MIN, err, len);
}

ref_array *ref_model_param(ref_model *m, const char *name)
{
    for (int i = 0; i < m->nparams; i++)
        if (!strcmp(m->param[i].name, name))
            return &m->param[i];
    return NULL;
}

size_t ref_param_table(ref_model *m, int *np, ref_array *par[NO_MAX_PARAMS],
                       const char *gname[NO_MAX_PARAMS])
{
    static const char *const gn[] = {"mgrad_W", "mgrad_a", "mgrad_u", "mgrad_b"};
    no_param_info pi[NO_MAX_PARAMS];
    size_t K = 0;
    *np = no_spec_params(&m->spec, pi);
    for (int i = 0; i < *np; i++) {
        par[i] = ref_model_param(m, pi[i].name);
        K += pi[i].n;
        for (int g = 0; g < 4; g++)
            if (!strcmp(gn[g] + 6, pi[i].name))
                gname[i] = gn[g];
    }
    return K;
}
