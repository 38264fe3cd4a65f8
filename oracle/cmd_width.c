/* cmd_width.c - `nodeoracle width`: the width limits with fitted rates: rff
 * GD -> kernel GD as q grows, mlp GD -> its mean-field limit as M grows
 * (oracle/width.h, proofs-notes/width-limit.md, docs/training.md). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomic.h"
#include "cmd.h"
#include "path.h"
#include "plot.h"
#include "progress.h"
#include "report.h"
#include "spec_args.h"
#include "width.h"

const char no_cmd_width_help[] =
    "NAME\n"
    "  nodeoracle width - the width limits with fitted rates and confidence intervals:\n"
    "  rff gradient descent approaching kernel gradient descent as the number of features\n"
    "  q grows (--family rff, the default), and mlp gradient descent approaching its\n"
    "  mean-field limit as the number of particles M per layer grows (--family mlp)\n"
    "\n"
    "SYNOPSIS\n"
    "  nodeoracle width [--family rff] [--kernel gaussian|matern] [--ell ELL] [--nu NU]\n"
    "                   [--qmin 16] [--qmax 4096] [--seeds 8] [--steps 5] [--eta 1]\n"
    "                   [--level 0.95] [--impl fast|ref] [--prec BITS] [--out DIR]\n"
    "                   [--quiet] [--json] [PROBLEM OPTIONS]\n"
    "  nodeoracle width --family mlp [--init iid|quadrature] [--Mmin 8] [--Mmax 1024]\n"
    "                   [--seeds 8] [--steps 5] [--eta 1] [--level 0.95] [--impl fast|ref]\n"
    "                   [--prec BITS] [--out DIR] [--quiet] [--json] [PROBLEM OPTIONS]\n"
    "\n"
    "DESCRIPTION (--family rff)\n"
    "  One problem fixes the data X, Y, A, B (--seed) and the step grid. The infinite-\n"
    "  width target is RKHS gradient descent with the true kernel (Gaussian of bandwidth\n"
    "  ELL, or Matern NU), from v = 0, computed exactly in MPFR at --prec bits as a finite\n"
    "  kernel expansion (proofs-notes/kernel-gd.md). For every q = QMIN, 2 QMIN, ..., QMAX\n"
    "  and every draw r = 0..SEEDS-1, rff gradient descent W <- W - ETA mgrad_W runs\n"
    "  from W = 0 with a fresh Omega and beta: those of the problem of seed\n"
    "  SEED + 1 + i SEEDS + r (i the index of q), the data kept. At each iterate n it\n"
    "  measures |F_rff(n) - F_kernel(n)| and the normwise output difference\n"
    "  |out_rff(n) - out_kernel(n)|_F / |out_kernel(n)|_F.\n"
    "\n"
    "  Per q the table gives the mean of the loss difference over the draws, the RMS of\n"
    "  the output difference, and the standard deviation of each over the draws, at n = 1\n"
    "  and n = STEPS. log(mean) and log(RMS) are fitted against log q by least squares;\n"
    "  the interval of the slope is slope -+ t se, se the standard error from the\n"
    "  regression residuals and t Student's quantile at (1 + LEVEL)/2 with (number of q)\n"
    "  - 2 degrees of freedom. The draws are independent across q and r, so the points\n"
    "  are independent. The Monte-Carlo rate predicts a slope of -1/2; each fit line says\n"
    "  whether its interval contains it (proofs-notes/width-limit.md).\n"
    "\n"
    "  --impl fast (default) runs rff gradient descent in double (fast/): its error,\n"
    "  about 1e-13 relative, is 10^9 times below the differences measured (q^-1/2 times\n"
    "  O(1)); --impl ref runs it in the MPFR reference at --prec bits (slower).\n"
    "\n"
    "DESCRIPTION (--family mlp)\n"
    "  Propagation of chaos (SPEC 5.6): gradient descent theta <- theta - ETA mgrad, mgrad =\n"
    "  (M/h) grad the COT metric gradient, moves the particles of each layer by a map of\n"
    "  their empirical measure, so the loss F_M(n) after n steps depends on M only through\n"
    "  how well the initial particles represent the initial law (a ~ PARAM_SCALE N(0, I),\n"
    "  u ~ N(0, I/D), b ~ N(0, 1)). One problem fixes the data (--seed). For M = MMIN,\n"
    "  2 MMIN, ..., MMAX:\n"
    "    --init iid (default): SEEDS independent draws, draw r of width index i taking\n"
    "      a, u, b from the problem of seed SEED + 1 + i SEEDS + r, the data kept;\n"
    "    --init quadrature: one deterministic run: the L M particles are the first L M\n"
    "      points of the Sobol sequence in 2 D + 1 dimensions, centred, mapped through the\n"
    "      normal quantile (layer k takes points kM..kM+M-1; every marginal is the\n"
    "      midpoint quantile grid of its law); needs D <= 10.\n"
    "  The infinite-width target F_ref is the quadrature run at M_ref = 16 MMAX. Per M and\n"
    "  n the table gives the mean and standard deviation over the draws of F_M(n) and the\n"
    "  RMS of F_M(n) - F_ref(n); and, over the whole trajectory, the RMS over the draws of\n"
    "  max_n |F_M(n) - F_ref(n)|. Fitted against log M as for rff: iid, the spread (the\n"
    "  standard deviation: no target needed, expected slope -1/2), the error (-1/2) and\n"
    "  the trajectory error (-1/2); quadrature, the error and the trajectory error (about\n"
    "  -1: a quadrature error, not a Monte-Carlo one; log factors and the sign changes of\n"
    "  the per-n error make the trajectory fit the one to read).\n"
    "  (proofs-notes/width-limit.md sections 8-11.)\n"
    "\n"
    "OPTIONS\n"
    "  --qmin Q, --qmax Q  powers of two, QMAX >= 4 QMIN, QMAX <= 2^20\n"
    "                 (default 16 and 4096: q = 2^4 .. 2^12)\n"
    "  --seeds S      draws of the features per q (of the initial particles per M with\n"
    "                 --init iid), 2..10000 (default 8)\n"
    "  --Mmin M, --Mmax M  (mlp) powers of two, MMAX >= 4 MMIN, MMAX <= 2^16 (default 8\n"
    "                 and 1024)\n"
    "  --init I       (mlp) iid or quadrature (default iid)\n"
    "  --steps N      gradient-descent iterations, 1..1000 (default 5); the kernel run\n"
    "                 costs O(N^2) (its expansion grows by one centre per point, stage\n"
    "                 and substep at every iteration)\n"
    "  --eta E        step, a finite number > 0 (default 1)\n"
    "  --level P      confidence level of the interval, in (0, 1) (default 0.95)\n"
    "  --impl I       fast or ref: how the rff (mlp) runs are computed (default fast)\n"
    "  --prec BITS    bits of the kernel run (and of the rff or mlp runs with --impl ref),\n"
    "                 53..43691 (default 128)\n"
    "  --out DIR      write width.csv (one row per iterate n and q; mlp: per n = 0..STEPS\n"
    "                 and M, n,M,draws,F_mean,F_sd,error_rms,F_ref,error_sup) and, when\n"
    "                 gnuplot is installed, width.png (log-log plot at n = STEPS, mlp: of\n"
    "                 the trajectory error, with the fitted lines) into DIR, created if\n"
    "                 missing; each file is written under a\n"
    "                 temporary name and renamed; width replaces only these names and\n"
    "                 never deletes anything else\n"
    "  --quiet        no table and no progress; only the fit lines\n"
    "  --json         one JSON object on stdout (kind \"width\"); on a usage or input\n"
    "                 error the error object\n"
    "  PROBLEM OPTIONS  the problem options below (family rff, discrete adjoint; --q is\n"
    "                 replaced by --qmin/--qmax and --param-scale by W = 0); defaults\n"
    "                 N=8, d_in=2, d_out=2, D=4, L=8, euler, m=1; Matern needs NU in\n"
    "                 {0.5, 1.5, 2.5, 3.5} (the exact kernels of ref/ref_kernel.h).\n"
    "                 mlp: --M is replaced by --Mmin/--Mmax; --activation, --param-scale,\n"
    "                 --scheme, --adjoint apply; --kernel, --ell, --nu do not\n"
    "\n"
    "EXIT STATUS\n"
    "  0 done (whatever the fitted slopes); 2 usage or input error (one line on stderr).\n"
    "\n"
    "EXAMPLES\n"
    "  nodeoracle width --family rff\n"
    "  nodeoracle width --family rff --kernel matern --nu 2.5 --seeds 16 --out width-run\n"
    "  nodeoracle width --kernel gaussian --ell 0.5 --qmin 8 --qmax 1024 --steps 3 --json\n"
    "  nodeoracle width --family mlp\n"
    "  nodeoracle width --family mlp --init quadrature --out width-mlp\n"
    "\n";

typedef struct {
    const char *label;
} prog_ctx;

static void on_progress(void *ctx, size_t done, size_t total)
{
    prog_ctx *c = ctx;
    no_progress_tick((void *)c->label, "run", done, total, (double)done / (double)total);
}

struct no_width_cmd {
    int mlp;
    no_width_opts o;       /* rff */
    no_width_mlp_opts mo;  /* mlp */
    const char *out;
    int json, quiet;
    prog_ctx pc;
};

static int write_csv(const char *dir, const no_width_result *r, char *err, size_t len)
{
    no_atomic w;
    if (no_atomic_open_in(&w, dir, "width.csv", err, len))
        return -1;
    fprintf(w.f, "n,q,seeds,loss_mean,loss_sd,output_rms,output_sd,F_kernel\n");
    for (size_t n = 1; n <= r->steps; n++)
        for (size_t i = 0; i < r->nq; i++) {
            size_t at = (n - 1) * r->nq + i;
            fprintf(w.f, "%zu,%zu,%zu,%.17g,%.17g,%.17g,%.17g,%.17g\n", n, r->q[i], r->seeds,
                    r->stat[NO_WIDTH_LOSS][at], r->sd[NO_WIDTH_LOSS][at],
                    r->stat[NO_WIDTH_OUTPUT][at], r->sd[NO_WIDTH_OUTPUT][at], r->F_kernel[n]);
        }
    return no_atomic_commit(&w, err, len);
}

/* The points at n = steps and the two fitted lines of width.png. */
static void plot_body(FILE *g, const char *csv, const void *ctx)
{
    const no_width_result *r = ctx;
    const no_fit *fl = &r->fit[NO_WIDTH_LOSS][r->steps - 1],
                       *fo = &r->fit[NO_WIDTH_OUTPUT][r->steps - 1];
    fprintf(g,
            "set logscale xy 2\nset xlabel 'features q'\nset ylabel 'difference at n = %zu'\n"
            "set grid\nset key bottom left\n"
            "plot '%s' skip 1 using 2:($1 == %zu ? $4 : 1/0) with points pt 7 "
            "title 'mean |F_rff - F_kernel|', "
            "exp(%.17g) * x**(%.17g) with lines title 'fit, slope %.3f [%.3f, %.3f]', "
            "'' skip 1 using 2:($1 == %zu ? $6 : 1/0) with points pt 5 "
            "title 'RMS |out_rff - out_kernel| / |out_kernel|', "
            "exp(%.17g) * x**(%.17g) with lines title 'fit, slope %.3f [%.3f, %.3f]'\n",
            r->steps, csv, r->steps, fl->intercept, fl->slope, fl->slope, fl->lo, fl->hi,
            r->steps, fo->intercept, fo->slope, fo->slope, fo->lo, fo->hi);
}

/* width.png from width.csv at n = steps, with the two fitted lines.  Skipped
 * (0) without gnuplot (plot.h), with a directory name gnuplot cannot quote,
 * or when a fit failed. */
static int write_png(const char *dir, const no_width_result *r, char *err, size_t len)
{
    if (strchr(dir, '"') || !r->fit[NO_WIDTH_LOSS][r->steps - 1].ok ||
        !r->fit[NO_WIDTH_OUTPUT][r->steps - 1].ok)
        return 0;
    return no_plot_png(dir, "width.csv", "width.png", plot_body, r, err, len);
}

static const char *qname[NO_WIDTH_NQ] = {"loss", "output"};

static int contains_half(const no_fit *f)
{
    return f->ok && f->lo <= -0.5 && -0.5 <= f->hi;
}

static void print_fit(const no_fit *f, size_t n, int k, double level)
{
    if (!f->ok) {
        printf("n=%zu %-6s: no fit (a difference is 0 or not finite)\n", n, qname[k]);
        return;
    }
    printf("n=%zu %-6s: slope %.4f, %.0f%% interval [%.4f, %.4f] (se %.4f, t %.3f, %zu "
           "points): %s -1/2\n",
           n, qname[k], f->slope, 100 * level, f->lo, f->hi, f->se, f->t, f->points,
           contains_half(f) ? "contains" : "excludes");
}

static json_t *fit_json(const no_fit *f, size_t n, int k)
{
    json_t *o = json_object();
    json_object_set_new(o, "n", json_integer((json_int_t)n));
    json_object_set_new(o, "quantity", json_string(qname[k]));
    json_object_set_new(o, "slope", no_report_num(f->slope));
    json_object_set_new(o, "intercept", no_report_num(f->intercept));
    json_object_set_new(o, "se", no_report_num(f->se));
    json_object_set_new(o, "t", no_report_num(f->t));
    json_object_set_new(o, "lo", no_report_num(f->lo));
    json_object_set_new(o, "hi", no_report_num(f->hi));
    json_object_set_new(o, "points", json_integer((json_int_t)f->points));
    json_object_set_new(o, "contains_minus_half", json_boolean(contains_half(f)));
    return o;
}

/* ---- --family mlp: the mean-field limit (width.h; width-limit.md 8-11) ---- */

static const char *mqname[NO_WIDTH_MLP_NQ] = {"spread", "error"};

/* The slope the derivation predicts: -1/2 for the iid spread and error,
 * -1 (up to log factors) for the quadrature error. */
static double mlp_expected(const no_width_mlp_result *r, int k)
{
    return k != NO_WIDTH_MLP_SPREAD && r->init == NO_WIDTH_QUADRATURE ? -1.0 : -0.5;
}

static int mlp_write_csv(const char *dir, const no_width_mlp_result *r, char *err, size_t len)
{
    no_atomic w;
    if (no_atomic_open_in(&w, dir, "width.csv", err, len))
        return -1;
    fprintf(w.f, "n,M,draws,F_mean,F_sd,error_rms,F_ref,error_sup\n");
    for (size_t n = 0; n <= r->steps; n++)
        for (size_t i = 0; i < r->nM; i++) {
            size_t at = n * r->nM + i;
            fprintf(w.f, "%zu,%zu,%zu,%.17g,%.17g,%.17g,%.17g,%.17g\n", n, r->M[i], r->draws,
                    r->mean[at], r->sd[at], r->err[at], r->F_ref[n], r->traj[i]);
        }
    return no_atomic_commit(&w, err, len);
}

/* The trajectory error (and, iid, the spread at n = steps) with the fitted
 * lines: width.png (mlp). */
static void mlp_plot_body(FILE *g, const char *csv, const void *ctx)
{
    const no_width_mlp_result *r = ctx;
    const no_fit *fe = &r->traj_fit, *fs = &r->fit[NO_WIDTH_MLP_SPREAD][r->steps];
    fprintf(g,
            "set logscale xy 2\nset xlabel 'particles per layer M'\n"
            "set ylabel 'loss difference'\nset grid\nset key bottom left\n"
            "plot '%s' skip 1 using 2:($1 == 0 ? $8 : 1/0) with points pt 7 "
            "title '%s max_n |F_M(n) - F_{ref}(n)|', "
            "exp(%.17g) * x**(%.17g) with lines title 'fit, slope %.3f [%.3f, %.3f]'",
            csv, r->init == NO_WIDTH_IID ? "iid: RMS of" : "quadrature:", fe->intercept,
            fe->slope, fe->slope, fe->lo, fe->hi);
    if (r->init == NO_WIDTH_IID)
        fprintf(g,
                ", '' skip 1 using 2:($1 == %zu ? $5 : 1/0) with points pt 5 "
                "title 'iid: sd of F_M over draws', "
                "exp(%.17g) * x**(%.17g) with lines title 'fit, slope %.3f [%.3f, %.3f]'",
                r->steps, fs->intercept, fs->slope, fs->slope, fs->lo, fs->hi);
    fprintf(g, "\n");
}

static int mlp_write_png(const char *dir, const no_width_mlp_result *r, char *err, size_t len)
{
    if (strchr(dir, '"') || !r->traj_fit.ok ||
        (r->init == NO_WIDTH_IID && !r->fit[NO_WIDTH_MLP_SPREAD][r->steps].ok))
        return 0;
    return no_plot_png(dir, "width.csv", "width.png", mlp_plot_body, r, err, len);
}

static int mlp_contains(const no_fit *f, double x)
{
    return f->ok && f->lo <= x && x <= f->hi;
}

/* k = NO_WIDTH_MLP_NQ: the trajectory fit */
static const no_fit *mlp_fit(const no_width_mlp_result *r, size_t n, int k)
{
    return k == NO_WIDTH_MLP_NQ ? &r->traj_fit : &r->fit[k][n];
}

static void mlp_print_fit(const no_width_mlp_result *r, size_t n, int k, double level)
{
    const no_fit *f = mlp_fit(r, n, k);
    const char *name = k == NO_WIDTH_MLP_NQ ? "sup_n error" : mqname[k];
    char at[32];
    if (k == NO_WIDTH_MLP_NQ)
        snprintf(at, sizeof at, "n=0..%zu", n);
    else
        snprintf(at, sizeof at, "n=%zu", n);
    if (!f->ok) {
        printf("%s %-6s: no fit (a value is 0 or not finite)\n", at, name);
        return;
    }
    double e = mlp_expected(r, k);
    printf("%s %-6s: slope %.4f, %.0f%% interval [%.4f, %.4f] (se %.4f, t %.3f, %zu "
           "points): %s %s\n",
           at, name, f->slope, 100 * level, f->lo, f->hi, f->se, f->t, f->points,
           mlp_contains(f, e) ? "contains" : "excludes", e == -1.0 ? "-1" : "-1/2");
}

static json_t *mlp_fit_json(const no_width_mlp_result *r, size_t n, int k)
{
    const no_fit *f = mlp_fit(r, n, k);
    json_t *o = json_object();
    json_object_set_new(o, "n", json_integer((json_int_t)n));
    json_object_set_new(o, "quantity", json_string(k == NO_WIDTH_MLP_NQ ? "trajectory"
                                                                        : mqname[k]));
    json_object_set_new(o, "slope", no_report_num(f->slope));
    json_object_set_new(o, "intercept", no_report_num(f->intercept));
    json_object_set_new(o, "se", no_report_num(f->se));
    json_object_set_new(o, "t", no_report_num(f->t));
    json_object_set_new(o, "lo", no_report_num(f->lo));
    json_object_set_new(o, "hi", no_report_num(f->hi));
    json_object_set_new(o, "points", json_integer((json_int_t)f->points));
    json_object_set_new(o, "ok", json_boolean(f->ok));
    json_object_set_new(o, "expected_slope", no_report_num(mlp_expected(r, k)));
    json_object_set_new(o, "contains_expected", json_boolean(mlp_contains(f, mlp_expected(r, k))));
    json_object_set_new(o, "contains_minus_half", json_boolean(mlp_contains(f, -0.5)));
    return o;
}

/* The mlp result: --out files, then the table or the JSON report; frees r. */
static int mlp_report(const no_width_mlp_opts *o, const char *out, int json, int quiet,
                      no_width_mlp_result *rp)
{
    char err[512];
    no_width_mlp_result r = *rp;
    if (out && (mlp_write_csv(out, &r, err, sizeof err) ||
                mlp_write_png(out, &r, err, sizeof err))) {
        no_width_mlp_result_clear(&r);
        return no_report_error(err);
    }
    int iid = o->init == NO_WIDTH_IID;
    const char *init = iid ? "iid" : "quadrature";
    char desc[256];
    no_spec_describe(&o->spec, desc, sizeof desc);
    if (json) {
        json_t *root = no_report_json_new("width", "width");
        json_object_set_new(root, "description", json_string(desc));
        json_object_set_new(root, "family", json_string("mlp"));
        json_object_set_new(root, "init", json_string(init));
        json_object_set_new(root, "impl", json_string(o->impl == NO_WIDTH_REF ? "ref" : "fast"));
        json_object_set_new(root, "steps", json_integer((json_int_t)o->steps));
        json_object_set_new(root, "eta", no_report_num(o->eta));
        json_object_set_new(root, "seeds", json_integer((json_int_t)r.draws));
        json_object_set_new(root, "level", no_report_num(o->level));
        json_object_set_new(root, "reference_bits_asked", json_integer(o->prec));
        json_object_set_new(root, "M_ref", json_integer((json_int_t)r.M_ref));
        json_t *fr = json_array(), *rows = json_array(), *fits = json_array();
        for (size_t n = 0; n <= r.steps; n++) {
            json_array_append_new(fr, no_report_num(r.F_ref[n]));
            for (size_t i = 0; i < r.nM; i++) {
                size_t at = n * r.nM + i;
                json_t *row = json_object();
                json_object_set_new(row, "n", json_integer((json_int_t)n));
                json_object_set_new(row, "M", json_integer((json_int_t)r.M[i]));
                json_object_set_new(row, "F_mean", no_report_num(r.mean[at]));
                json_object_set_new(row, "F_sd", no_report_num(r.sd[at]));
                json_object_set_new(row, "error_rms", no_report_num(r.err[at]));
                json_array_append_new(rows, row);
            }
            for (int k = iid ? 0 : NO_WIDTH_MLP_ERROR; k < NO_WIDTH_MLP_NQ; k++)
                json_array_append_new(fits, mlp_fit_json(&r, n, k));
        }
        json_array_append_new(fits, mlp_fit_json(&r, r.steps, NO_WIDTH_MLP_NQ));
        json_t *tr = json_array();
        for (size_t i = 0; i < r.nM; i++) {
            json_t *row = json_object();
            json_object_set_new(row, "M", json_integer((json_int_t)r.M[i]));
            json_object_set_new(row, "error_sup", no_report_num(r.traj[i]));
            json_array_append_new(tr, row);
        }
        json_object_set_new(root, "trajectory", tr);
        json_object_set_new(root, "F_ref", fr);
        json_object_set_new(root, "rows", rows);
        json_object_set_new(root, "fits", fits);
        json_object_set_new(root, "exit_status", json_integer(NO_EXIT_PASS));
        no_report_json_print(root);
        no_width_mlp_result_clear(&r);
        return NO_EXIT_PASS;
    }
    size_t shown[2] = {0, r.steps};
    if (!quiet) {
        printf("width limit (mean field): %s\n", desc);
        printf("  mlp GD in the COT metric (%s), init %s, eta %g, %zu draw%s per M; target: "
               "quadrature at M_ref = %zu\n",
               o->impl == NO_WIDTH_REF ? "ref" : "fast", init, o->eta, r.draws,
               r.draws == 1 ? "" : "s", r.M_ref);
        for (int s = 0; s < 2; s++) {
            size_t n = shown[s];
            printf("\n  n = %zu (F_ref = %.10g)\n", n, r.F_ref[n]);
            printf("  %8s  %16s  %12s  %12s\n", "M", "mean F_M", "sd", "rms F_M-F_ref");
            for (size_t i = 0; i < r.nM; i++) {
                size_t at = n * r.nM + i;
                printf("  %8zu  %16.10g  %12.4e  %12.4e\n", r.M[i], r.mean[at], r.sd[at],
                       r.err[at]);
            }
        }
        printf("\n  whole trajectory: %smax_n |F_M(n) - F_ref(n)|\n",
               iid ? "RMS over the draws of " : "");
        for (size_t i = 0; i < r.nM; i++)
            printf("  %8zu  %12.4e\n", r.M[i], r.traj[i]);
        printf("\n");
    }
    for (int s = 0; s < 2; s++)
        for (int k = iid ? 0 : NO_WIDTH_MLP_ERROR; k < NO_WIDTH_MLP_NQ; k++)
            mlp_print_fit(&r, shown[s], k, o->level);
    mlp_print_fit(&r, r.steps, NO_WIDTH_MLP_NQ, o->level);
    if (!quiet)
        printf("(expected slopes: %s; %.1f s CPU)\n",
               iid ? "-1/2 for the spread and the error (propagation of chaos)"
                   : "-1 up to log factors for the quadrature error",
               r.seconds);
    no_width_mlp_result_clear(&r);
    return NO_EXIT_PASS;
}

int no_width_cmd_open(int argc, char **argv, no_width_cmd **cp)
{
    *cp = NULL;
    no_width_opts o;
    memset(&o, 0, sizeof o);
    no_spec_default(&o.spec);
    o.spec.family = NO_FAMILY_RFF;
    o.qmin = 16;
    o.qmax = 4096;
    o.seeds = 8;
    o.steps = 5;
    o.eta = 1;
    o.prec = 128;
    o.level = 0.95;
    o.impl = NO_WIDTH_FAST;
    no_width_mlp_opts mo;
    memset(&mo, 0, sizeof mo);
    mo.Mmin = 8;
    mo.Mmax = 1024;
    mo.init = NO_WIDTH_IID;
    const char *out = NULL;
    /* the first option given that only one family takes; checked once the
     * family is known (--family may come last) */
    const char *rff_only = NULL, *mlp_only = NULL, *param_scale = NULL;
    int json = 0, quiet = 0;
    char err[512];
    no_cmd_json_prescan(argc, argv, "width", NULL);
    for (int i = 0; i < argc; i++) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int a = no_cmd_arg_common(f, v, &json, &quiet);
        if (a == NO_CMD_ARG_HELP) {
            fputs(no_cmd_width_help, stdout);
            fputs(no_spec_args_help, stdout);
            return NO_EXIT_PASS;
        }
        if (a == NO_CMD_ARG_SWITCH)
            continue;
        if (a != NO_CMD_ARG_VALUE)
            return a;
        int bad = 0;
        if (!strcmp(f, "--qmin") || !strcmp(f, "--qmax")) {
            bad = no_cmd_parse_count(f, v, 1, (size_t)1 << 20,
                                     !strcmp(f, "--qmin") ? &o.qmin : &o.qmax, err, sizeof err);
            rff_only = rff_only ? rff_only : f;
        } else if (!strcmp(f, "--Mmin") || !strcmp(f, "--Mmax")) {
            bad = no_cmd_parse_count(f, v, 1, (size_t)1 << 16,
                                     !strcmp(f, "--Mmin") ? &mo.Mmin : &mo.Mmax, err, sizeof err);
            mlp_only = mlp_only ? mlp_only : f;
        } else if (!strcmp(f, "--init")) {
            if (!strcmp(v, "iid"))
                mo.init = NO_WIDTH_IID;
            else if (!strcmp(v, "quadrature"))
                mo.init = NO_WIDTH_QUADRATURE;
            else {
                snprintf(err, sizeof err, "--init: expected iid or quadrature, got '%.40s'", v);
                bad = 1;
            }
            mlp_only = mlp_only ? mlp_only : f;
        } else if (!strcmp(f, "--seeds"))
            bad = no_cmd_parse_count(f, v, 2, 10000, &o.seeds, err, sizeof err);
        else if (!strcmp(f, "--steps"))
            bad = no_cmd_parse_count(f, v, 1, 1000, &o.steps, err, sizeof err);
        else if (!strcmp(f, "--eta"))
            bad = no_cmd_parse_real(f, v, 0, 1e6, 1, &o.eta, err, sizeof err);
        else if (!strcmp(f, "--level"))
            bad = no_cmd_parse_real(f, v, 0, 0.999999, 1, &o.level, err, sizeof err);
        else if (!strcmp(f, "--impl")) {
            int is_ref = 0;
            bad = no_cmd_parse_impl(v, &is_ref, err, sizeof err);
            o.impl = is_ref ? NO_WIDTH_REF : NO_WIDTH_FAST;
        } else if (!strcmp(f, "--prec")) {
            if (no_cmd_parse_prec(v, &o.prec))
                return no_cmd_prec_error(v);
        } else if (!strcmp(f, "--out")) {
            out = v;
        } else if (!strcmp(f, "--q") || !strcmp(f, "--M")) {
            snprintf(err, sizeof err, "%s: not an option of width (the widths are %s)", f,
                     !strcmp(f, "--q") ? "--qmin..--qmax" : "--Mmin..--Mmax");
            bad = 1;
        } else {
            if (!strcmp(f, "--param-scale"))
                param_scale = f;
            else if (!strcmp(f, "--activation"))
                mlp_only = mlp_only ? mlp_only : f;
            else if (!strcmp(f, "--kernel") || !strcmp(f, "--ell") || !strcmp(f, "--nu"))
                rff_only = rff_only ? rff_only : f;
            bad = no_spec_arg_or_unknown(&o.spec, f, v, err, sizeof err);
        }
        if (bad)
            return no_cmd_usage_error(err);
        i++;
    }
    no_width_cmd *c = calloc(1, sizeof *c);
    if (!c)
        return no_report_error("out of memory");
    c->out = out;
    c->json = json;
    c->quiet = quiet;
    c->pc.label = "width";
    if (o.spec.family == NO_FAMILY_MLP) {
        if (rff_only) {
            free(c);
            snprintf(err, sizeof err, "%s: an option of width --family rff, not of mlp (whose "
                                      "widths are --Mmin..--Mmax)", rff_only);
            return no_cmd_usage_error(err);
        }
        mo.spec = o.spec;
        mo.seeds = o.seeds;
        mo.steps = o.steps;
        mo.eta = o.eta;
        mo.prec = o.prec;
        mo.level = o.level;
        mo.impl = o.impl;
        mo.spec.q = 0;
        mo.spec.M = mo.Mmin;
        if (no_width_mlp_validate(&mo, err, sizeof err)) {
            free(c);
            return no_cmd_usage_error(err);
        }
        c->mlp = 1;
        c->mo = mo;
        *cp = c;
        return NO_EXIT_PASS;
    }
    if (o.spec.family != NO_FAMILY_RFF) {
        free(c);
        snprintf(err, sizeof err, "--family: the width limit is defined for rff (q -> infinity) "
                                  "and mlp (M -> infinity) only");
        return no_cmd_usage_error(err);
    }
    if (mlp_only || param_scale) {
        free(c);
        snprintf(err, sizeof err, "%s: not an option of width --family rff (%s)",
                 mlp_only ? mlp_only : param_scale,
                 mlp_only ? "it belongs to --family mlp" : "rff starts from W = 0");
        return no_cmd_usage_error(err);
    }
    o.spec.q = o.qmin;
    if (no_width_validate(&o, err, sizeof err)) {
        free(c);
        return no_cmd_usage_error(err);
    }
    c->o = o;
    *cp = c;
    return NO_EXIT_PASS;
}

int no_width_cmd_prepare(no_width_cmd *c)
{
    char err[512];
    if (c->out && no_path_mkdirs(c->out, err, sizeof err))
        return no_report_error(err);
    return NO_EXIT_PASS;
}

int no_width_cmd_sweep(no_width_cmd *c, no_width_sweep **sw)
{
    char err[512];
    if (c->mlp ? no_width_mlp_sweep_open(&c->mo, sw, err, sizeof err)
               : no_width_sweep_open(&c->o, sw, err, sizeof err))
        return no_report_error(err);
    return NO_EXIT_PASS;
}

void no_width_cmd_progress(no_width_cmd *c, size_t done, size_t total)
{
    if (!c->quiet)
        on_progress(&c->pc, done, total);
}

void no_width_cmd_free(no_width_cmd *c)
{
    free(c);
}

/* The rff result: --out files, then the table or the JSON report; frees r. */
static int rff_report(const no_width_opts *op, const char *out, int json, int quiet,
                      no_width_result *rp)
{
    char err[512];
    no_width_opts o = *op;
    no_width_result r = *rp;
    if (out && (write_csv(out, &r, err, sizeof err) || write_png(out, &r, err, sizeof err))) {
        no_width_result_clear(&r);
        return no_report_error(err);
    }
    char desc[256];
    no_spec_describe(&o.spec, desc, sizeof desc);
    size_t shown[2] = {1, r.steps};
    int nshown = r.steps > 1 ? 2 : 1;
    if (json) {
        json_t *root = no_report_json_new("width", "width");
        json_object_set_new(root, "description", json_string(desc));
        json_object_set_new(root, "kernel", json_string(no_kernel_name(o.spec.kernel)));
        json_object_set_new(root, "impl", json_string(o.impl == NO_WIDTH_REF ? "ref" : "fast"));
        json_object_set_new(root, "steps", json_integer((json_int_t)o.steps));
        json_object_set_new(root, "eta", no_report_num(o.eta));
        json_object_set_new(root, "seeds", json_integer((json_int_t)o.seeds));
        json_object_set_new(root, "level", no_report_num(o.level));
        json_object_set_new(root, "reference_bits_asked", json_integer(o.prec));
        json_t *fk = json_array(), *rows = json_array(), *fits = json_array();
        for (size_t n = 0; n <= r.steps; n++)
            json_array_append_new(fk, no_report_num(r.F_kernel[n]));
        for (size_t n = 1; n <= r.steps; n++) {
            for (size_t i = 0; i < r.nq; i++) {
                size_t at = (n - 1) * r.nq + i;
                json_t *row = json_object();
                json_object_set_new(row, "n", json_integer((json_int_t)n));
                json_object_set_new(row, "q", json_integer((json_int_t)r.q[i]));
                json_object_set_new(row, "loss_mean", no_report_num(r.stat[NO_WIDTH_LOSS][at]));
                json_object_set_new(row, "loss_sd", no_report_num(r.sd[NO_WIDTH_LOSS][at]));
                json_object_set_new(row, "output_rms",
                                    no_report_num(r.stat[NO_WIDTH_OUTPUT][at]));
                json_object_set_new(row, "output_sd", no_report_num(r.sd[NO_WIDTH_OUTPUT][at]));
                json_array_append_new(rows, row);
            }
            for (int k = 0; k < NO_WIDTH_NQ; k++)
                json_array_append_new(fits, fit_json(&r.fit[k][n - 1], n, k));
        }
        json_object_set_new(root, "F_kernel", fk);
        json_object_set_new(root, "rows", rows);
        json_object_set_new(root, "fits", fits);
        json_object_set_new(root, "exit_status", json_integer(NO_EXIT_PASS));
        no_report_json_print(root);
        no_width_result_clear(&r);
        return NO_EXIT_PASS;
    }
    if (!quiet) {
        printf("width limit: %s\n", desc);
        printf("  rff GD (%s) from W = 0 vs kernel GD (%s, ref %ld bits) from v = 0; eta %g, "
               "%zu draws per q\n",
               o.impl == NO_WIDTH_REF ? "ref" : "fast", no_kernel_name(o.spec.kernel), o.prec,
               o.eta, o.seeds);
        for (int s = 0; s < nshown; s++) {
            size_t n = shown[s];
            printf("\n  n = %zu (F_kernel = %.6g)\n", n, r.F_kernel[n]);
            printf("  %8s  %12s  %12s  %12s  %12s\n", "q", "mean |dF|", "sd", "rms |dout|",
                   "sd");
            for (size_t i = 0; i < r.nq; i++) {
                size_t at = (n - 1) * r.nq + i;
                printf("  %8zu  %12.4e  %12.4e  %12.4e  %12.4e\n", r.q[i],
                       r.stat[NO_WIDTH_LOSS][at], r.sd[NO_WIDTH_LOSS][at],
                       r.stat[NO_WIDTH_OUTPUT][at], r.sd[NO_WIDTH_OUTPUT][at]);
            }
        }
        printf("\n");
    }
    for (int s = 0; s < nshown; s++)
        for (int k = 0; k < NO_WIDTH_NQ; k++)
            print_fit(&r.fit[k][shown[s] - 1], shown[s], k, o.level);
    if (!quiet)
        printf("(expected slope -1/2, the Monte-Carlo rate; %.1f s CPU)\n", r.seconds);
    no_width_result_clear(&r);
    return NO_EXIT_PASS;
}

int no_width_cmd_finish(no_width_cmd *c, no_width_sweep *sw, double cpu_seconds)
{
    char err[512];
    int rc;
    if (c->mlp) {
        no_width_mlp_result r;
        if (no_width_mlp_sweep_close(sw, &r, err, sizeof err))
            rc = no_report_error(err);
        else {
            if (cpu_seconds >= 0)
                r.seconds = cpu_seconds;
            rc = mlp_report(&c->mo, c->out, c->json, c->quiet, &r);
        }
    } else {
        no_width_result r;
        if (no_width_sweep_close(sw, &r, err, sizeof err))
            rc = no_report_error(err);
        else {
            if (cpu_seconds >= 0)
                r.seconds = cpu_seconds;
            rc = rff_report(&c->o, c->out, c->json, c->quiet, &r);
        }
    }
    no_width_cmd_free(c);
    return rc;
}

int no_cmd_width(int argc, char **argv)
{
    no_width_cmd *c;
    int rc = no_width_cmd_open(argc, argv, &c);
    if (!c)
        return rc;
    no_width_sweep *sw;
    if ((rc = no_width_cmd_prepare(c)) || (rc = no_width_cmd_sweep(c, &sw))) {
        no_width_cmd_free(c);
        return rc;
    }
    char err[512];
    no_progress_begin("width");
    rc = no_width_sweep_all(sw, c->quiet ? NULL : on_progress, &c->pc, err, sizeof err);
    no_progress_end();
    if (rc) {
        no_width_sweep_free(sw);
        no_width_cmd_free(c);
        return no_report_error(err);
    }
    return no_width_cmd_finish(c, sw, -1);
}
