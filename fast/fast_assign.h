/* fast_assign.h - the linear assignment problem in double, the fast/
 * counterpart of ref/ref_assign.h (which certifies what this returns).
 *
 *   minimise  sum_i c[i][pi(i)]  over the permutations pi of 0..n-1,
 *
 * solved exactly (up to the rounding of the dual updates) by the
 * shortest-augmenting-path form of the Hungarian method (Kuhn-Munkres with
 * potentials, as in Jonker and Volgenant 1987 without their initialisation
 * heuristics): n phases, each a Dijkstra search over reduced costs
 * c_ij - u_i - v_j >= 0 in O(n^2) time, so O(n^3) time in the worst case and
 * O(n) memory besides the cost matrix.  The potentials it keeps are the dual
 * solution of the linear programme: u_i + v_j <= c_ij for every i, j, with
 * equality on the pairs (i, pi(i)), up to rounding.  Costs are row-major,
 * n x n, finite.  Used for the COT distance (oracle/cot.h,
 * proofs-notes/cot-distance.md). */
#ifndef FAST_ASSIGN_H
#define FAST_ASSIGN_H

#include <stddef.h>

/* An optimal permutation into perm (perm[i] = the column of row i), its cost
 * (summed in row order) into *cost, and the potentials into u (rows) and v
 * (columns); u, v and cost may be NULL.  n = 0 is the empty assignment.
 * Returns 0, or -1 with err filled (a non-finite cost, no memory). */
int fast_assign_solve(size_t n, const double *c, size_t *perm, double *u, double *v,
                      double *cost, char *err, size_t len);

/* The cost matrix of two point sets: c[i n + j] = |x_i - y_j|^2, x and y
 * n x dim row-major, plus ((kx_i - ky_j)/L)^2 when kx and ky (layer indices)
 * are not NULL: the ground cost of the joint measure on (layer, parameter)
 * space with layer position s_k = k/L.  Returns 0, or -1 when some entry is
 * not finite (overflow of the squares). */
int fast_assign_sqdist(size_t n, size_t dim, const double *x, const double *y,
                       const size_t *kx, const size_t *ky, size_t L, double *c);

#endif
