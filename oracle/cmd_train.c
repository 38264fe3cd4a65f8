/* cmd_train.c - `nodeoracle train`: gradient descent and gradient flow
 * (docs/training.md, proofs-notes/training.md). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomic.h"
#include "cmd.h"
#include "fast_train.h"
#include "npy.h"
#include "path.h"
#include "problem_dir.h"
#include "plot.h"
#include "progress.h"
#include "ref.h"
#include "ref_train.h"
#include "report.h"
#include "resources.h"
#include "spec_args.h"
#include "train_compare.h"

const char no_cmd_train_help[] =
    "NAME\n"
    "  nodeoracle train - gradient descent (or gradient flow) on a problem's parameters\n"
    "\n"
    "SYNOPSIS\n"
    "  nodeoracle train [PROBLEM OPTIONS | --problem DIR] [--steps N] [--eta E]\n"
    "                   [--impl ref|fast|both] [--flow [--flow-tol TOL]] [--prec BITS]\n"
    "                   [--out DIR [--params]] [--every K] [--quiet] [--json]\n"
    "\n"
    "DESCRIPTION\n"
    "  Runs N iterations of gradient descent theta <- theta - E G(theta) from the\n"
    "  problem's parameters, G the metric gradient (mgrad_*: dF/dtheta_k / h, times M for\n"
    "  mlp; docs/model.md), and records for n = 0..N the loss F, the squared metric norm\n"
    "  of G, |theta^n| and |theta^n - theta^0| (metric norms: h sum_k, and 1/M sum_j for\n"
    "  mlp). It prints every K-th record (default: about ten rows).\n"
    "\n"
    "  --impl ref (default): the MPFR reference. The iterate stays an MPFR number at\n"
    "  --prec bits for the whole run; the run is repeated at --prec + max(32, --prec/2)\n"
    "  bits and the column 'bits' is the number of correct bits of F of the --prec run.\n"
    "  --impl fast: the double implementation, no certificate.\n"
    "  --impl both: both, and fast judged against the reference along the run: an\n"
    "  error bound E_n on fast's parameters is propagated step by step from the single-\n"
    "  run tolerances of compare and an estimate of the Lipschitz constant of G\n"
    "  (proofs-notes/training.md). The verdict is pass only if every iteration is judged\n"
    "  and within its tolerance; fail if any judged iteration exceeds it (or fast is not\n"
    "  finite); otherwise unverifiable (the bound grew past 2^-10 relative: a long or\n"
    "  steep run cannot be certified in double; it is never passed).\n"
    "\n"
    "  --flow: the gradient flow d theta/dt = -G(theta) of the reference instead, to time\n"
    "  N E, recorded at t = n E, with adaptive Dormand-Prince 5(4) steps whose local error\n"
    "  is at most TOL (1 + |theta|); certified by a second run at the higher precision and\n"
    "  TOL / 2^10 (ref only).\n"
    "\n"
    "OPTIONS\n"
    "  --problem DIR  a problem directory (docs/formats.md) instead of PROBLEM OPTIONS\n"
    "  --steps N      iterations, 1..1000000 (default 100)\n"
    "  --eta E        step (learning rate), a finite number > 0 (default 0.1); with\n"
    "                 --flow, the spacing of the records in training time\n"
    "  --impl I       ref, fast or both (default ref)\n"
    "  --flow         gradient flow (reference only)\n"
    "  --flow-tol TOL local error target of the flow, in (0, 0.01] (default 2^-40)\n"
    "  --prec BITS    reference precision, 53..43691 (default 128)\n"
    "  --out DIR      write trajectory.npy and trajectory.csv (and trajectory.png when\n"
    "                 gnuplot is installed; with --impl both also trajectory_fast.npy)\n"
    "                 into DIR, created if missing; each file written under a temporary\n"
    "                 name and renamed; train replaces only these names and never\n"
    "                 deletes anything. Layout: docs/formats.md, \"Trajectories\"\n"
    "  --params       with --out: also params.npy, the parameters theta^n,\n"
    "                 (N+1) x K (the family's arrays W, or a, u, b, flattened)\n"
    "  --every K      print every K-th record (the last always)\n"
    "  --quiet        no table and no progress; only the summary line\n"
    "  --json         one JSON object on stdout (records, verdict); on a usage or input\n"
    "                 error the error object\n"
    "  --max-memory SIZE  as for compare\n"
    "\n"
    "EXIT STATUS\n"
    "  0 done (--impl both: every iteration passed); 1 --impl both: fast failed;\n"
    "  2 usage or input error (one line on stderr); 3 --impl both: nothing failed but\n"
    "  some iteration could not be judged (unverifiable).\n"
    "\n"
    "EXAMPLES\n"
    "  nodeoracle train --family mlp --M 6 --L 8 --steps 200 --eta 0.05 --out run\n"
    "  nodeoracle train --family rff --scheme rk4 --steps 100 --eta 0.1 --impl both\n"
    "  nodeoracle train --family linear --steps 16 --eta 0.0625 --flow\n"
    "\n";

#define STEPS_MAX 1000000
#define NCOL 7

typedef struct {
    const char *label;
} prog_ctx;

static void on_progress(void *ctx, size_t done, size_t total)
{
    prog_ctx *c = ctx;
    no_progress_tick((void *)c->label, "iteration", done ? done - 1 : 0, total,
                     (double)done / (double)total);
}

/* The (steps + 1) x 7 record matrix of docs/formats.md. */
static int write_npy(const char *dir, const char *name, size_t steps, double eta, const double *F,
                     const double *g2, const double *tn, const double *td, const double *bits,
                     char *err, size_t len)
{
    char path[NO_PATH_MAX];
    if (no_path_join(path, sizeof path, dir, name, err, len))
        return -1;
    no_array a;
    memset(&a, 0, sizeof a);
    a.ndim = 2;
    a.shape[0] = steps + 1;
    a.shape[1] = NCOL;
    a.n = (steps + 1) * NCOL;
    a.v = malloc(a.n * sizeof *a.v);
    if (!a.v)
        return no_errorf(err, len, "out of memory writing %s", name);
    for (size_t n = 0; n <= steps; n++) {
        double *r = a.v + n * NCOL;
        r[0] = (double)n;
        r[1] = (double)n * eta;
        r[2] = F[n];
        r[3] = g2[n];
        r[4] = tn[n];
        r[5] = td[n];
        r[6] = bits ? bits[n] : 0;
    }
    int rc = no_npy_write(path, &a, err, len);
    free(a.v);
    return rc;
}

static int write_params(const char *dir, size_t steps, size_t K, const double *params, char *err,
                        size_t len)
{
    char path[NO_PATH_MAX];
    if (no_path_join(path, sizeof path, dir, "params.npy", err, len))
        return -1;
    no_array a;
    memset(&a, 0, sizeof a);
    a.ndim = 2;
    a.shape[0] = steps + 1;
    a.shape[1] = K;
    a.n = (steps + 1) * K;
    a.v = (double *)params;
    return no_npy_write(path, &a, err, len);
}

typedef struct {
    size_t steps;
    double eta;
    const ref_train_traj *r;
    const fast_train_traj *f;
    const no_train_cmp *c;
} runs;

static int write_csv(const char *dir, const runs *x, char *err, size_t len)
{
    no_atomic w;
    if (no_atomic_open_in(&w, dir, "trajectory.csv", err, len))
        return -1;
    fprintf(w.f, "n,t,F,grad_norm2,theta_norm,theta_dist,F_bits");
    if (x->c)
        fprintf(w.f, ",fast_F,fast_grad_norm2,fast_theta_norm,fast_theta_dist,theta_err,"
                     "E_bound,judged");
    fputc('\n', w.f);
    for (size_t n = 0; n <= x->steps; n++) {
        if (x->r)
            fprintf(w.f, "%zu,%.17g,%.17g,%.17g,%.17g,%.17g,%.0f", n, (double)n * x->eta,
                    x->r->F[n], x->r->gnorm2[n], x->r->theta_norm[n], x->r->theta_dist[n],
                    x->r->F_bits[n]);
        else
            fprintf(w.f, "%zu,%.17g,%.17g,%.17g,%.17g,%.17g,0", n, (double)n * x->eta,
                    x->f->F[n], x->f->gnorm2[n], x->f->theta_norm[n], x->f->theta_dist[n]);
        if (x->c)
            fprintf(w.f, ",%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%d", x->f->F[n], x->f->gnorm2[n],
                    x->f->theta_norm[n], x->f->theta_dist[n], x->c->err[NO_TRAIN_Q_THETA][n],
                    x->c->E[n], x->c->judged[n]);
        fputc('\n', w.f);
    }
    return no_atomic_commit(&w, err, len);
}

/* The curves of trajectory.png: F and |G|^2 (log scale) against n. */
static void plot_body(FILE *g, const char *csv, const void *ctx)
{
    (void)ctx;
    fprintf(g,
            "set key autotitle columnhead\nset logscale y\nset xlabel 'iteration n'\n"
            "set grid\nplot '%s' using 1:3 with lines title 'F', "
            "'' using 1:4 with lines title '|G|^2 (metric)'\n",
            csv);
}

/* trajectory.png from trajectory.csv (skipped without gnuplot: plot.h). */
static int write_png(const char *dir, char *err, size_t len)
{
    return no_plot_png(dir, "trajectory.csv", "trajectory.png", plot_body, NULL, err, len);
}

static json_t *series(const double *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, no_report_num(v[i]));
    return a;
}

int no_cmd_train(int argc, char **argv)
{
    no_spec spec;
    no_spec_default(&spec);
    const char *problem_dir = NULL, *out = NULL, *impl = "ref";
    long prec = 128, steps = 100, every = 0;
    double eta = 0.1, flow_tol = 0;
    int flow = 0, json = 0, quiet = 0, gave_problem = 0, params = 0;
    char err[512];
    static const char *const switches[] = {"--flow", "--params", NULL};
    no_cmd_json_prescan(argc, argv, "train", switches);
    for (int i = 0; i < argc; i++) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(f, "--help") || !strcmp(f, "-h")) {
            fputs(no_cmd_train_help, stdout);
            fputs(no_spec_args_help, stdout);
            return NO_EXIT_PASS;
        }
        if (!strcmp(f, "--json")) {
            json = 1;
            continue;
        }
        if (!strcmp(f, "--quiet")) {
            quiet = 1;
            no_progress_enable(0);
            continue;
        }
        if (!strcmp(f, "--flow")) {
            flow = 1;
            continue;
        }
        if (!strcmp(f, "--params")) {
            params = 1;
            continue;
        }
        if (!v)
            return no_cmd_usage_error(strncmp(f, "--", 2) ? "unexpected argument"
                                                           : "option needs a value");
        char *end;
        if (!strcmp(f, "--steps")) {
            errno = 0;
            steps = strtol(v, &end, 10);
            if (!*v || *end || errno || steps < 1 || steps > STEPS_MAX) {
                snprintf(err, sizeof err, "--steps: expected an integer in [1, %d], got '%.40s'",
                         STEPS_MAX, v);
                return no_cmd_usage_error(err);
            }
        } else if (!strcmp(f, "--every")) {
            errno = 0;
            every = strtol(v, &end, 10);
            if (!*v || *end || errno || every < 1) {
                snprintf(err, sizeof err, "--every: expected a positive integer, got '%.40s'", v);
                return no_cmd_usage_error(err);
            }
        } else if (!strcmp(f, "--eta")) {
            if (no_cmd_parse_eta(v, &eta))
                return NO_EXIT_USAGE;
        } else if (!strcmp(f, "--flow-tol")) {
            flow_tol = strtod(v, &end);
            if (!*v || *end || !isfinite(flow_tol) || !(flow_tol > 0) || flow_tol > 0.01) {
                snprintf(err, sizeof err, "--flow-tol: expected a number in (0, 0.01], got '%.40s'",
                         v);
                return no_cmd_usage_error(err);
            }
        } else if (!strcmp(f, "--impl")) {
            if (strcmp(v, "ref") && strcmp(v, "fast") && strcmp(v, "both")) {
                snprintf(err, sizeof err, "--impl: expected ref, fast or both, got '%.40s'", v);
                return no_cmd_usage_error(err);
            }
            impl = v;
        } else if (!strcmp(f, "--prec")) {
            if (no_cmd_parse_prec(v, &prec))
                return no_cmd_prec_error(v);
        } else if (!strcmp(f, "--out")) {
            out = v;
        } else if (!strcmp(f, "--problem")) {
            problem_dir = v;
        } else if (!strcmp(f, "--max-memory")) {
            if (no_res_max_memory_arg(v, err, sizeof err))
                return no_cmd_usage_error(err);
        } else {
            if (no_spec_arg_or_unknown(&spec, f, v, err, sizeof err))
                return no_cmd_usage_error(err);
            gave_problem = 1;
        }
        i++;
    }
    int use_ref = strcmp(impl, "fast") != 0, use_fast = strcmp(impl, "ref") != 0;
    if (problem_dir && gave_problem)
        return no_cmd_usage_error("give either --problem DIR or problem options, not both");
    if (flow && use_fast)
        return no_cmd_usage_error("--flow: the gradient flow is computed by the reference only "
                                  "(--impl ref)");
    if (flow_tol > 0 && !flow)
        return no_cmd_usage_error("--flow-tol needs --flow");
    if (params && !out)
        return no_cmd_usage_error("--params needs --out DIR");
    if (!problem_dir && no_spec_validate(&spec, NO_REQ_NONE, err, sizeof err))
        return no_cmd_usage_error(err);
    no_problem p;
    if (problem_dir) {
        if (no_problem_dir_read(problem_dir, &p, err, sizeof err))
            return no_report_error(err);
        spec = p.spec;
    }
    /* memory: the runs (two reference precisions alive in turn, the flow's
     * seven stages), and the records (parameters kept for both and params) */
    size_t K = ref_train_nparams(&spec);
    double rec = (double)(steps + 1) * (double)((use_fast && use_ref) || params ? K + 16 : 16) * 8;
    double need = rec * (use_ref && use_fast ? 2 : 1) + no_res_compare_bytes(&spec, prec) +
                  (use_ref ? (double)K * 12 * ref_number_bytes(prec + prec / 2 + 32) : 0);
    if ((double)(steps + 1) * (double)K > (double)NO_MAX_ELEMENTS && (params || use_fast)) {
        snprintf(err, sizeof err,
                 "--steps %ld: the parameter record, %ld x %zu numbers, exceeds 2^28; reduce "
                 "--steps",
                 steps, steps + 1, K);
        if (problem_dir)
            no_problem_free(&p);
        return no_report_error(err);
    }
    if (no_res_require(need, "this training run", "reduce --steps", err, sizeof err)) {
        if (problem_dir)
            no_problem_free(&p);
        return no_report_error(err);
    }
    if (!problem_dir && no_problem_generate(&p, &spec, err, sizeof err))
        return no_cmd_usage_error(err);
    if (out && no_path_mkdirs(out, err, sizeof err)) {
        no_problem_free(&p);
        return no_report_error(err);
    }

    prog_ctx pc = {use_ref ? "ref" : "fast"};
    ref_train_traj rt;
    fast_train_traj ft;
    no_train_cmp cmp;
    memset(&rt, 0, sizeof rt);
    memset(&ft, 0, sizeof ft);
    memset(&cmp, 0, sizeof cmp);
    int rc = 0;
    no_progress_begin("train");
    if (use_ref && use_fast) {
        rc = no_train_compare(&p, prec, (size_t)steps, eta, on_progress, &pc, &cmp, err,
                              sizeof err);
    } else if (use_ref) {
        ref_train_opts o;
        memset(&o, 0, sizeof o);
        o.steps = (size_t)steps;
        o.eta = eta;
        o.flow = flow;
        o.flow_tol = flow_tol;
        o.keep_params = params;
        o.progress = on_progress;
        o.progress_ctx = &pc;
        rc = ref_train_certify(&p, prec, &o, &rt, err, sizeof err);
    } else {
        rc = fast_train_gd(&p, (size_t)steps, eta, params, on_progress, &pc, &ft, err,
                           sizeof err);
    }
    no_progress_end();
    if (rc) {
        no_problem_free(&p);
        return no_report_error(err);
    }
    const ref_train_traj *r = use_ref && use_fast ? &cmp.ref : use_ref ? &rt : NULL;
    const fast_train_traj *fa = use_ref && use_fast ? &cmp.fast : use_fast ? &ft : NULL;
    const no_train_cmp *c = use_ref && use_fast ? &cmp : NULL;
    runs x = {(size_t)steps, eta, r, fa, c};
    const double *F = r ? r->F : fa->F, *g2 = r ? r->gnorm2 : fa->gnorm2;
    const double *tn = r ? r->theta_norm : fa->theta_norm, *td = r ? r->theta_dist : fa->theta_dist;
    int status = c ? c->verdict : NO_EXIT_PASS;
    const char *verdict = !c ? "done"
                          : c->verdict == NO_TRAIN_PASS ? "pass"
                          : c->verdict == NO_TRAIN_FAIL ? "fail"
                                                        : "unverifiable";
    char desc[256];
    no_spec_describe(&spec, desc, sizeof desc);

    if (out) {
        rc = write_npy(out, "trajectory.npy", (size_t)steps, eta, F, g2, tn, td,
                       r ? r->F_bits : NULL, err, sizeof err);
        if (!rc && c)
            rc = write_npy(out, "trajectory_fast.npy", (size_t)steps, eta, fa->F, fa->gnorm2,
                           fa->theta_norm, fa->theta_dist, NULL, err, sizeof err);
        if (!rc && params)
            rc = write_params(out, (size_t)steps, K, r && r->params ? r->params : fa->params, err,
                              sizeof err);
        if (!rc)
            rc = write_csv(out, &x, err, sizeof err);
        if (!rc)
            rc = write_png(out, err, sizeof err);
    }
    if (rc) {
        no_problem_free(&p);
        ref_train_traj_clear(&rt);
        fast_train_traj_clear(&ft);
        no_train_cmp_clear(&cmp);
        return no_report_error(err);
    }

    size_t n1 = (size_t)steps + 1;
    if (json) {
        json_t *root = no_report_json_new("train", "train");
        json_object_set_new(root, "description", json_string(desc));
        json_object_set_new(root, "impl", json_string(impl));
        json_object_set_new(root, "method", json_string(flow ? "gradient_flow" : "gradient_descent"));
        json_object_set_new(root, "steps", json_integer(steps));
        json_object_set_new(root, "eta", no_report_num(eta));
        json_object_set_new(root, "reference_bits_asked", use_ref ? json_integer(prec) : json_null());
        json_object_set_new(root, "verdict", json_string(verdict));
        json_object_set_new(root, "exit_status", json_integer(status));
        json_t *recs = json_object();
        json_object_set_new(recs, "F", series(F, n1));
        json_object_set_new(recs, "grad_norm2", series(g2, n1));
        json_object_set_new(recs, "theta_norm", series(tn, n1));
        json_object_set_new(recs, "theta_dist", series(td, n1));
        if (r)
            json_object_set_new(recs, "F_bits", series(r->F_bits, n1));
        json_object_set_new(root, "records", recs);
        if (c) {
            json_t *o = json_object();
            json_object_set_new(o, "judged", json_integer((json_int_t)c->njudged));
            json_object_set_new(o, "first_unjudged",
                                c->first_unjudged < n1 ? json_integer((json_int_t)c->first_unjudged)
                                                       : json_null());
            json_object_set_new(o, "worst_ratio", no_report_num(c->worst));
            json_object_set_new(o, "worst_iteration", json_integer((json_int_t)c->worst_n));
            json_object_set_new(o, "worst_quantity", json_string(no_train_q_names[c->worst_q]));
            json_object_set_new(o, "first_fail",
                                c->first_fail < n1 ? json_integer((json_int_t)c->first_fail)
                                                   : json_null());
            json_object_set_new(o, "E_bound", series(c->E, n1));
            json_object_set_new(root, "comparison", o);
        }
        no_report_json_print(root);
    } else {
        if (!quiet) {
            printf("%s\n", desc);
            printf("%s, eta=%g, %ld steps, %s%s\n",
                   flow ? "gradient flow (Dormand-Prince 5(4))" : "gradient descent", eta, steps,
                   use_ref && use_fast ? "ref vs fast" : impl,
                   use_ref ? " (ref certified: bits = correct bits of F)" : "");
            printf("%8s %14s %12s %12s %12s %5s", "n", "F", "|G|^2", "|theta|", "|theta-theta0|",
                   r ? "bits" : "");
            if (c)
                printf(" %10s %10s %s", "theta err", "E bound", "judged");
            printf("\n");
            long ev = every ? every : (steps + 9) / 10;
            for (size_t n = 0; n < n1; n++) {
                if (n % (size_t)ev && n + 1 < n1)
                    continue;
                printf("%8zu %14.8e %12.5e %12.6f %12.6f", n, F[n], g2[n], tn[n], td[n]);
                if (r)
                    printf(" %5.0f", r->F_bits[n]);
                if (c)
                    printf(" %10.3e %10.3e %s", c->err[NO_TRAIN_Q_THETA][n], c->E[n],
                           c->judged[n] ? "yes" : "no");
                printf("\n");
            }
            if (r && flow)
                printf("flow: %zu accepted, %zu rejected Dormand-Prince steps\n",
                       r->flow_accepted, r->flow_rejected);
        }
        if (c) {
            printf("nodeoracle train: %s: %zu of %zu iterations judged, worst error/tolerance "
                   "%.3g (%s at n=%zu)",
                   verdict, c->njudged, n1, c->worst, no_train_q_names[c->worst_q], c->worst_n);
            if (c->first_fail < n1)
                printf(", first failure at n=%zu (%s)", c->first_fail,
                       no_train_q_names[c->first_fail_q]);
            if (c->first_unjudged < n1)
                printf(", unverifiable from n=%zu (the error bound is no longer meaningful)",
                       c->first_unjudged);
            printf("\n");
        } else {
            printf("nodeoracle train: %ld steps, F %.6e -> %.6e\n", steps, F[0], F[n1 - 1]);
        }
    }
    no_problem_free(&p);
    ref_train_traj_clear(&rt);
    fast_train_traj_clear(&ft);
    no_train_cmp_clear(&cmp);
    return status;
}
