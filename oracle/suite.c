/* suite.c - see suite.h. */
#include "suite.h"

#include <string.h>

#include "tableau.h"

/* The adjoint kinds the schemes suite covers: every one (discrete,
 * continuous, backsolve). */
#define NO_SUITE_ADJOINTS NO_ADJOINT_COUNT

/* The six field variants every suite draws from. */
static void variant(no_spec *s, int v)
{
    s->q = 0;
    s->M = 0;
    switch (v) {
    case 0:
        s->family = NO_FAMILY_LINEAR;
        break;
    case 1:
        s->family = NO_FAMILY_RFF, s->kernel = NO_KERNEL_GAUSSIAN, s->ell = 1.0, s->q = 24;
        break;
    case 2:
        s->family = NO_FAMILY_RFF, s->kernel = NO_KERNEL_MATERN, s->nu = 2.5, s->q = 24;
        break;
    default:
        s->family = NO_FAMILY_MLP, s->M = 6; /* != L = 8: keeps a missing 1/M and 1/L apart */
        s->activation = v == 3 ? NO_ACT_TANH : v == 4 ? NO_ACT_SOFTPLUS : NO_ACT_RELU;
        break;
    }
}

/* The sizes separate the causes the diagnosis names (docs/check.md), so a
 * bug changes results on every suite by far more than the tolerance
 * (tests/test_suites.c proves it):
 *  - d_out = 3: torch.nn.MSELoss() (the mean over all N d_out squared
 *    errors) is the contract x 2/d_out, the contract itself at d_out = 2
 *    and a missing 1/2 at d_out = 1;
 *  - N, L, M, q, m pairwise distinct: N = 2 would make a missing 1/N a
 *    missing 1/2, and a field scaled by M (no 1/M) or sqrt(q/2) (no rff
 *    scale) is a step scaled by the same factor, so a missing 1/L (a step 1/h:
 *    L, or sqrt(L) under scaling sqrt) must differ from both: M != L,
 *    sqrt(q/2) != L, and under sqrt M != sqrt(L); and a step 1/sqrt(L)
 *    instead of 1/L (a wrong scaling) is the field scaled by sqrt(L), so
 *    q != 2L: q = 24, sqrt(q/2) = 3.46, apart from sqrt(L) = 2.83, m = 2,
 *    L = 8 and the factor 3 of field_scale (the sqrt problems stay linear
 *    and mlp);
 *  - d_in < d_out < D distinct (D >= d_in is required; d_out <= D keeps every
 *    output fitted, proofs-notes/generator.md), so neither A nor B is square
 *    and a transposed A or B fails on its shape. */
static void small(no_spec *s, uint64_t seed)
{
    no_spec_default(s);
    s->N = 12;
    s->d_in = 2;
    s->d_out = 3;
    s->D = 4;
    s->L = 8;
    s->m = 2;
    s->seed = seed;
}

/* deep and wide: the fewest data points and the narrowest state that still
 * keep the sizes apart (N = 3 != 2, d_in = 2 < d_out = 3 < D = 4), so the
 * reference stays fast at large L, q and M. */
static void narrow(no_spec *s, uint64_t seed)
{
    small(s, seed);
    s->N = 3;
    s->m = 1;
}

int no_suite_specs(const char *name, no_spec out[NO_SUITE_MAX])
{
    int n = 0;
    if (!strcmp(name, "smoke")) {
        for (int v = 0; v < 6; v += 2) {
            small(&out[n], 100 + (uint64_t)v);
            variant(&out[n++], v == 4 ? 3 : v == 2 ? 1 : 0);
        }
        return n;
    }
    if (!strcmp(name, "default")) {
        for (int v = 0; v < 6; v++)
            for (int sc = 0; sc < 2; sc++)
                for (int adj = 0; adj < 2; adj++) {
                    no_spec *s = &out[n++];
                    small(s, 1 + (uint64_t)n);
                    variant(s, v);
                    s->scheme = sc ? NO_SCHEME_RK4 : NO_SCHEME_EULER;
                    s->adjoint = adj ? NO_ADJOINT_CONTINUOUS : NO_ADJOINT_DISCRETE;
                }
        /* The sqrt (SDE) scaling, Euler only, with m = 1: the classic ResNet. */
        for (int v = 0; v < 6; v += 3) {
            no_spec *s = &out[n++];
            small(s, 1 + (uint64_t)n);
            variant(s, v);
            s->scaling = NO_SCALING_SQRT;
            s->m = 1;
        }
        return n;
    }
    if (!strcmp(name, "deep")) {
        /* Depth: L = 64, 256, 1024 for linear, rff (Gaussian) and mlp (tanh),
         * Euler and RK4, m = 1, N = 3 (narrow()). */
        const size_t Ls[] = {64, 256, 1024};
        const int vs[] = {0, 1, 3};
        for (int li = 0; li < 3; li++)
            for (int vi = 0; vi < 3; vi++)
                for (int sc = 0; sc < 2; sc++) {
                    no_spec *s = &out[n++];
                    narrow(s, 500 + (uint64_t)n);
                    variant(s, vs[vi]);
                    s->L = Ls[li];
                    s->scheme = sc ? NO_SCHEME_RK4 : NO_SCHEME_EULER;
                }
        return n;
    }
    if (!strcmp(name, "schemes")) {
        /* Every scheme of the table (problem/tableau.c) with every adjoint
         * kind (discrete, continuous, backsolve), the sizes of small() but
         * L = 5, m = 2.  The three adjoints differ by O(tau^order), tau =
         * h/m: at L = 8 those of the fourth- and fifth-order schemes are
         * closer than 100 x the tolerance, so tau is as large as the sizes
         * allow: L = 5 (L = 2 = m makes a missing 1/L a step h instead of
         * h/m, L = 3 a field scaled by 3, L = 4 has sqrt(L) = m), and m = 1
         * for the schemes of order >= 4 (rk4, rk4-38, dopri5, tsit5),
         * whose adjoints are still within 100 x the tolerance at m = 2
         * (measured: 105 x for rk4-38, 0.9 x for tsit5; at m = 1 the
         * closest two hypotheses of the suite are 1.2e3 x apart).  The field variants take turns (scheme + 2
         * adjoint, mod 6, in the order linear, rff Gaussian, mlp tanh, rff
         * Matern, mlp softplus, mlp relu): each adjoint kind meets every
         * variant, the kinds of one scheme meet different ones, and every
         * cause of the diagnosis applies somewhere. */
        static const int vs[] = {0, 1, 3, 2, 4, 5};
        for (int sc = 0; sc < NO_SCHEME_COUNT; sc++)
            for (int adj = 0; adj < NO_SUITE_ADJOINTS; adj++) {
                no_spec *s = &out[n];
                small(s, 900 + (uint64_t)n);
                variant(s, vs[(sc + 2 * adj) % 6]);
                s->L = 5;
                s->m = no_tableau_of((no_scheme_id)sc)->order >= 4 ? 1 : 2;
                s->scheme = (no_scheme_id)sc;
                s->adjoint = (no_adjoint)adj;
                n++;
            }
        return n;
    }
    if (!strcmp(name, "wide")) {
        /* Width: q = 1024, 4096 (rff Gaussian and Matern-5/2), M = 1024, 4096
         * (mlp tanh); Euler m = 1, N = 3 (narrow()), L = 4 (!= N). */
        const size_t widths[] = {1024, 4096};
        const int vs[] = {1, 2, 3};
        for (int wi = 0; wi < 2; wi++)
            for (int vi = 0; vi < 3; vi++) {
                no_spec *s = &out[n++];
                narrow(s, 700 + (uint64_t)n);
                variant(s, vs[vi]);
                s->L = 4;
                if (s->family == NO_FAMILY_RFF)
                    s->q = widths[wi];
                else
                    s->M = widths[wi];
            }
        return n;
    }
    return -1;
}

const char *no_suite_names(void)
{
    return "smoke default deep wide schemes";
}

double no_suite_cost(const no_spec *s)
{
    const no_tableau *t = no_tableau_of(s->scheme);
    double D = (double)s->D;
    double field = s->family == NO_FAMILY_RFF   ? 2 * D * (double)s->q
                   : s->family == NO_FAMILY_MLP ? 2 * D * (double)s->M
                                                : D * D;
    return (double)s->N * (double)s->L * (double)s->m * (double)(t ? t->stages : 1) * field;
}
