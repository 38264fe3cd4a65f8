/* train_candidate.c - a candidate's training trajectory (train_candidate.h). */
#include "train_candidate.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jsonio.h"
#include "npy.h"
#include "path.h"

void no_train_candidate_clear(no_train_candidate *c)
{
    free(c->F);
    free(c->gnorm2);
    free(c->theta_norm);
    free(c->theta_dist);
    free(c->params);
    memset(c, 0, sizeof *c);
}

int no_train_candidate_declared(const char *dir)
{
    char path[NO_PATH_MAX], err[256];
    json_t *o;
    if (no_path_join(path, sizeof path, dir, "candidate.json", err, sizeof err) || no_path_absent(path) ||
        no_jsonio_load(path, &o, err, sizeof err))
        return 0;
    int has = json_object_get(o, "training") != NULL;
    json_decref(o);
    return has;
}

/* candidate.json: precision and training {eta, steps}; nothing else. */
static int read_json(const char *dir, no_train_candidate *c, long *steps, char *err, size_t len)
{
    char path[NO_PATH_MAX];
    if (no_path_join(path, sizeof path, dir, "candidate.json", err, len))
        return -1;
    if (no_path_absent(path))
        return 0;
    json_t *o;
    if (no_jsonio_load(path, &o, err, len))
        return -1;
    static const char *const allowed[] = {"precision", "training", NULL};
    static const char *const tallowed[] = {"eta", "steps", NULL};
    const char *extra = no_jsonio_unknown(o, allowed);
    int rc = -1, e;
    char k[64];
    if (extra) {
        no_errorf(err, len, "%s: unknown member \"%s\" for a training candidate (members: "
                  "precision, training)", path, no_jsonio_clean(k, sizeof k, extra));
        goto out;
    }
    if (json_object_get(o, "precision")) {
        if (no_jsonio_enum(o, "precision", no_precision_names, 3, &e, path, err, len))
            goto out;
        c->precision = (no_precision)e;
        c->has_precision = 1;
    }
    json_t *t = json_object_get(o, "training");
    if (t) {
        if (!json_is_object(t)) {
            no_errorf(err, len, "%s: member \"training\" must be an object {\"eta\": E, "
                      "\"steps\": N}", path);
            goto out;
        }
        if ((extra = no_jsonio_unknown(t, tallowed))) {
            no_errorf(err, len, "%s: training: unknown member \"%s\" (members: eta, steps)", path,
                      no_jsonio_clean(k, sizeof k, extra));
            goto out;
        }
        if (json_object_get(t, "eta")) {
            if (no_jsonio_real(t, "eta", &c->eta, path, err, len))
                goto out;
            if (!isfinite(c->eta) || !(c->eta > 0)) {
                no_errorf(err, len, "%s: training: \"eta\" must be a finite number > 0", path);
                goto out;
            }
            c->eta_from_json = 1;
        }
        if (json_object_get(t, "steps")) {
            long long s;
            if (no_jsonio_int(t, "steps", 1, &s, path, err, len))
                goto out;
            *steps = s > 1000000000LL ? 1000000000L : (long)s;
        }
    }
    rc = 0;
out:
    json_decref(o);
    return rc;
}

int no_train_candidate_read(const char *dir, const no_spec *spec, double eta_opt,
                            long steps_opt, no_train_candidate *c, char *err, size_t len)
{
    memset(c, 0, sizeof *c);
    c->precision = NO_PRECISION_FLOAT64;
    long json_steps = 0;
    if (read_json(dir, c, &json_steps, err, len))
        return -1;
    if (eta_opt > 0)
        c->eta = eta_opt;
    if (!(c->eta > 0))
        return no_errorf(err, len, "%s: no step size: give check --eta E or candidate.json "
                         "{\"training\": {\"eta\": E}}", dir);
    char path[NO_PATH_MAX];
    if (no_path_join(path, sizeof path, dir, "trajectory.npy", err, len))
        return -1;
    if (no_path_absent(path))
        return no_errorf(err, len, "%s: missing (a training candidate's trajectory, "
                         "docs/formats.md)", path);
    no_array a;
    no_npy_info ni;
    memset(&a, 0, sizeof a);
    if (no_npy_read_info(path, &a, NO_NPY_F32 | NO_NPY_NONFINITE, &ni, err, len))
        return -1;
    int rc = -1;
    if (ni.itemsize != 8) {
        no_errorf(err, len, "%s: stored as float32; a trajectory is judged in float64 only "
                  "(store float64 values)", path);
        goto out;
    }
    if (a.ndim != 2 || a.shape[1] != NO_TRAJ_NCOL || a.shape[0] < 2) {
        char s[96];
        no_npy_shape_str(s, sizeof s, a.ndim, a.shape);
        no_errorf(err, len, "%s: shape %s, expected (steps + 1, 7) with steps >= 1: columns n, t, "
                  "F, grad_norm2, theta_norm, theta_dist, F_bits", path, s);
        goto out;
    }
    size_t rows = a.shape[0], steps = rows - 1;
    if (json_steps && (size_t)json_steps != steps) {
        no_errorf(err, len, "%s: %zu rows, but candidate.json declares %ld steps (rows = steps "
                  "+ 1)", path, rows, json_steps);
        goto out;
    }
    if (steps_opt > 0 && (size_t)steps_opt != steps) {
        no_errorf(err, len, "%s: %zu rows, but --steps %ld (rows = steps + 1)", path, rows,
                  steps_opt);
        goto out;
    }
    for (size_t n = 0; n < rows; n++) {
        const double *r = a.v + n * NO_TRAJ_NCOL;
        if (!isfinite(r[NO_TRAJ_N]) || !isfinite(r[NO_TRAJ_T])) {
            no_errorf(err, len, "%s: row %zu: n or t is not finite", path, n);
            goto out;
        }
        if (r[NO_TRAJ_N] != (double)n) {
            no_errorf(err, len, "%s: row %zu: n = %.17g, expected %zu (one row per iteration, "
                      "from 0)", path, n, r[NO_TRAJ_N], n);
            goto out;
        }
        double t = (double)n * c->eta;
        if (!(fabs(r[NO_TRAJ_T] - t) <= 1e-9 * t)) {
            no_errorf(err, len, "%s: row %zu: t = %.17g, expected n * eta = %.17g (eta %.17g%s)",
                      path, n, r[NO_TRAJ_T], t, c->eta,
                      eta_opt > 0 ? ", from --eta" : ", from candidate.json");
            goto out;
        }
    }
    c->steps = steps;
    double **cols[4] = {&c->F, &c->gnorm2, &c->theta_norm, &c->theta_dist};
    int *has[4] = {NULL, &c->has_g2, &c->has_tnorm, &c->has_tdist};
    for (int j = 0; j < 4; j++) {
        if (!(*cols[j] = malloc(rows * sizeof(double)))) {
            no_errorf(err, len, "out of memory reading %s", path);
            goto out;
        }
        int any = 0;
        for (size_t n = 0; n < rows; n++) {
            (*cols[j])[n] = a.v[n * NO_TRAJ_NCOL + NO_TRAJ_F + j];
            any = any || !isnan((*cols[j])[n]);
        }
        if (has[j])
            *has[j] = any;
        else if (!any) {
            no_errorf(err, len, "%s: column F (2) is all NaN; F must be provided", path);
            goto out;
        }
    }
    /* params.npy, optional */
    no_param_info pi[NO_MAX_PARAMS];
    int np = no_spec_params(spec, pi);
    size_t K = 0;
    for (int i = 0; i < np; i++)
        K += pi[i].n;
    c->K = K;
    if (no_path_join(path, sizeof path, dir, "params.npy", err, len))
        goto out;
    if (!no_path_absent(path)) {
        no_array pa;
        memset(&pa, 0, sizeof pa);
        if (no_npy_read_info(path, &pa, NO_NPY_F32 | NO_NPY_NONFINITE, &ni, err, len))
            goto out;
        size_t want[2] = {rows, K};
        if (ni.itemsize != 8) {
            no_errorf(err, len, "%s: stored as float32; parameters are judged in float64 only",
                      path);
            free(pa.v);
            goto out;
        }
        if (no_npy_check_shape(path, &pa, 2, want, err, len)) {
            free(pa.v);
            goto out;
        }
        c->params = pa.v;
    }
    rc = 0;
out:
    free(a.v);
    if (rc) {
        no_train_candidate_clear(c);
    }
    return rc;
}
