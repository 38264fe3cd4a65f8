/* cmd_width.c - `nodeoracle width`: the width limit, rff GD -> kernel GD as
 * q grows, with the fitted rate (oracle/width.h, proofs-notes/width-limit.md,
 * docs/training.md). */
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
    "  nodeoracle width - rff gradient descent approaching kernel gradient descent as the\n"
    "  number of features q grows, with the fitted rate and its confidence interval\n"
    "\n"
    "SYNOPSIS\n"
    "  nodeoracle width [--family rff] [--kernel gaussian|matern] [--ell ELL] [--nu NU]\n"
    "                   [--qmin 16] [--qmax 4096] [--seeds 8] [--steps 5] [--eta 1]\n"
    "                   [--level 0.95] [--impl fast|ref] [--prec BITS] [--out DIR]\n"
    "                   [--quiet] [--json] [PROBLEM OPTIONS]\n"
    "\n"
    "DESCRIPTION\n"
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
    "OPTIONS\n"
    "  --qmin Q, --qmax Q  powers of two, QMAX >= 4 QMIN, QMAX <= 2^20\n"
    "                 (default 16 and 4096: q = 2^4 .. 2^12)\n"
    "  --seeds S      draws of the features per q, 2..10000 (default 8)\n"
    "  --steps N      gradient-descent iterations, 1..1000 (default 5); the kernel run\n"
    "                 costs O(N^2) (its expansion grows by one centre per point, stage\n"
    "                 and substep at every iteration)\n"
    "  --eta E        step, a finite number > 0 (default 1)\n"
    "  --level P      confidence level of the interval, in (0, 1) (default 0.95)\n"
    "  --impl I       fast or ref: how the rff runs are computed (default fast)\n"
    "  --prec BITS    bits of the kernel run (and of the rff runs with --impl ref),\n"
    "                 53..43691 (default 128)\n"
    "  --out DIR      write width.csv (one row per iterate n and q) and, when gnuplot is\n"
    "                 installed, width.png (log-log plot at n = STEPS with the fitted\n"
    "                 lines) into DIR, created if missing; each file is written under a\n"
    "                 temporary name and renamed; width replaces only these names and\n"
    "                 never deletes anything else\n"
    "  --quiet        no table and no progress; only the fit lines\n"
    "  --json         one JSON object on stdout (kind \"width\"); on a usage or input\n"
    "                 error the error object\n"
    "  PROBLEM OPTIONS  the problem options below (family rff, discrete adjoint; --q is\n"
    "                 replaced by --qmin/--qmax and --param-scale by W = 0); defaults\n"
    "                 N=8, d_in=2, d_out=2, D=4, L=8, euler, m=1; Matern needs NU in\n"
    "                 {0.5, 1.5, 2.5, 3.5} (the exact kernels of ref/ref_kernel.h)\n"
    "\n"
    "EXIT STATUS\n"
    "  0 done (whatever the fitted slopes); 2 usage or input error (one line on stderr).\n"
    "\n"
    "EXAMPLES\n"
    "  nodeoracle width --family rff\n"
    "  nodeoracle width --family rff --kernel matern --nu 2.5 --seeds 16 --out width-run\n"
    "  nodeoracle width --kernel gaussian --ell 0.5 --qmin 8 --qmax 1024 --steps 3 --json\n"
    "\n";

typedef struct {
    const char *label;
} prog_ctx;

static void on_progress(void *ctx, size_t done, size_t total)
{
    prog_ctx *c = ctx;
    no_progress_tick((void *)c->label, "run", done, total, (double)done / (double)total);
}

static int write_csv(const char *dir, const no_width_result *r, char *err, size_t len)
{
    char path[NO_PATH_MAX];
    if (no_path_join(path, sizeof path, dir, "width.csv", err, len))
        return -1;
    no_atomic w;
    if (no_atomic_open(&w, path, err, len))
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

int no_cmd_width(int argc, char **argv)
{
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
    const char *out = NULL;
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
        if (!strcmp(f, "--qmin"))
            bad = no_cmd_parse_count(f, v, 1, (size_t)1 << 20, &o.qmin, err, sizeof err);
        else if (!strcmp(f, "--qmax"))
            bad = no_cmd_parse_count(f, v, 1, (size_t)1 << 20, &o.qmax, err, sizeof err);
        else if (!strcmp(f, "--seeds"))
            bad = no_cmd_parse_count(f, v, 2, 10000, &o.seeds, err, sizeof err);
        else if (!strcmp(f, "--steps"))
            bad = no_cmd_parse_count(f, v, 1, 1000, &o.steps, err, sizeof err);
        else if (!strcmp(f, "--eta"))
            bad = no_cmd_parse_real(f, v, 0, 1e6, 1, &o.eta, err, sizeof err);
        else if (!strcmp(f, "--level"))
            bad = no_cmd_parse_real(f, v, 0, 0.999999, 1, &o.level, err, sizeof err);
        else if (!strcmp(f, "--impl")) {
            if (!strcmp(v, "fast"))
                o.impl = NO_WIDTH_FAST;
            else if (!strcmp(v, "ref"))
                o.impl = NO_WIDTH_REF;
            else {
                snprintf(err, sizeof err, "--impl: expected fast or ref, got '%.40s'", v);
                bad = 1;
            }
        } else if (!strcmp(f, "--prec")) {
            if (no_cmd_parse_prec(v, &o.prec))
                return no_cmd_prec_error(v);
        } else if (!strcmp(f, "--out")) {
            out = v;
        } else if (!strcmp(f, "--q") || !strcmp(f, "--param-scale") || !strcmp(f, "--M") ||
                   !strcmp(f, "--activation")) {
            snprintf(err, sizeof err, "%s: not an option of width (%s)", f,
                     !strcmp(f, "--q") ? "the widths are --qmin..--qmax"
                     : !strcmp(f, "--param-scale") ? "rff starts from W = 0"
                                                   : "the family is rff");
            bad = 1;
        } else {
            bad = no_spec_arg_or_unknown(&o.spec, f, v, err, sizeof err);
        }
        if (bad)
            return no_cmd_usage_error(err);
        i++;
    }
    o.spec.q = o.qmin;
    if (no_width_validate(&o, err, sizeof err))
        return no_cmd_usage_error(err);
    if (out && no_path_mkdirs(out, err, sizeof err))
        return no_report_error(err);
    prog_ctx pc = {"width"};
    if (!quiet) {
        o.progress = on_progress;
        o.progress_ctx = &pc;
    }
    no_width_result r;
    no_progress_begin("width");
    int rc = no_width_run(&o, &r, err, sizeof err);
    no_progress_end();
    if (rc)
        return no_report_error(err);
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
