/* generate.c - every array of a problem from its seed (proofs-notes/generator.md).
 *
 * Each array has its own stream (rng.h), filled in row-major order:
 *   X, Y         i.i.d. N(0, 1)
 *   A (D x d_in) A[r][c] = [r mod d_in == c] / sqrt(n_c), n_c = #{r : r mod d_in == c}:
 *                the "[I; I; ...]/sqrt(D/d_in)" lifting of SPEC 1, with orthonormal
 *                columns (A^T A = I) even when d_in does not divide D.  Identity if D = d_in.
 *   B (d_out x D) B[o][r] = [r mod d_out == o] / sqrt(n_o): orthonormal rows when
 *                d_out <= D; rows d_out > D are zero (a read-out wider than the
 *                state cannot have orthonormal rows; such problems stay valid).
 *   Omega (q x D) gaussian: N(0, I / ell^2) rows; matern: multivariate Student-t rows
 *                with 2 nu degrees of freedom and unit scale, w = g sqrt(2 nu / chi2_{2 nu}),
 *                one chi-square per row (SPEC 2).
 *   beta (q)     U[0, 2 pi), 2 pi u rounded once (MPFR).
 *   W            linear: param_scale N(0,1) / sqrt(D); rff: param_scale N(0,1)
 *                (so that W phi(z) has O(param_scale) entries whatever q).
 *   a, u, b      mlp: a ~ param_scale N(0,1), u ~ N(0,1)/sqrt(D), b ~ N(0,1).
 */
#include <math.h>
#include <mpfr.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "problem.h"
#include "rng.h"

static double *alloc_array(size_t n)
{
    return n ? calloc(n, sizeof(double)) : NULL;
}

static void fill_normal(double *v, size_t n, double scale, uint64_t seed, uint64_t stream)
{
    no_rng r;
    no_rng_init(&r, seed, stream);
    for (size_t i = 0; i < n; i++)
        v[i] = scale * no_rng_normal(&r);
}

/* Rows of R with orthonormal pattern: M[r][c] = [r mod cols == c]/sqrt(n_c) for
 * a rows x cols matrix (used as A), transposed pattern for B. */
static void fill_lifting(double *A, size_t D, size_t d_in)
{
    for (size_t c = 0; c < d_in; c++) {
        size_t nc = (D - c + d_in - 1) / d_in; /* #{r < D : r mod d_in == c} */
        double v = 1.0 / sqrt((double)nc);
        for (size_t r = c; r < D; r += d_in)
            A[r * d_in + c] = v;
    }
}

static void fill_readout(double *B, size_t d_out, size_t D)
{
    for (size_t o = 0; o < d_out && o < D; o++) {
        size_t no = (D - o + d_out - 1) / d_out;
        double v = 1.0 / sqrt((double)no);
        for (size_t r = o; r < D; r += d_out)
            B[o * D + r] = v;
    }
}

static void fill_omega(double *Om, const no_spec *s)
{
    no_rng r;
    no_rng_init(&r, s->seed, NO_STREAM_OMEGA);
    for (size_t j = 0; j < s->q; j++) {
        double *row = Om + j * s->D;
        if (s->kernel == NO_KERNEL_GAUSSIAN) {
            for (size_t c = 0; c < s->D; c++)
                row[c] = no_rng_normal(&r) / s->ell;
        } else {
            for (size_t c = 0; c < s->D; c++)
                row[c] = no_rng_normal(&r);
            double chi = no_rng_chisq(&r, 2.0 * s->nu);
            double f = sqrt(2.0 * s->nu / chi);
            for (size_t c = 0; c < s->D; c++)
                row[c] *= f;
        }
    }
}

static void fill_phase(double *beta, const no_spec *s)
{
    no_rng r;
    no_rng_init(&r, s->seed, NO_STREAM_BETA);
    mpfr_t t;
    mpfr_init2(t, 64);
    for (size_t j = 0; j < s->q; j++) {
        mpfr_const_pi(t, MPFR_RNDN);
        mpfr_mul_d(t, t, 2.0 * no_rng_uniform(&r), MPFR_RNDN);
        beta[j] = mpfr_get_d(t, MPFR_RNDN);
    }
    mpfr_clear(t);
}

#define NO_NARRAYS 10

/* The array fields of a problem, in a fixed order (that of array_sizes). */
static void array_slots(no_problem *p, double **slot[NO_NARRAYS])
{
    double **s[NO_NARRAYS] = {&p->X,    &p->Y, &p->A, &p->B, &p->Omega,
                              &p->beta, &p->W, &p->a, &p->u, &p->b};
    memcpy(slot, s, sizeof s);
}

void no_problem_free(no_problem *p)
{
    double **slot[NO_NARRAYS];
    array_slots(p, slot);
    for (int i = 0; i < NO_NARRAYS; i++) {
        free(*slot[i]);
        *slot[i] = NULL;
    }
}

/* Sizes of every array of a spec, in the order of no_problem's fields. */
static void array_sizes(const no_spec *s, size_t n[NO_NARRAYS])
{
    int rff = s->family == NO_FAMILY_RFF, mlp = s->family == NO_FAMILY_MLP;
    n[0] = s->N * s->d_in;
    n[1] = s->N * s->d_out;
    n[2] = s->D * s->d_in;
    n[3] = s->d_out * s->D;
    n[4] = rff ? s->q * s->D : 0;
    n[5] = rff ? s->q : 0;
    n[6] = mlp ? 0 : s->L * s->D * (rff ? s->q : s->D);
    n[7] = mlp ? s->L * s->M * s->D : 0;
    n[8] = n[7];
    n[9] = mlp ? s->L * s->M : 0;
}

static int alloc_all(no_problem *p, const no_spec *s)
{
    memset(p, 0, sizeof *p);
    p->spec = *s;
    size_t n[NO_NARRAYS];
    array_sizes(s, n);
    double **slot[NO_NARRAYS];
    array_slots(p, slot);
    for (int i = 0; i < NO_NARRAYS; i++) {
        *slot[i] = alloc_array(n[i]);
        if (n[i] && !*slot[i]) {
            no_problem_free(p);
            return -1;
        }
    }
    return 0;
}

int no_problem_generate(no_problem *p, const no_spec *s, char *err, size_t len)
{
    if (no_spec_validate(s, NO_REQ_NONE, err, len))
        return -1;
    if (alloc_all(p, s)) {
        if (err && len)
            snprintf(err, len, "out of memory allocating the problem arrays");
        return -1;
    }
    fill_normal(p->X, s->N * s->d_in, 1.0, s->seed, NO_STREAM_X);
    fill_normal(p->Y, s->N * s->d_out, 1.0, s->seed, NO_STREAM_Y);
    fill_lifting(p->A, s->D, s->d_in);
    fill_readout(p->B, s->d_out, s->D);
    switch (s->family) {
    case NO_FAMILY_LINEAR:
        fill_normal(p->W, s->L * s->D * s->D, s->param_scale / sqrt((double)s->D), s->seed,
                    NO_STREAM_W);
        break;
    case NO_FAMILY_RFF:
        fill_omega(p->Omega, s);
        fill_phase(p->beta, s);
        fill_normal(p->W, s->L * s->D * s->q, s->param_scale, s->seed, NO_STREAM_W);
        break;
    case NO_FAMILY_MLP:
        fill_normal(p->a, s->L * s->M * s->D, s->param_scale, s->seed, NO_STREAM_A);
        fill_normal(p->u, s->L * s->M * s->D, 1.0 / sqrt((double)s->D), s->seed, NO_STREAM_U);
        fill_normal(p->b, s->L * s->M, 1.0, s->seed, NO_STREAM_B);
        break;
    }
    return 0;
}

int no_problem_copy(no_problem *dst, const no_problem *src)
{
    if (alloc_all(dst, &src->spec))
        return -1;
    size_t n[NO_NARRAYS];
    array_sizes(&src->spec, n);
    double **from[NO_NARRAYS], **to[NO_NARRAYS];
    array_slots((no_problem *)src, from);
    array_slots(dst, to);
    for (int i = 0; i < NO_NARRAYS; i++)
        if (n[i])
            memcpy(*to[i], *from[i], n[i] * sizeof(double));
    return 0;
}
