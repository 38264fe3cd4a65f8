/* fast_assign.c - Hungarian method by shortest augmenting paths
 * (fast_assign.h).  Rows are added one at a time; for row i a Dijkstra
 * search over the reduced costs finds the cheapest alternating path from i
 * to a free column, the potentials are moved by the search's distances (so
 * that the reduced costs stay >= 0 and are 0 on the new matching), and the
 * path is flipped.  Indices are shifted by one so that column 0 is the
 * search's virtual root (the layout of the classical compact
 * formulation). */
#include <math.h>
#include <stdlib.h>

#include "fast_assign.h"
#include "problem.h"

int fast_assign_solve(size_t n, const double *c, size_t *perm, double *u, double *v,
                      double *cost, char *err, size_t len)
{
    if (n == 0) {
        if (cost)
            *cost = 0;
        return 0;
    }
    for (size_t i = 0; i < n * n; i++)
        if (!isfinite(c[i]))
            return no_errorf(err, len, "assignment: cost (%zu, %zu) is not finite", i / n,
                             i % n);
    /* pu, pv: potentials; match[j]: the row (1-based) matched to column j;
     * way[j]: the previous column on the shortest path to j. */
    double *pu = calloc(n + 1, sizeof *pu), *pv = calloc(n + 1, sizeof *pv);
    double *minv = malloc((n + 1) * sizeof *minv);
    size_t *match = calloc(n + 1, sizeof *match), *way = calloc(n + 1, sizeof *way);
    char *used = malloc(n + 1);
    if (!pu || !pv || !minv || !match || !way || !used) {
        free(pu), free(pv), free(minv), free(match), free(way), free(used);
        return no_errorf(err, len, "assignment: out of memory (n = %zu)", n);
    }
    for (size_t i = 1; i <= n; i++) {
        match[0] = i;
        size_t j0 = 0;
        for (size_t j = 0; j <= n; j++) {
            minv[j] = INFINITY;
            used[j] = 0;
        }
        do {
            used[j0] = 1;
            size_t i0 = match[j0], j1 = 0;
            double delta = INFINITY;
            const double *row = c + (i0 - 1) * n - 1;
            double ui = pu[i0];
            for (size_t j = 1; j <= n; j++) {
                if (used[j])
                    continue;
                double cur = row[j] - ui - pv[j];
                if (cur < minv[j]) {
                    minv[j] = cur;
                    way[j] = j0;
                }
                if (minv[j] < delta) {
                    delta = minv[j];
                    j1 = j;
                }
            }
            for (size_t j = 0; j <= n; j++)
                if (used[j]) {
                    pu[match[j]] += delta;
                    pv[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            j0 = j1;
        } while (match[j0] != 0);
        do {
            size_t j1 = way[j0];
            match[j0] = match[j1];
            j0 = j1;
        } while (j0);
    }
    for (size_t j = 1; j <= n; j++)
        perm[match[j] - 1] = j - 1;
    if (cost) {
        double s = 0;
        for (size_t i = 0; i < n; i++)
            s += c[i * n + perm[i]];
        *cost = s;
    }
    for (size_t i = 0; i < n; i++) {
        if (u)
            u[i] = pu[i + 1];
        if (v)
            v[i] = pv[i + 1];
    }
    free(pu), free(pv), free(minv), free(match), free(way), free(used);
    return 0;
}

int fast_assign_sqdist(size_t n, size_t dim, const double *x, const double *y,
                       const size_t *kx, const size_t *ky, size_t L, double *c)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double s = 0;
            if (kx && ky) {
                double d = ((double)kx[i] - (double)ky[j]) / (double)L;
                s = d * d;
            }
            for (size_t t = 0; t < dim; t++) {
                double d = x[i * dim + t] - y[j * dim + t];
                s += d * d;
            }
            c[i * n + j] = s;
            bad |= !isfinite(s);
        }
    return bad ? -1 : 0;
}
