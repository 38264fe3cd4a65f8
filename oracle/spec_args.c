/* spec_args.c - see spec_args.h. */
#include "spec_args.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char no_spec_args_help[] =
    "PROBLEM OPTIONS\n"
    "  --family linear|rff|mlp   residual family v_k (default linear)\n"
    "  --kernel gaussian|matern  rff kernel (default gaussian)\n"
    "  --ell X                   gaussian bandwidth in [1e-3, 1e3] (default 1)\n"
    "  --nu X                    matern smoothness in [0.5, 1e6] (default 2.5)\n"
    "  --activation A            mlp activation (default tanh): tanh, softplus, relu,\n"
    "                            hrelu (proofs-notes/activations.md)\n"
    "  --scheme S                integration scheme (default euler): euler, midpoint,\n"
    "                            heun, ralston, bosh3, rk4 (classical), rk4-38 (3/8\n"
    "                            rule: torchdiffeq's rk4), dopri5, tsit5 (diffrax's)\n"
    "                            (docs/schemes.md)\n"
    "  --m K                     substeps per layer (default 1)\n"
    "  --scaling ode|sqrt        step h = 1/L or 1/sqrt(L) (sqrt: euler only)\n"
    "  --adjoint discrete|continuous|backsolve   gradient kind (default discrete;\n"
    "                            backsolve: torchdiffeq odeint_adjoint, diffrax\n"
    "                            BacksolveAdjoint; proofs-notes/backsolve-adjoint.md)\n"
    "  --N K --d-in K --d-out K --D K --L K   sizes (defaults 8 2 2 4 8)\n"
    "  --q K                     rff features (rff only; default 16 when rff)\n"
    "  --M K                     mlp neurons (mlp only; default 8 when mlp)\n"
    "  --seed K                  generator seed (default 1)\n"
    "  --param-scale X           scale of the random parameters (default 1)\n";

static int parse_size(const char *v, size_t *out)
{
    if (!v || !isdigit((unsigned char)*v)) /* strtoull would skip spaces and take a sign */
        return -1;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || *end || x > SIZE_MAX)
        return -1;
    *out = (size_t)x;
    return 0;
}

static int parse_double(const char *v, double *out)
{
    if (!v || !*v)
        return -1;
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || *end || !isfinite(x))
        return -1;
    *out = x;
    return 0;
}

/* Index of value in names[0..n), or -1. */
static int pick(const char *value, const char *const *names, int n)
{
    for (int i = 0; value && i < n; i++)
        if (!strcmp(value, names[i]))
            return i;
    return -1;
}

int no_spec_arg(no_spec *s, const char *flag, const char *value, char *err, size_t len)
{
    static const char *const fam[] = {"linear", "rff", "mlp"};
    static const char *const ker[] = {"gaussian", "matern"};
    const char *act[NO_ACT_COUNT];
    for (int i = 0; i < NO_ACT_COUNT; i++)
        act[i] = no_activation_name((no_activation)i);
    const char *sch[NO_SCHEME_COUNT];
    for (int i = 0; i < NO_SCHEME_COUNT; i++)
        sch[i] = no_scheme_name((no_scheme_id)i);
    static const char *const scl[] = {"ode", "sqrt"};
    static const char *const adj[] = {"discrete", "continuous", "backsolve"};
    struct {
        const char *flag;
        const char *const *names;
        int n;
        int *target;
    } enums[] = {
        {"--family", fam, 3, (int *)&s->family},     {"--kernel", ker, 2, (int *)&s->kernel},
        {"--activation", act, NO_ACT_COUNT, (int *)&s->activation},
        {"--scheme", sch, NO_SCHEME_COUNT, (int *)&s->scheme},
        {"--scaling", scl, 2, (int *)&s->scaling},
        {"--adjoint", adj, NO_ADJOINT_COUNT, (int *)&s->adjoint},
    };
    for (size_t i = 0; i < sizeof enums / sizeof enums[0]; i++) {
        if (strcmp(flag, enums[i].flag))
            continue;
        int v = pick(value, enums[i].names, enums[i].n);
        if (v < 0) {
            snprintf(err, len, "%s: unknown value '%s'", flag, value ? value : "");
            return -1;
        }
        *enums[i].target = v;
        /* Choosing a family gives its width a default so that --family rff works alone. */
        if (!strcmp(flag, "--family")) {
            s->q = v == NO_FAMILY_RFF ? (s->q ? s->q : 16) : 0;
            s->M = v == NO_FAMILY_MLP ? (s->M ? s->M : 8) : 0;
        }
        return 1;
    }
    struct {
        const char *flag;
        size_t *target;
    } sizes[] = {{"--N", &s->N}, {"--d-in", &s->d_in}, {"--d-out", &s->d_out}, {"--D", &s->D},
                 {"--L", &s->L}, {"--q", &s->q},       {"--M", &s->M},         {"--m", &s->m}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        if (strcmp(flag, sizes[i].flag))
            continue;
        if (parse_size(value, sizes[i].target)) {
            snprintf(err, len, "%s: expected a non-negative integer, got '%s'", flag,
                     value ? value : "");
            return -1;
        }
        return 1;
    }
    struct {
        const char *flag;
        double *target;
    } reals[] = {{"--ell", &s->ell}, {"--nu", &s->nu}, {"--param-scale", &s->param_scale}};
    for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++) {
        if (strcmp(flag, reals[i].flag))
            continue;
        if (parse_double(value, reals[i].target)) {
            snprintf(err, len, "%s: expected a finite number of normal magnitude, got '%s'", flag,
                     value ? value : "");
            return -1;
        }
        return 1;
    }
    if (!strcmp(flag, "--seed")) {
        size_t seed;
        if (parse_size(value, &seed)) {
            snprintf(err, len, "--seed: expected a non-negative integer, got '%s'",
                     value ? value : "");
            return -1;
        }
        s->seed = (uint64_t)seed;
        return 1;
    }
    return 0;
}

int no_spec_arg_or_unknown(no_spec *s, const char *flag, const char *value, char *err,
                           size_t len)
{
    int r = no_spec_arg(s, flag, value, err, len);
    if (r > 0)
        return 0;
    if (r == 0)
        snprintf(err, len, "unknown option '%.60s'", flag);
    return -1;
}
