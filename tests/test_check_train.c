/* check_train: `nodeoracle check --train`, a candidate's gradient-descent
 * trajectory judged iteration by iteration against the certified reference
 * run (docs/check.md, "Training trajectories"; io/train_candidate.h;
 * oracle/train_compare.h).  The candidates are fast_train's runs written in
 * the documented layout (an outside float64 implementation of the same GD),
 * then spoiled.  Small problems (N=3, D=3, L=3): seconds on one core. */
#define _XOPEN_SOURCE 700
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fast_train.h"
#include "npy.h"
#include "problem_dir.h"
#include "test_run.h"
#include "test_util.h"
#include "train_candidate.h"
#include "train_compare.h"

NO_TEST_SCRATCH("no_ctrain_")

/* Problem of variant v (test_util.h) written to scratch/prob; *p kept. */
static void write_problem(int v, no_problem *p, char *dir, size_t n)
{
    no_spec s;
    char err[256];
    no_test_spec(&s, v, NO_SCHEME_EULER, 1, 7);
    cr_assert_eq(no_problem_generate(p, &s, err, sizeof err), 0, "%s", err);
    snprintf(dir, n, "%s/prob%d", scratch, v);
    cr_assert_eq(no_problem_dir_write(dir, p, err, sizeof err), 0, "%s", err);
}

static void write_rows(const char *path, size_t rows, size_t cols, const double *v)
{
    no_array a;
    char err[512];
    memset(&a, 0, sizeof a);
    a.ndim = 2;
    a.shape[0] = rows;
    a.shape[1] = cols;
    a.n = rows * cols;
    a.v = (double *)v;
    cr_assert_eq(no_npy_write(path, &a, err, sizeof err), 0, "%s", err);
}

/* The (steps + 1) x 7 trajectory of t at eta, as train --out writes it. */
static double *traj_matrix(const fast_train_traj *t, double eta)
{
    size_t n1 = t->steps + 1;
    double *m = malloc(n1 * 7 * sizeof *m);
    cr_assert_not_null(m);
    for (size_t n = 0; n < n1; n++) {
        double *r = m + 7 * n;
        r[0] = (double)n;
        r[1] = (double)n * eta;
        r[2] = t->F[n];
        r[3] = t->gnorm2[n];
        r[4] = t->theta_norm[n];
        r[5] = t->theta_dist[n];
        r[6] = 0;
    }
    return m;
}

/* A candidate directory scratch/name with trajectory m (rows x 7), params
 * (or NULL) and candidate.json text json (or NULL). */
static void write_cand(const char *name, const double *m, size_t rows, const double *params,
                       size_t K, const char *json, char *dir, size_t n)
{
    char path[PATH_MAX + 64];
    snprintf(dir, n, "%s/%s", scratch, name);
    cr_assert_eq(mkdir(dir, 0700), 0);
    snprintf(path, sizeof path, "%s/trajectory.npy", dir);
    write_rows(path, rows, 7, m);
    if (params) {
        snprintf(path, sizeof path, "%s/params.npy", dir);
        write_rows(path, rows, K, params);
    }
    if (json) {
        snprintf(path, sizeof path, "%s/candidate.json", dir);
        FILE *f = fopen(path, "w");
        cr_assert_not_null(f);
        fputs(json, f);
        fclose(f);
    }
}

/* Validate a report against docs/report.schema.json (test_run.h); skipped
 * without python3-jsonschema. */
static void expect_schema_valid(const char *text, const char *what)
{
    char doc[PATH_MAX + 32];
    snprintf(doc, sizeof doc, "%s/report.json", scratch);
    no_test_expect_schema_valid(text, doc, what);
}

static json_t *parse_json(const char *text)
{
    json_error_t je;
    json_t *o = json_loads(text, 0, &je);
    cr_assert_not_null(o, "not JSON (%s): %.300s", je.text, text);
    return o;
}

/* fast's 40-step runs (linear, mlp tanh) written as candidates pass: with
 * params.npy and every column (eta from candidate.json), and without
 * params.npy and with grad_norm2 left out as an all-NaN column (eta from
 * --eta). */
Test(check_train, fast_trajectory_passes, .init = scratch_setup, .fini = scratch_teardown,
     .timeout = NO_TEST_TIMEOUT_S)
{
    const int vs[2] = {0, 3};
    for (int i = 0; i < 2; i++) {
        no_problem p;
        char pdir[PATH_MAX], cdir[PATH_MAX], name[32], err[256];
        write_problem(vs[i], &p, pdir, sizeof pdir);
        fast_train_traj t;
        cr_assert_eq(fast_train_gd(&p, 40, 0.05, 1, NULL, NULL, &t, err, sizeof err), 0, "%s",
                     err);
        double *m = traj_matrix(&t, 0.05);
        snprintf(name, sizeof name, "full%d", i);
        write_cand(name, m, 41, t.params, t.K, "{\"training\": {\"eta\": 0.05, \"steps\": 40}}",
                   cdir, sizeof cdir);
        run_result r = runf("check --train --problem %s --candidate %s", pdir, cdir);
        cr_expect_eq(r.status, 0, "%s: exit %d\n%s%s", no_test_variant_name(vs[i]), r.status,
                     r.out, r.err);
        cr_expect(strstr(r.out, "pass: 41 of 41 iterations judged"), "%s", r.out);
        cr_expect(strstr(r.out, "judged: theta F grad_norm2 theta_norm theta_dist"), "%s", r.out);
        run_free(&r);
        /* candidate.json alone selects the mode; the report validates */
        r = runf("check --problem %s --candidate %s --json", pdir, cdir);
        cr_expect_eq(r.status, 0, "json: exit %d %s", r.status, r.err);
        json_t *o = parse_json(r.out);
        cr_expect_str_eq(json_string_value(json_object_get(o, "verdict")), "pass");
        cr_expect_eq(json_integer_value(json_object_get(o, "judged")), 41);
        json_decref(o);
        expect_schema_valid(r.out, "check_train pass");
        run_free(&r);
        for (size_t n = 0; n <= 40; n++)
            m[7 * n + 3] = NAN;
        snprintf(name, sizeof name, "some%d", i);
        write_cand(name, m, 41, NULL, 0, NULL, cdir, sizeof cdir);
        r = runf("check --train --eta 0.05 --problem %s --candidate %s", pdir, cdir);
        cr_expect_eq(r.status, 0, "partial: exit %d\n%s%s", r.status, r.out, r.err);
        cr_expect(strstr(r.out, "not provided: theta grad_norm2"), "%s", r.out);
        run_free(&r);
        free(m);
        fast_train_traj_clear(&t);
        no_problem_free(&p);
    }
}

/* A relative error of 1e-9 in F at iteration 17 fails, naming n=17 and F;
 * the fail report validates against the schema. */
Test(check_train, perturbed_F_fails_at_its_iteration, .init = scratch_setup,
     .fini = scratch_teardown, .timeout = NO_TEST_TIMEOUT_S)
{
    no_problem p;
    char pdir[PATH_MAX], cdir[PATH_MAX], err[256];
    write_problem(3, &p, pdir, sizeof pdir);
    fast_train_traj t;
    cr_assert_eq(fast_train_gd(&p, 40, 0.05, 1, NULL, NULL, &t, err, sizeof err), 0, "%s", err);
    double *m = traj_matrix(&t, 0.05);
    m[7 * 17 + 2] *= 1 + 1e-9;
    write_cand("bad", m, 41, t.params, t.K, "{\"training\": {\"eta\": 0.05}}", cdir, sizeof cdir);
    run_result r = runf("check --train --problem %s --candidate %s", pdir, cdir);
    cr_expect_eq(r.status, 1, "exit %d\n%s%s", r.status, r.out, r.err);
    cr_expect(strstr(r.out, "FAIL at iteration n=17: F error"), "%s", r.out);
    run_free(&r);
    r = runf("check --train --problem %s --candidate %s --json", pdir, cdir);
    cr_expect_eq(r.status, 1);
    json_t *o = parse_json(r.out);
    json_t *ff = json_object_get(o, "first_fail");
    cr_expect_eq(json_integer_value(json_object_get(ff, "iteration")), 17, "%s", r.out);
    cr_expect_str_eq(json_string_value(json_object_get(ff, "quantity")), "F");
    cr_expect_gt(json_real_value(json_object_get(ff, "error")),
                 json_real_value(json_object_get(ff, "tol")));
    json_decref(o);
    expect_schema_valid(r.out, "check_train fail");
    run_free(&r);
    /* a parameter off by 1e-9 relative at iteration 20 fails as theta there */
    m[7 * 17 + 2] = t.F[17];
    t.params[20 * t.K + 3] *= 1 + 1e-9;
    write_cand("badtheta", m, 41, t.params, t.K, "{\"training\": {\"eta\": 0.05}}", cdir,
               sizeof cdir);
    r = runf("check --train --problem %s --candidate %s", pdir, cdir);
    cr_expect_eq(r.status, 1, "theta: exit %d\n%s%s", r.status, r.out, r.err);
    cr_expect(strstr(r.out, "FAIL at iteration n=20: theta error"), "%s", r.out);
    run_free(&r);
    /* a non-finite F (a diverged candidate) is a failure at its iteration */
    t.params[20 * t.K + 3] /= 1 + 1e-9;
    m[7 * 30 + 2] = INFINITY;
    write_cand("inf", m, 41, NULL, 0, "{\"training\": {\"eta\": 0.05}}", cdir, sizeof cdir);
    r = runf("check --train --problem %s --candidate %s", pdir, cdir);
    cr_expect_eq(r.status, 1, "inf: exit %d\n%s%s", r.status, r.out, r.err);
    cr_expect(strstr(r.out, "FAIL at iteration n=30: F"), "%s", r.out);
    run_free(&r);
    free(m);
    fast_train_traj_clear(&t);
    no_problem_free(&p);
}

/* A steep long run (linear, eta = 0.2, 300 steps, as train's test): the
 * bound outgrows 2^-10 somewhere; check says unverifiable (exit 3), never
 * pass or fail, from exactly the iteration where the criterion of
 * proofs-notes/training.md first breaks, recomputed here from the
 * reference's quantities. */
Test(check_train, steep_long_run_unverifiable_from_the_right_iteration, .init = scratch_setup,
     .fini = scratch_teardown, .timeout = NO_TEST_TIMEOUT_S)
{
    no_problem p;
    char pdir[PATH_MAX], cdir[PATH_MAX], err[256];
    write_problem(0, &p, pdir, sizeof pdir);
    const size_t S = 300;
    fast_train_traj t;
    cr_assert_eq(fast_train_gd(&p, S, 0.2, 0, NULL, NULL, &t, err, sizeof err), 0, "%s", err);
    double *m = traj_matrix(&t, 0.2);
    write_cand("steep", m, S + 1, NULL, 0, NULL, cdir, sizeof cdir);
    run_result r = runf("check --train --eta 0.2 --steps 300 --problem %s --candidate %s --json",
                        pdir, cdir);
    cr_expect_eq(r.status, 3, "exit %d %s", r.status, r.err);
    json_t *o = parse_json(r.out);
    cr_expect_str_eq(json_string_value(json_object_get(o, "verdict")), "unverifiable");
    json_t *fu = json_object_get(o, "first_unjudged");
    cr_assert(json_is_integer(fu), "first_unjudged: %s", r.out);
    size_t first = (size_t)json_integer_value(fu);
    cr_expect(first > 0 && first < S, "first unjudged %zu", first);
    json_t *it = json_object_get(o, "iterations");
    json_t *jd = json_object_get(it, "judged");
    for (size_t n = 0; n <= S; n++)
        cr_expect_eq(json_is_true(json_array_get(jd, n)), n < first, "iteration %zu judged: %d",
                     n, json_is_true(json_array_get(jd, n)));
    expect_schema_valid(r.out, "check_train unverifiable");
    json_decref(o);
    run_free(&r);
    /* the criterion, recomputed: the reference run and its tolerances */
    no_train_cmp c;
    cr_assert_eq(no_train_reference(&p, 128, S, 0.2, NULL, NULL, &c, err, sizeof err), 0, "%s",
                 err);
    fast_train_traj view = t;
    view.params = NULL;
    cr_assert_eq(no_train_judge_some(&p, &c.ref, &view, c.dG, c.tF, c.ok, NO_TRAIN_ALL, &c), 0);
    const double mx = 0x1p-10;
    size_t want = S + 1;
    for (size_t n = 0; n <= S && want > S; n++) {
        int meaningful = c.ok[n] && c.E[n] <= mx * c.ref.theta_norm[n] &&
                         c.tol[1][n] <= mx * fabs(c.ref.F[n]) && c.ref.F_bits[n] >= 60;
        if (!meaningful)
            want = n;
    }
    cr_expect_eq(first, want, "check says unverifiable from %zu, the criterion breaks at %zu",
                 first, want);
    cr_log_info("steep run: judged 0..%zu of 300, E there %.3g, |theta| %.3g", first - 1,
                c.E[first], c.ref.theta_norm[first]);
    no_train_cmp_clear(&c);
    free(m);
    fast_train_traj_clear(&t);
    no_problem_free(&p);
}

/* Hostile trajectory files and options: one line on stderr, exit 2, before
 * any reference is computed. */
Test(check_train, hostile_files_exit_2, .init = scratch_setup, .fini = scratch_teardown,
     .timeout = NO_TEST_TIMEOUT_S)
{
    no_problem p;
    char pdir[PATH_MAX], cdir[PATH_MAX], path[PATH_MAX + 64], err[256];
    write_problem(0, &p, pdir, sizeof pdir);
    fast_train_traj t;
    cr_assert_eq(fast_train_gd(&p, 10, 0.05, 1, NULL, NULL, &t, err, sizeof err), 0, "%s", err);
    double *m = traj_matrix(&t, 0.05);
    const char *J = "{\"training\": {\"eta\": 0.05}}";
    struct {
        const char *name, *want, *extra;
    } cases[] = {
        {"nan_n", "not finite", ""},
        {"nan_t", "not finite", ""},
        {"bad_n", "expected 4", ""},
        {"bad_eta", "expected n * eta", "--eta 0.1"},
        {"json_steps", "declares 12 steps", ""},
        {"opt_steps", "--steps 9", "--steps 9"},
        {"no_eta", "no step size", ""},
        {"f_all_nan", "F must be provided", ""},
        {"one_row", "expected (steps + 1, 7)", ""},
        {"six_cols", "expected (steps + 1, 7)", ""},
        {"one_d", "expected (steps + 1, 7)", ""},
        {"missing", "trajectory.npy: missing", ""},
        {"garbage", "trajectory.npy", ""},
        {"f32", "float32", ""},
        {"params_shape", "params.npy", ""},
        {"json_member", "unknown member", ""},
        {"json_eta", "eta", ""},
        {"declared_f32", "float64 candidates only", ""},
        {"opt_f32", "float64 candidates only", "--precision float32"},
        {"grid", "--grid", "--grid x.npy"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *nm = cases[i].name;
        double *w = malloc(11 * 7 * sizeof *w);
        memcpy(w, m, 11 * 7 * sizeof *w);
        const char *json = J;
        size_t rows = 11;
        if (!strcmp(nm, "nan_n"))
            w[7 * 3] = NAN;
        if (!strcmp(nm, "nan_t"))
            w[7 * 5 + 1] = NAN;
        if (!strcmp(nm, "bad_n"))
            w[7 * 4] = 5;
        if (!strcmp(nm, "json_steps"))
            json = "{\"training\": {\"eta\": 0.05, \"steps\": 12}}";
        if (!strcmp(nm, "no_eta"))
            json = NULL;
        if (!strcmp(nm, "f_all_nan"))
            for (size_t n = 0; n < 11; n++)
                w[7 * n + 2] = NAN;
        if (!strcmp(nm, "one_row"))
            rows = 1;
        if (!strcmp(nm, "json_member"))
            json = "{\"training\": {\"eta\": 0.05}, \"grid\": \"g.npy\"}";
        if (!strcmp(nm, "json_eta"))
            json = "{\"training\": {\"eta\": -1}}";
        if (!strcmp(nm, "declared_f32"))
            json = "{\"precision\": \"float32\", \"training\": {\"eta\": 0.05}}";
        write_cand(nm, w, rows, !strcmp(nm, "params_shape") ? t.params : NULL,
                   !strcmp(nm, "params_shape") ? t.K - 1 : 0, json, cdir, sizeof cdir);
        snprintf(path, sizeof path, "%s/trajectory.npy", cdir);
        if (!strcmp(nm, "six_cols") || !strcmp(nm, "one_d")) {
            no_array a;
            memset(&a, 0, sizeof a);
            a.ndim = !strcmp(nm, "one_d") ? 1 : 2;
            a.shape[0] = !strcmp(nm, "one_d") ? 77 : 11;
            a.shape[1] = 6;
            a.n = !strcmp(nm, "one_d") ? 77 : 66;
            a.v = w;
            cr_assert_eq(no_npy_write(path, &a, err, sizeof err), 0, "%s", err);
        }
        if (!strcmp(nm, "missing"))
            unlink(path);
        if (!strcmp(nm, "garbage") || !strcmp(nm, "f32")) {
            FILE *f = fopen(path, "wb");
            cr_assert_not_null(f);
            if (!strcmp(nm, "garbage")) {
                fputs("not an npy file\n", f);
            } else { /* a valid float32 .npy, 11 x 7 */
                char hdr[128];
                int k = snprintf(hdr, sizeof hdr, "{'descr': '<f4', 'fortran_order': False, "
                                                  "'shape': (11, 7), }");
                while ((k + 10 + 1) % 64)
                    hdr[k++] = ' ';
                hdr[k++] = '\n';
                unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                                         (unsigned char)(k & 255), (unsigned char)(k >> 8)};
                fwrite(pre, 1, 10, f);
                fwrite(hdr, 1, (size_t)k, f);
                for (size_t e = 0; e < 77; e++) {
                    float x = (float)w[e];
                    fwrite(&x, 4, 1, f); /* little-endian host (x86, arm64) */
                }
            }
            fclose(f);
        }
        run_result r = runf("check --train --problem %s --candidate %s %s", pdir, cdir,
                            cases[i].extra);
        expect_error_result(&r, nm, cases[i].want);
        run_free(&r);
        free(w);
    }
    /* --json: the error object */
    run_result r = runf("check --train --problem %s --candidate %s/missing --json", pdir, scratch);
    expect_error_result(&r, "json", "missing");
    cr_expect(r.out[0], "no error object on stdout");
    run_free(&r);
    free(m);
    fast_train_traj_clear(&t);
    no_problem_free(&p);
}
