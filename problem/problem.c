/* problem.c - spec defaults, validation, names and parameter tables (SPEC.md 1-2). */
#include "problem.h"
#include "tableau.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void no_spec_default(no_spec *s)
{
    memset(s, 0, sizeof *s);
    s->N = 8;
    s->d_in = 2;
    s->d_out = 2;
    s->D = 4;
    s->L = 8;
    s->m = 1;
    s->family = NO_FAMILY_LINEAR;
    s->kernel = NO_KERNEL_GAUSSIAN;
    s->ell = 1.0;
    s->nu = 2.5;
    s->activation = NO_ACT_TANH;
    s->scheme = NO_SCHEME_EULER;
    s->scaling = NO_SCALING_ODE;
    s->adjoint = NO_ADJOINT_DISCRETE;
    s->seed = 1;
    s->param_scale = 1.0;
}

int no_mul_size(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a)
        return -1;
    *out = a * b;
    return 0;
}

int no_errorf(char *err, size_t len, const char *fmt, ...)
{
    if (err && len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, len, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Element count of a product of up to four sizes, or 0 on overflow/absurdity. */
static size_t count4(size_t a, size_t b, size_t c, size_t d)
{
    size_t t;
    if (no_mul_size(a, b, &t) || no_mul_size(t, c, &t) || no_mul_size(t, d, &t))
        return 0;
    return t > NO_MAX_ELEMENTS ? 0 : t;
}

/* What sigma lacks for a C^2 mlp field (NO_REQ_SMOOTH), in the words of the
 * refusal; NULL for a C^2 (here C^inf) activation.  proofs-notes/activations.md,
 * section 2. */
static const char *activation_not_c2(no_activation a)
{
    switch (a) {
    case NO_ACT_TANH:
    case NO_ACT_SOFTPLUS:
        return NULL;
    case NO_ACT_RELU:
        return "Lipschitz (kink at 0)";
    case NO_ACT_HRELU:
        return "C^1 (sigma'' jumps at -1 and 1)";
    default:
        return "unknown";
    }
}

int no_spec_validate(const no_spec *s, unsigned req, char *err, size_t len)
{
    const struct {
        const char *name;
        size_t v;
    } dims[] = {{"N", s->N}, {"d_in", s->d_in}, {"d_out", s->d_out}, {"D", s->D}, {"L", s->L}};
    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++) {
        if (dims[i].v == 0)
            return no_errorf(err, len, "%s must be at least 1", dims[i].name);
        if (dims[i].v > NO_MAX_DIM)
            return no_errorf(err, len, "%s = %zu exceeds the limit %zu", dims[i].name, dims[i].v,
                        NO_MAX_DIM);
    }
    if (s->m == 0)
        return no_errorf(err, len, "substeps m must be at least 1");
    if (s->m > NO_MAX_SUBSTEPS)
        return no_errorf(err, len, "substeps m = %zu exceeds the limit %zu", s->m, NO_MAX_SUBSTEPS);
    if (s->D < s->d_in)
        return no_errorf(err, len, "D = %zu must be >= d_in = %zu (the lifting A embeds the data)",
                    s->D, s->d_in);
    if ((unsigned)s->family > NO_FAMILY_MLP)
        return no_errorf(err, len, "unknown family");
    if ((unsigned)s->scheme >= NO_SCHEME_COUNT)
        return no_errorf(err, len, "unknown scheme");
    if ((unsigned)s->scaling > NO_SCALING_SQRT)
        return no_errorf(err, len, "unknown scaling");
    if ((unsigned)s->adjoint >= NO_ADJOINT_COUNT)
        return no_errorf(err, len, "unknown adjoint kind");
    if (s->scaling == NO_SCALING_SQRT && s->scheme != NO_SCHEME_EULER)
        return no_errorf(err, len, "scaling sqrt is only defined for the euler scheme (SPEC 1)");
    if (!isfinite(s->param_scale) || s->param_scale < 0 || s->param_scale > 1e6)
        return no_errorf(err, len, "param_scale must be finite, >= 0 and <= 1e6");

    if (s->family == NO_FAMILY_RFF) {
        if (s->q == 0)
            return no_errorf(err, len, "family rff needs q >= 1 features");
        if (s->q > NO_MAX_DIM)
            return no_errorf(err, len, "q = %zu exceeds the limit %zu", s->q, NO_MAX_DIM);
        if ((unsigned)s->kernel > NO_KERNEL_MATERN)
            return no_errorf(err, len, "unknown kernel");
        if (s->kernel == NO_KERNEL_GAUSSIAN && !(s->ell >= NO_ELL_MIN && s->ell <= NO_ELL_MAX))
            return no_errorf(err, len, "gaussian bandwidth ell = %g must be in [%g, %g]", s->ell,
                             NO_ELL_MIN, NO_ELL_MAX);
        if (s->kernel == NO_KERNEL_MATERN) {
            if (!(s->nu >= NO_NU_MIN && s->nu <= NO_NU_MAX))
                return no_errorf(err, len, "matern nu = %g must be in [%g, %g]", s->nu, NO_NU_MIN,
                                 NO_NU_MAX);
            if ((req & NO_REQ_KAPPA) && !(s->nu > 2))
                return no_errorf(err, len,
                            "matern nu = %g: the kappa bound needs nu > 2 (finite 4th moment)",
                            s->nu);
        }
    } else if (s->q != 0) {
        return no_errorf(err, len, "q is only meaningful for family rff (got q = %zu)", s->q);
    }
    if (s->family == NO_FAMILY_MLP) {
        if (s->M == 0)
            return no_errorf(err, len, "family mlp needs M >= 1 neurons");
        if (s->M > NO_MAX_DIM)
            return no_errorf(err, len, "M = %zu exceeds the limit %zu", s->M, NO_MAX_DIM);
        if ((unsigned)s->activation >= NO_ACT_COUNT)
            return no_errorf(err, len, "unknown activation");
        const char *lacks = activation_not_c2(s->activation);
        if ((req & NO_REQ_SMOOTH) && lacks)
            return no_errorf(err, len,
                             "activation %s is only %s; this check needs a C^2 field "
                             "(smooth activations: tanh, softplus)",
                             no_activation_name(s->activation), lacks);
    } else if (s->M != 0) {
        return no_errorf(err, len, "M is only meaningful for family mlp (got M = %zu)", s->M);
    }

    /* Every array (and the ref's stored substep states) must have a sane size. */
    size_t width = s->family == NO_FAMILY_RFF ? s->q : s->family == NO_FAMILY_MLP ? s->M : s->D;
    size_t lm;
    if (no_mul_size(s->L, s->m, &lm))
        return no_errorf(err, len, "L * m overflows");
    if (!count4(s->N, s->d_in, 1, 1) || !count4(s->N, s->d_out, 1, 1) ||
        !count4(lm + 1, s->N, s->D, 1) || !count4(s->L, s->D, width, 1) ||
        !count4(s->D, width, 1, 1) || !count4(s->N, width, 4, 1))
        return no_errorf(err, len,
                    "problem too large: an array would exceed %zu elements "
                    "(N=%zu D=%zu L=%zu m=%zu width=%zu)",
                    NO_MAX_ELEMENTS, s->N, s->D, s->L, s->m, width);
    return 0;
}

double no_spec_step(const no_spec *s)
{
    return s->scaling == NO_SCALING_SQRT ? 1.0 / sqrt((double)s->L) : 1.0 / (double)s->L;
}

int no_spec_params(const no_spec *s, no_param_info out[NO_MAX_PARAMS])
{
    if (s->family == NO_FAMILY_MLP) {
        const char *names[3] = {"a", "u", "b"};
        for (int i = 0; i < 3; i++) {
            out[i].name = names[i];
            out[i].shape[0] = s->L;
            out[i].shape[1] = s->M;
            out[i].shape[2] = i == 2 ? 1 : s->D;
            out[i].ndim = i == 2 ? 2 : 3;
            out[i].per_layer = s->M * out[i].shape[2];
            out[i].n = s->L * out[i].per_layer;
        }
        return 3;
    }
    size_t cols = s->family == NO_FAMILY_RFF ? s->q : s->D;
    out[0].name = "W";
    out[0].shape[0] = s->L;
    out[0].shape[1] = s->D;
    out[0].shape[2] = cols;
    out[0].ndim = 3;
    out[0].per_layer = s->D * cols;
    out[0].n = s->L * out[0].per_layer;
    return 1;
}

double *no_problem_param(const no_problem *p, const char *name)
{
    if (p->spec.family == NO_FAMILY_MLP) {
        if (!strcmp(name, "a"))
            return p->a;
        if (!strcmp(name, "u"))
            return p->u;
        if (!strcmp(name, "b"))
            return p->b;
        return NULL;
    }
    return strcmp(name, "W") ? NULL : p->W;
}

static const char *pick(unsigned i, const char *const *names, unsigned n)
{
    return i < n ? names[i] : "?";
}

const char *no_family_name(no_family f)
{
    static const char *const n[] = {"linear", "rff", "mlp"};
    return pick(f, n, 3);
}
const char *no_kernel_name(no_kernel k)
{
    static const char *const n[] = {"gaussian", "matern"};
    return pick(k, n, 2);
}
const char *no_activation_name(no_activation a)
{
    static const char *const n[NO_ACT_COUNT] = {"tanh", "softplus", "relu", "hrelu"};
    return pick(a, n, NO_ACT_COUNT);
}
const char *no_scheme_name(no_scheme_id s)
{
    return (unsigned)s < NO_SCHEME_COUNT ? no_tableau_of(s)->name : "?";
}

int no_scheme_parse(const char *name, no_scheme_id *out)
{
    for (int i = 0; name && i < NO_SCHEME_COUNT; i++)
        if (!strcmp(name, no_scheme_name((no_scheme_id)i))) {
            *out = (no_scheme_id)i;
            return 0;
        }
    return -1;
}

const char *no_scheme_names(void)
{
    static char buf[NO_SCHEME_COUNT * 16];
    if (!buf[0])
        for (int i = 0; i < NO_SCHEME_COUNT; i++)
            snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", i ? "|" : "",
                     no_scheme_name((no_scheme_id)i));
    return buf;
}
const char *no_scaling_name(no_scaling s)
{
    static const char *const n[] = {"ode", "sqrt"};
    return pick(s, n, 2);
}
const char *no_adjoint_name(no_adjoint a)
{
    static const char *const n[] = {"discrete", "continuous", "backsolve"};
    return pick(a, n, NO_ADJOINT_COUNT);
}

void no_spec_describe(const no_spec *s, char *buf, size_t len)
{
    char fam[64];
    if (s->family == NO_FAMILY_RFF && s->kernel == NO_KERNEL_GAUSSIAN)
        snprintf(fam, sizeof fam, "rff(gaussian ell=%g q=%zu)", s->ell, s->q);
    else if (s->family == NO_FAMILY_RFF)
        snprintf(fam, sizeof fam, "rff(matern nu=%g q=%zu)", s->nu, s->q);
    else if (s->family == NO_FAMILY_MLP)
        snprintf(fam, sizeof fam, "mlp(%s M=%zu)", no_activation_name(s->activation), s->M);
    else
        snprintf(fam, sizeof fam, "linear");
    snprintf(buf, len, "%s %s m=%zu %s-adjoint L=%zu N=%zu d=%zu->%zu->%zu scaling=%s seed=%llu",
             fam, no_scheme_name(s->scheme), s->m, no_adjoint_name(s->adjoint), s->L, s->N,
             s->d_in, s->D, s->d_out, no_scaling_name(s->scaling), (unsigned long long)s->seed);
}
