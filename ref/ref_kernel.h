/* ref_kernel.h - the `kernel` family of SPEC 2 and its RKHS gradient descent
 * (SPEC 4), computed exactly in MPFR: v_k = sum_c k(., c) alpha_c, a finite
 * kernel expansion per layer, and gradient descent that appends centres.
 * Derivations: proofs-notes/kernel-gd.md.
 *
 * Kernels (D = state dimension, r = |z - z'|):
 *   gaussian(ell):  k = exp(-r^2 / (2 ell^2))        (Omega rows ~ N(0, I/ell^2))
 *   matern(nu), nu = p + 1/2, p = 0..3, s = sqrt(2 nu) r:
 *                   k = e^-s,  (1 + s) e^-s,  (1 + s + s^2/3) e^-s,
 *                       (1 + s + 2 s^2/5 + s^3/15) e^-s
 *                   (Omega rows Student-t with 2 nu dof, unit scale: the
 *                   convention of problem/generate.c, generator.md section 4)
 *   features(m):    k_q(z, z') = phi(z) . phi(z'), phi of an rff model's
 *                   Omega and beta (sqrt(2/q) and the phase: the contract).
 * The gradient in z of the matern-1/2 kernel at z = z' is taken as 0 (the
 * kernel is not differentiable there; relu'(0) = 0 in the same spirit).
 */
#ifndef NO_REF_KERNEL_H
#define NO_REF_KERNEL_H

#include "ref.h"

typedef struct ref_kernel ref_kernel;

/* NULL: no memory, or (matern) nu not one of 0.5, 1.5, 2.5, 3.5. */
ref_kernel *ref_kernel_gaussian(size_t D, double ell, mpfr_prec_t prec);
ref_kernel *ref_kernel_matern(size_t D, double nu, mpfr_prec_t prec);
/* k_q of the rff model m (m must outlive the kernel); NULL unless family rff. */
ref_kernel *ref_kernel_features(const ref_model *m);
void ref_kernel_free(ref_kernel *k);

/* out = k(z, c); grad = d/dz k(z, c) (D numbers).  z, c: D numbers. */
void ref_kernel_eval(ref_kernel *k, mpfr_t out, mpfr_t *z, mpfr_t *c);
void ref_kernel_grad(ref_kernel *k, mpfr_t *grad, mpfr_t *z, mpfr_t *c);

/* A field per layer, v_k(z) = sum_c k(z, c) alpha_c, with room for cap[k]
 * centres in layer k.  ref_kernel_gd builds one; eval and vjp are exposed
 * for tests and later commands. */
typedef struct ref_kernel_expansion ref_kernel_expansion;
size_t ref_kernel_expansion_count(const ref_kernel_expansion *e, size_t k);
void ref_kernel_expansion_eval(ref_kernel_expansion *e, size_t k, mpfr_t *z, mpfr_t *v);
/* zbar = Dv_k(z)^T w = sum_c (alpha_c . w) grad_z k(z, c). */
void ref_kernel_expansion_vjp(ref_kernel_expansion *e, size_t k, mpfr_t *z, mpfr_t *w,
                              mpfr_t *zbar);
void ref_kernel_expansion_free(ref_kernel_expansion *e);
/* |v_k restricted to its first count centres|_V^2 = sum_{c,c' < count}
 * a_c^T k(c, c') a_c', at the expansion's precision.  Gradient
 * descent appends centres, so the first count centres of layer k are the
 * field of an earlier iterate: |v^n|_H^2 = h sum_k norm2(k, n N n_k S). */
void ref_kernel_expansion_norm2(ref_kernel_expansion *e, size_t k, size_t count, mpfr_t out);

/* What a run records, iterates j = 0..iters: F(v^j), its outputs B z_L,
 * the centres of v^j (all layers), and for j < iters the squared metric norm
 * of the gradient, ||G(v^j)||^2 = h sum_k sum_{c,c'} a_c^T k(c, c') a_c'. */
typedef struct {
    size_t iters;
    mpfr_t *F;              /* iters + 1 */
    mpfr_t *gnorm2;         /* iters */
    size_t *centres;        /* iters + 1 */
    ref_array output;       /* (iters + 1) x N x d_out */
    ref_kernel_expansion *v; /* v^iters, the final field */
} ref_kernel_trace;

void ref_kernel_trace_clear(ref_kernel_trace *tr);

/* Memory of ref_kernel_gd (bytes), before any is taken.  Layer k ends with
 * C_k = iters N n_k S centres (n_k substeps in layer k, S stages of the
 * scheme); each holds 2 D numbers (q + 2 D for features), plus the states,
 * (nsteps + 1) N D, and scratch of max_k C_k (D + 3) numbers. */
double ref_kernel_gd_memory(const ref_model *m, const ref_kernel *k, size_t iters);

/* RKHS gradient descent v^{j+1} = v^j - eta G(v^j) from v^0 = 0, iters
 * steps, on m's data, step grid and scheme (discrete adjoint only), at
 * m->prec; G_k = (1/h) sum_{points, substeps, stages} k(., Y) lam (the
 * stage points Y and stage cotangents lam of conventions.md).
 * Time of step j: about 4 j N^2 S^2 sum_k n_k^2 kernel terms of O(D) (O(q)
 * for features), so iters steps cost O(iters^2 N^2 S^2 L m^2 D).
 * Refuses (-1, err naming the centre count and bytes) a run whose
 * ref_kernel_gd_memory exceeds max_bytes (0: 1 GiB). */
int ref_kernel_gd(const ref_model *m, ref_kernel *k, double eta, size_t iters,
                  double max_bytes, ref_kernel_trace *tr, char *err, size_t len);

#endif
