/* fast_kernel.h - RKHS (kernel) gradient descent in double precision, the
 * fast/ counterpart of ref/ref_kernel.h, written independently of it: it
 * shares only problem/ (sizes, data, tableaux) and the formulas of
 * proofs-notes/kernel-gd.md.
 *
 * Kernels (r = |z - c|), the conventions of kernel-gd.md section 1:
 *   gaussian(ell):  k = exp(-r^2 / (2 ell^2))
 *   matern(nu), nu = p + 1/2, p = 0..3, s = sqrt(2 nu) r:
 *     k = P_p(s) e^-s with P = 1, 1 + s, 1 + s + s^2/3, 1 + s + 2 s^2/5 + s^3/15;
 *   grad_z k = psi (z - c), psi = -(1/ell^2) k (gaussian), -e^-s / r (p = 0,
 *   taken 0 at r = 0), -3 e^-s, -(5/3)(1 + s) e^-s, -(7/15)(3 + 3s + s^2) e^-s.
 *
 * Linear algebra through CBLAS (Debian's libopenblas-dev): an expansion
 * v(z) = sum_c k(z, c) alpha_c at n points is the n x C kernel matrix times
 * the C x D coefficients (cblas_dgemm); the squared distances come from one
 * dgemm as |z|^2 + |c|^2 - 2 z.c (clamped at 0) for the kernels that are
 * Lipschitz in r^2 (gaussian, matern nu >= 3/2) and from exact differences
 * for matern-1/2, which is not (kernel-gd.md section 6).
 *
 * Matrices are row-major, one point per row.
 */
#ifndef FAST_KERNEL_H
#define FAST_KERNEL_H

#include <stddef.h>

#include "problem.h"

typedef struct {
    int matern; /* 0: gaussian, 1: matern */
    int p;      /* matern: nu = p + 1/2 */
    double a;   /* gaussian: 1/(2 ell^2); matern: sqrt(2 nu) */
} fast_kernel;

/* 0, or -1 for ell not finite and > 0 / nu not one of 0.5, 1.5, 2.5, 3.5. */
int fast_kernel_gaussian(fast_kernel *k, double ell);
int fast_kernel_matern(fast_kernel *k, double nu);

/* k and psi (grad_z k = psi (z - c)) at squared distance r2 >= 0. */
void fast_kernel_radial(const fast_kernel *k, double r2, double *kv, double *psi);

/* K (n x C, leading dimension C) = k(Z_i, Ctr_c); psi likewise unless NULL.
 * Z is n x D, Ctr is C x D.  work: n + C doubles.  The BLAS route for the
 * smooth kernels, exact differences for matern-1/2. */
void fast_kernel_matrix(const fast_kernel *k, size_t n, const double *Z, size_t C,
                        const double *Ctr, size_t D, double *K, double *psi, double *work);
/* The same from a plain double loop over exact differences (for tests). */
void fast_kernel_matrix_direct(const fast_kernel *k, size_t n, const double *Z, size_t C,
                               const double *Ctr, size_t D, double *K, double *psi);

/* One field per layer, v_l = sum_c k(., c) alpha_c, room for cap[l] centres
 * in layer l, evaluated at up to nmax points at a time. */
typedef struct fast_kernel_expansion fast_kernel_expansion;
fast_kernel_expansion *fast_kernel_expansion_new(const fast_kernel *k, size_t L, size_t D,
                                                 const size_t *cap, size_t nmax);
void fast_kernel_expansion_free(fast_kernel_expansion *e);
size_t fast_kernel_expansion_count(const fast_kernel_expansion *e, size_t l);
/* Append n centres (rows of Ctr) with coefficients (rows of Alpha) to layer
 * l; -1 if they do not fit in cap[l]. */
int fast_kernel_expansion_add(fast_kernel_expansion *e, size_t l, size_t n, const double *Ctr,
                              const double *Alpha);
/* V (n x D) = v_l(Z_i); n <= nmax. */
void fast_kernel_expansion_eval(fast_kernel_expansion *e, size_t l, size_t n, const double *Z,
                                double *V);
/* Zbar_i = Dv_l(Z_i)^T W_i = sum_c (alpha_c . W_i) psi_ic (Z_i - c). */
void fast_kernel_expansion_vjp(fast_kernel_expansion *e, size_t l, size_t n, const double *Z,
                               const double *W, double *Zbar);

/* What a run records, iterates j = 0..iters: F(v^j), the outputs B z_L
 * ((iters + 1) x N x d_out), the centre count of v^j; for j < iters
 * ||G(v^j)||^2 = h sum_l alpha^T K alpha (alpha = lam / h) and its absolute
 * form h sum_l sum_{c,c'} |alpha_c| |alpha_c'| |k(c, c')| (the Gram sum's
 * condition: gnorm2_abs / gnorm2), and lip[j] = h sum_l max_i |Dv_l^j(z_i)|_F
 * over layer l's substep start states (the growth exponent Lambda of
 * proofs-notes/tolerance.md along this run). */
typedef struct {
    size_t iters;
    double *F, *gnorm2, *gnorm2_abs, *lip;
    size_t *centres;
    double *output;
    fast_kernel_expansion *v; /* v^iters */
} fast_kernel_trace;

void fast_kernel_trace_clear(fast_kernel_trace *tr);

/* Bytes fast_kernel_gd takes, before any is taken: layer l ends with
 * iters N m S centres (2 D doubles each), plus the states, the scheme's
 * stage buffers and the kernel-matrix scratch. */
double fast_kernel_gd_memory(const no_spec *s, size_t iters);

/* v^{j+1} = v^j - eta G(v^j) from v^0 = 0 on p's data (X, Y, A, B), its
 * uniform step grid (h, m substeps) and scheme, discrete adjoint (the exact
 * gradient); G_l = (1/h) sum_{points, substeps, stages} k(., Y) lam.
 * Refuses (-1, err naming the centres and bytes) a run whose
 * fast_kernel_gd_memory exceeds max_bytes (0: 1 GiB). */
int fast_kernel_gd(const no_problem *p, const fast_kernel *k, double eta, size_t iters,
                   double max_bytes, fast_kernel_trace *tr, char *err, size_t len);

#endif
