/* ref_eig.c - cyclic Jacobi for symmetric eigenvalues in MPFR (ref_eig.h).
 *
 * One sweep visits every pair p < q in row order and, unless a_pq is already
 * negligible, applies the rotation J(p, q, theta) that zeroes it:
 * A <- J^T A J.  Each rotation is orthogonal, so the eigenvalues never
 * change (up to the rounding of the rotation, a backward error of
 * O(2^-wp |A|) per sweep); the off-diagonal mass sum a_pq^2 decreases by
 * a_pq^2 at each rotation, and the method converges quadratically once the
 * off-diagonal part is small (Golub and Van Loan, 8.5.3).  When a sweep
 * finds every a_pq negligible, the diagonal is the spectrum.
 *
 * Negligible: |a_pq| <= 2^-wp sqrt(|a_pp a_qq|), the test of Demmel and
 * Veselic ("Jacobi's method is more accurate than QR", SIAM J. Matrix Anal.
 * Appl. 13, 1992): dropping such an a_pq perturbs D^-1/2 A D^-1/2 (D the
 * diagonal) by 2^-wp only, so the eigenvalues of a positive definite A move
 * by a *relative* 2^-wp times the condition number of that scaled matrix,
 * not by 2^-wp |A|.  Kernel matrices have unit diagonal, so tiny smallest
 * eigenvalues keep their leading bits.  A second, absolute floor
 * |a_pq| <= 2^-2wp |A|_F ends the iteration on indefinite matrices with
 * zero diagonal entries, where the first test could never be met; it moves
 * eigenvalues by at most n 2^-2wp |A|_F, below the working precision.
 */
#include <stdio.h>
#include <stdlib.h>

#include "ref.h"
#include "ref_eig.h"

/* Rotation temporaries, all at the working precision. */
typedef struct {
    mpfr_t theta, t, c, s, tau, g, h, x, y;
} jacobi_tmp;

static void tmp_init(jacobi_tmp *j, mpfr_prec_t wp)
{
    mpfr_inits2(wp, j->theta, j->t, j->c, j->s, j->tau, j->g, j->h, j->x, j->y, (mpfr_ptr)0);
}

static void tmp_clear(jacobi_tmp *j)
{
    mpfr_clears(j->theta, j->t, j->c, j->s, j->tau, j->g, j->h, j->x, j->y, (mpfr_ptr)0);
}

/* Whether a_pq is negligible (the two tests of the file comment); floor is
 * 2^-2wp |A|_F. */
static int negligible(mpfr_t *a, size_t n, size_t p, size_t q, mpfr_prec_t wp, mpfr_t floor,
                      jacobi_tmp *j)
{
    mpfr_t *apq = &a[p * n + q];
    if (mpfr_zero_p(*apq))
        return 1;
    mpfr_abs(j->x, *apq, MPFR_RNDN);
    if (mpfr_lessequal_p(j->x, floor))
        return 1;
    /* a_pq^2 <= 2^-2wp |a_pp a_qq|, without a square root */
    mpfr_sqr(j->x, *apq, MPFR_RNDN);
    mpfr_mul(j->y, a[p * n + p], a[q * n + q], MPFR_RNDN);
    mpfr_abs(j->y, j->y, MPFR_RNDN);
    mpfr_mul_2si(j->y, j->y, -2 * (long)wp, MPFR_RNDN);
    return mpfr_lessequal_p(j->x, j->y);
}

/* The rotation in (p, q) that zeroes a_pq, in Rutishauser's form (Numerical
 * Recipes 11.1; Golub and Van Loan 8.5.2): theta = (a_qq - a_pp)/(2 a_pq),
 * t = tan of the angle, the smaller root of t^2 + 2 theta t - 1 = 0 (angle
 * <= pi/4, which is what makes the sweeps converge), c = 1/sqrt(1 + t^2),
 * s = t c, tau = s/(1 + c).  The diagonal moves by -+ t a_pq exactly as the
 * 2 x 2 eigenvalues do; the other entries of rows/columns p and q are
 * updated as g - s (h + g tau), h + s (g - h tau), which is c g - s h and
 * s g + c h written to lose less to cancellation. */
static void rotate(mpfr_t *a, size_t n, size_t p, size_t q, jacobi_tmp *j)
{
    mpfr_t *apq = &a[p * n + q];
    mpfr_sub(j->theta, a[q * n + q], a[p * n + p], MPFR_RNDN);
    mpfr_div(j->theta, j->theta, *apq, MPFR_RNDN);
    mpfr_div_2ui(j->theta, j->theta, 1, MPFR_RNDN);
    /* t = sign(theta) / (|theta| + sqrt(theta^2 + 1)); theta = 0 gives t = 1 */
    mpfr_set_ui(j->c, 1, MPFR_RNDN);
    mpfr_hypot(j->t, j->theta, j->c, MPFR_RNDN);
    mpfr_abs(j->x, j->theta, MPFR_RNDN);
    mpfr_add(j->t, j->t, j->x, MPFR_RNDN);
    mpfr_ui_div(j->t, 1, j->t, MPFR_RNDN);
    if (mpfr_sgn(j->theta) < 0)
        mpfr_neg(j->t, j->t, MPFR_RNDN);
    /* c = 1/sqrt(1 + t^2), s = t c, tau = s/(1 + c) */
    mpfr_set_ui(j->x, 1, MPFR_RNDN);
    mpfr_hypot(j->c, j->t, j->x, MPFR_RNDN);
    mpfr_ui_div(j->c, 1, j->c, MPFR_RNDN);
    mpfr_mul(j->s, j->t, j->c, MPFR_RNDN);
    mpfr_add_ui(j->tau, j->c, 1, MPFR_RNDN);
    mpfr_div(j->tau, j->s, j->tau, MPFR_RNDN);
    /* the diagonal */
    mpfr_mul(j->x, j->t, *apq, MPFR_RNDN);
    mpfr_sub(a[p * n + p], a[p * n + p], j->x, MPFR_RNDN);
    mpfr_add(a[q * n + q], a[q * n + q], j->x, MPFR_RNDN);
    mpfr_set_zero(a[p * n + q], 1);
    mpfr_set_zero(a[q * n + p], 1);
    /* rows and columns p, q; the matrix is kept fully symmetric */
    for (size_t r = 0; r < n; r++) {
        if (r == p || r == q)
            continue;
        mpfr_set(j->g, a[r * n + p], MPFR_RNDN);
        mpfr_set(j->h, a[r * n + q], MPFR_RNDN);
        /* a_rp = g - s (h + g tau) */
        mpfr_mul(j->x, j->g, j->tau, MPFR_RNDN);
        mpfr_add(j->x, j->x, j->h, MPFR_RNDN);
        mpfr_mul(j->x, j->x, j->s, MPFR_RNDN);
        mpfr_sub(a[r * n + p], j->g, j->x, MPFR_RNDN);
        /* a_rq = h + s (g - h tau) */
        mpfr_mul(j->y, j->h, j->tau, MPFR_RNDN);
        mpfr_sub(j->y, j->g, j->y, MPFR_RNDN);
        mpfr_mul(j->y, j->y, j->s, MPFR_RNDN);
        mpfr_add(a[r * n + q], j->h, j->y, MPFR_RNDN);
        mpfr_set(a[p * n + r], a[r * n + p], MPFR_RNDN);
        mpfr_set(a[q * n + r], a[r * n + q], MPFR_RNDN);
    }
}

static void free_matrix(mpfr_t *a, size_t count)
{
    if (!a)
        return;
    for (size_t i = 0; i < count; i++)
        mpfr_clear(a[i]);
    free(a);
}

int ref_eig_sym(mpfr_t *A, size_t n, mpfr_t *w, char *err, size_t len)
{
    if (n < 1 || n > REF_EIG_N_MAX) {
        snprintf(err, len, "eigenvalues: matrix order %zu outside 1..%d", n, REF_EIG_N_MAX);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t k = i; k < n; k++)
            if (!mpfr_number_p(A[i * n + k])) {
                snprintf(err, len, "eigenvalues: entry (%zu, %zu) is not finite", i, k);
                return -1;
            }
    /* 16 guard bits: the result is rounded once more into w, and sweeps of
     * rotations accumulate O(n) roundings per entry. */
    mpfr_prec_t wp = mpfr_get_prec(w[0]) + 16;
    mpfr_t *a = malloc(n * n * sizeof *a);
    if (!a) {
        snprintf(err, len, "eigenvalues: out of memory (order %zu)", n);
        return -1;
    }
    /* the full symmetric copy, from the upper triangle: exact for entries
     * of at most wp bits (every use in ref/ and oracle/), else rounded once */
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < n; k++) {
            mpfr_init2(a[i * n + k], wp);
            mpfr_set(a[i * n + k], i <= k ? A[i * n + k] : A[k * n + i], MPFR_RNDN);
        }
    jacobi_tmp j;
    tmp_init(&j, wp);
    mpfr_t floor;
    mpfr_init2(floor, wp);
    mpfr_set_zero(floor, 1);
    for (size_t i = 0; i < n * n; i++)
        mpfr_fma(floor, a[i], a[i], floor, MPFR_RNDU);
    mpfr_sqrt(floor, floor, MPFR_RNDU);
    mpfr_mul_2si(floor, floor, -2 * (long)wp, MPFR_RNDU);
    int converged = n == 1;
    for (int sweep = 0; sweep < REF_EIG_SWEEPS && !converged; sweep++) {
        size_t rotations = 0;
        for (size_t p = 0; p + 1 < n; p++)
            for (size_t q = p + 1; q < n; q++) {
                if (negligible(a, n, p, q, wp, floor, &j)) {
                    mpfr_set_zero(a[p * n + q], 1);
                    mpfr_set_zero(a[q * n + p], 1);
                    continue;
                }
                rotate(a, n, p, q, &j);
                rotations++;
            }
        converged = rotations == 0;
    }
    mpfr_clear(floor);
    tmp_clear(&j);
    if (!converged) {
        free_matrix(a, n * n);
        snprintf(err, len, "eigenvalues: Jacobi did not converge in %d sweeps (order %zu)",
                 REF_EIG_SWEEPS, n);
        return -1;
    }
    /* the diagonal, sorted ascending (insertion sort of n numbers by swap) */
    for (size_t i = 0; i < n; i++)
        mpfr_swap(a[i], a[i * n + i]);
    for (size_t i = 1; i < n; i++)
        for (size_t k = i; k > 0 && mpfr_less_p(a[k], a[k - 1]); k--)
            mpfr_swap(a[k], a[k - 1]);
    for (size_t i = 0; i < n; i++)
        mpfr_set(w[i], a[i], MPFR_RNDN);
    free_matrix(a, n * n);
    return 0;
}

static mpfr_prec_t guard_bits(mpfr_prec_t prec)
{
    return prec / 2 > 32 ? prec / 2 : 32;
}

int ref_eig_sym_bits(mpfr_t *A, size_t n, mpfr_t *w, double *bits, char *err, size_t len)
{
    if (ref_eig_sym(A, n, w, err, len))
        return -1;
    mpfr_prec_t prec = mpfr_get_prec(w[0]);
    mpfr_t *hi = malloc(n * sizeof *hi);
    if (!hi) {
        snprintf(err, len, "eigenvalues: out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        mpfr_init2(hi[i], prec + guard_bits(prec));
    int rc = ref_eig_sym(A, n, hi, err, len);
    for (size_t i = 0; i < n; i++) {
        if (!rc)
            bits[i] = ref_correct_bits(w[i], hi[i], prec);
        mpfr_clear(hi[i]);
    }
    free(hi);
    return rc;
}

double ref_eig_min_bits(mpfr_t *A, size_t n, mpfr_t lam, char *err, size_t len)
{
    if (n < 1 || n > REF_EIG_N_MAX) {
        snprintf(err, len, "eigenvalues: matrix order %zu outside 1..%d", n, REF_EIG_N_MAX);
        return -1;
    }
    mpfr_prec_t prec = mpfr_get_prec(lam);
    mpfr_t *w = malloc(n * sizeof *w);
    double *bits = malloc(n * sizeof *bits);
    if (!w || !bits) {
        free(w);
        free(bits);
        snprintf(err, len, "eigenvalues: out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        mpfr_init2(w[i], prec);
    double b = -1;
    if (!ref_eig_sym_bits(A, n, w, bits, err, len)) {
        mpfr_set(lam, w[0], MPFR_RNDN);
        b = bits[0];
    }
    for (size_t i = 0; i < n; i++)
        mpfr_clear(w[i]);
    free(w);
    free(bits);
    return b;
}
