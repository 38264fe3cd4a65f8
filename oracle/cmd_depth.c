/* cmd_depth.c - `nodeoracle depth`: gradient descent on L layers as L grows,
 * with the fitted order of the loss curves (oracle/depth.h,
 * proofs-notes/depth-limit.md, docs/training.md). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic.h"
#include "cmd.h"
#include "depth.h"
#include "path.h"
#include "plot.h"
#include "progress.h"
#include "report.h"
#include "spec_args.h"

const char no_cmd_depth_help[] =
    "NAME\n"
    "  nodeoracle depth - gradient descent on a ResNet of L layers approaching gradient\n"
    "  descent on the Neural ODE as L grows, with the fitted order of the loss curves\n"
    "\n"
    "SYNOPSIS\n"
    "  nodeoracle depth [--Lmin 16] [--Lmax 512] [--steps 5] [--eta 1] [--level 0.95]\n"
    "                   [--impl fast|ref] [--prec BITS] [--out DIR] [--quiet] [--json]\n"
    "                   [PROBLEM OPTIONS]\n"
    "\n"
    "DESCRIPTION\n"
    "  For L = LMIN, 2 LMIN, ..., LMAX the problem of PROBLEM OPTIONS (with that L, ode\n"
    "  scaling h = 1/L) is trained by STEPS steps of gradient descent theta <- theta -\n"
    "  ETA G(theta), G the metric gradient, from tied parameters: the generator's layer 0\n"
    "  copied to every layer (a constant-in-time theta^0 that does not depend on L; i.i.d.\n"
    "  layers have no depth limit). At each iterate n it records the loss F_L(n) and the\n"
    "  squared metric norm of the gradient |G|^2_L(n).\n"
    "\n"
    "  The limit L -> infinity is gradient descent on the Neural ODE, parameters being\n"
    "  functions of time. Successive differences |X_L(n) - X_2L(n)| are fitted against L\n"
    "  by least squares in log-log; the order is minus the slope, with a Student-t\n"
    "  interval at LEVEL (as in width). A difference of an order-r sequence decays as\n"
    "  L^-r, so no limit needs to be known. Differences that reach the runs' rounding\n"
    "  (below 2^-40 of the values with fast, 2^-46 with ref) are not fitted. The table\n"
    "  also gives the Richardson estimate of the limit from the two deepest runs.\n"
    "\n"
    "  Derived orders (proofs-notes/depth-limit.md), p the scheme's order: the loss at\n"
    "  n = 0 (one forward pass) converges at p; the loss at n >= 1 and |G|^2 at every n\n"
    "  at min(p, 2). A ResNet's parameters are piecewise constant in time: the part of\n"
    "  the continuous gradient a layer cannot hold is O(h) and enters the loss\n"
    "  quadratically. Each fit line says whether its interval contains the derived\n"
    "  order; when it does not, the table shows whether the differences are still\n"
    "  pre-asymptotic (raise LMIN).\n"
    "\n"
    "OPTIONS\n"
    "  --Lmin L, --Lmax L  powers of two, LMAX >= 8 LMIN, LMAX <= 2^14 (default 16 and\n"
    "                 512)\n"
    "  --steps N      gradient-descent iterations, 1..1000 (default 5)\n"
    "  --eta E        step, a finite number > 0 (default 1)\n"
    "  --level P      confidence level of the interval, in (0, 1) (default 0.95)\n"
    "  --impl I       fast (default: double, fast/) or ref (MPFR at --prec bits, slower)\n"
    "  --prec BITS    bits of the runs with --impl ref, 53..43691 (default 128)\n"
    "  --out DIR      write depth.csv (one row per iterate n and depth L) and, when\n"
    "                 gnuplot is installed, depth.png (log-log differences at n = 0 and\n"
    "                 n = STEPS with the fitted lines) into DIR, created if missing; each\n"
    "                 file is written under a temporary name and renamed; nothing else is\n"
    "                 touched\n"
    "  --quiet        no table and no progress; only the fit lines\n"
    "  --json         one JSON object on stdout (kind \"depth\"); on a usage or input\n"
    "                 error the error object\n"
    "  PROBLEM OPTIONS  the problem options below; --L is replaced by --Lmin/--Lmax,\n"
    "                 --scaling must be ode and --activation smooth (tanh, softplus)\n"
    "\n"
    "EXIT STATUS\n"
    "  0 done (whatever the fitted orders); 2 usage or input error (one line on stderr).\n"
    "\n"
    "EXAMPLES\n"
    "  nodeoracle depth --scheme rk4\n"
    "  nodeoracle depth --family rff --scheme heun --Lmin 32 --Lmax 1024 --out depth-run\n"
    "  nodeoracle depth --family mlp --scheme euler --steps 10 --eta 0.5 --json\n"
    "\n";

static void on_progress(void *ctx, size_t done, size_t total)
{
    (void)ctx;
    no_progress_tick("depth", "depth", done, total, (double)done / (double)total);
}

static const char *qname[NO_DEPTH_NQ] = {"loss", "gnorm2"};

static int write_csv(const char *dir, const no_depth_result *r, char *err, size_t len)
{
    no_atomic w;
    if (no_atomic_open_in(&w, dir, "depth.csv", err, len))
        return -1;
    /* dF, dgnorm2: |X_L - X_2L|, empty on the deepest row */
    fprintf(w.f, "n,L,F,dF,gnorm2,dgnorm2\n");
    for (size_t n = 0; n <= r->steps; n++)
        for (size_t i = 0; i < r->nL; i++) {
            fprintf(w.f, "%zu,%zu", n, r->L[i]);
            for (int k = 0; k < NO_DEPTH_NQ; k++) {
                fprintf(w.f, ",%.17g,", r->val[k][n * r->nL + i]);
                if (i + 1 < r->nL)
                    fprintf(w.f, "%.17g", r->diff[k][n * (r->nL - 1) + i]);
            }
            fputc('\n', w.f);
        }
    return no_atomic_commit(&w, err, len);
}

/* depth.png: |dF| against L at n = 0 and n = steps, with the fitted lines. */
static void plot_body(FILE *g, const char *csv, const void *ctx)
{
    const no_depth_result *r = ctx;
    size_t ns[2] = {0, r->steps};
    fprintf(g, "set logscale x 2\nset logscale y 10\nset format y '%%.0e'\n"
               "set xlabel 'layers L'\n"
               "set ylabel '|F_L(n) - F_2L(n)|'\nset grid\nset key bottom left\nplot ");
    for (int s = 0; s < 2; s++) {
        const no_fit *f = &r->fit[NO_DEPTH_LOSS][ns[s]];
        fprintf(g,
                "%s'%s' skip 1 using 2:($1 == %zu && valid(4) ? $4 : 1/0) with points pt %d "
                "title 'n = %zu'",
                s ? ", " : "", csv, ns[s], s ? 5 : 7, ns[s]);
        if (f->ok)
            fprintf(g, ", exp(%.17g) * x**(%.17g) with lines title 'order %.3f [%.3f, %.3f]'",
                    f->intercept, f->slope, -f->slope, -f->hi, -f->lo);
    }
    fputc('\n', g);
}

static int write_png(const char *dir, const no_depth_result *r, char *err, size_t len)
{
    if (strchr(dir, '"'))
        return 0;
    return no_plot_png(dir, "depth.csv", "depth.png", plot_body, r, err, len);
}

static int contains(const no_fit *f, int expected)
{
    /* the interval of the slope is [lo, hi]; the order is its negative */
    return f->ok && -f->hi <= expected && expected <= -f->lo;
}

static void print_fit(const no_depth_result *r, size_t n, int k, double level)
{
    const no_fit *f = &r->fit[k][n];
    int e = r->expected[k][n];
    if (!f->ok) {
        printf("n=%zu %-6s: no fit (%zu differences above the rounding floor; 3 needed): "
               "derived order %d\n",
               n, qname[k], r->kept[k][n], e);
        return;
    }
    printf("n=%zu %-6s: order %.4f, %.0f%% interval [%.4f, %.4f] (se %.4f, %zu points): "
           "%s the derived order %d\n",
           n, qname[k], -f->slope, 100 * level, -f->hi, -f->lo, f->se, f->points,
           contains(f, e) ? "contains" : "excludes", e);
}

static json_t *fit_json(const no_depth_result *r, size_t n, int k)
{
    const no_fit *f = &r->fit[k][n];
    json_t *o = json_object();
    json_object_set_new(o, "n", json_integer((json_int_t)n));
    json_object_set_new(o, "quantity", json_string(qname[k]));
    json_object_set_new(o, "order", no_report_num(-f->slope));
    json_object_set_new(o, "lo", no_report_num(-f->hi));
    json_object_set_new(o, "hi", no_report_num(-f->lo));
    json_object_set_new(o, "se", no_report_num(f->se));
    json_object_set_new(o, "t", no_report_num(f->t));
    json_object_set_new(o, "points", json_integer((json_int_t)r->kept[k][n]));
    json_object_set_new(o, "expected", json_integer(r->expected[k][n]));
    json_object_set_new(o, "contains_expected", json_boolean(contains(f, r->expected[k][n])));
    json_object_set_new(o, "limit", no_report_num(r->limit[k][n]));
    return o;
}

static void print_json(const no_depth_opts *o, const no_depth_result *r, const char *desc)
{
    json_t *root = no_report_json_new("depth", "depth");
    json_object_set_new(root, "description", json_string(desc));
    json_object_set_new(root, "impl", json_string(o->impl == NO_DEPTH_REF ? "ref" : "fast"));
    json_object_set_new(root, "steps", json_integer((json_int_t)o->steps));
    json_object_set_new(root, "eta", no_report_num(o->eta));
    json_object_set_new(root, "level", no_report_num(o->level));
    json_object_set_new(root, "scheme_order", json_integer(r->scheme_order));
    json_t *rows = json_array(), *fits = json_array();
    for (size_t n = 0; n <= r->steps; n++) {
        for (size_t i = 0; i < r->nL; i++) {
            json_t *row = json_object();
            json_object_set_new(row, "n", json_integer((json_int_t)n));
            json_object_set_new(row, "L", json_integer((json_int_t)r->L[i]));
            json_object_set_new(row, "F", no_report_num(r->val[NO_DEPTH_LOSS][n * r->nL + i]));
            json_object_set_new(row, "gnorm2",
                                no_report_num(r->val[NO_DEPTH_GNORM2][n * r->nL + i]));
            json_array_append_new(rows, row);
        }
        for (int k = 0; k < NO_DEPTH_NQ; k++)
            json_array_append_new(fits, fit_json(r, n, k));
    }
    json_object_set_new(root, "rows", rows);
    json_object_set_new(root, "fits", fits);
    json_object_set_new(root, "exit_status", json_integer(NO_EXIT_PASS));
    no_report_json_print(root);
}

static void print_table(const no_depth_result *r, size_t n)
{
    printf("\n  n = %zu\n  %7s  %22s  %12s  %22s  %12s\n", n, "L", "F_L", "|F_L - F_2L|",
           "|G|^2_L", "|dG|^2");
    for (size_t i = 0; i < r->nL; i++) {
        printf("  %7zu  %22.15e", r->L[i], r->val[NO_DEPTH_LOSS][n * r->nL + i]);
        if (i + 1 < r->nL)
            printf("  %12.4e", r->diff[NO_DEPTH_LOSS][n * (r->nL - 1) + i]);
        else
            printf("  %12s", "");
        printf("  %22.15e", r->val[NO_DEPTH_GNORM2][n * r->nL + i]);
        if (i + 1 < r->nL)
            printf("  %12.4e", r->diff[NO_DEPTH_GNORM2][n * (r->nL - 1) + i]);
        printf("\n");
    }
    printf("  %7s  %22.15e  %12s  %22.15e   (Richardson, derived orders %d, %d)\n", "limit",
           r->limit[NO_DEPTH_LOSS][n], "", r->limit[NO_DEPTH_GNORM2][n],
           r->expected[NO_DEPTH_LOSS][n], r->expected[NO_DEPTH_GNORM2][n]);
}

int no_cmd_depth(int argc, char **argv)
{
    no_depth_opts o;
    memset(&o, 0, sizeof o);
    no_spec_default(&o.spec);
    o.Lmin = 16;
    o.Lmax = 512;
    o.steps = 5;
    o.eta = 1;
    o.prec = 128;
    o.level = 0.95;
    o.impl = NO_DEPTH_FAST;
    const char *out = NULL;
    int json = 0, quiet = 0;
    char err[512];
    no_cmd_json_prescan(argc, argv, "depth", NULL);
    for (int i = 0; i < argc; i++) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int a = no_cmd_arg_common(f, v, &json, &quiet);
        if (a == NO_CMD_ARG_HELP) {
            fputs(no_cmd_depth_help, stdout);
            fputs(no_spec_args_help, stdout);
            return NO_EXIT_PASS;
        }
        if (a == NO_CMD_ARG_SWITCH)
            continue;
        if (a != NO_CMD_ARG_VALUE)
            return a;
        int bad = 0;
        if (!strcmp(f, "--Lmin"))
            bad = no_cmd_parse_count(f, v, 1, (size_t)1 << 14, &o.Lmin, err, sizeof err);
        else if (!strcmp(f, "--Lmax"))
            bad = no_cmd_parse_count(f, v, 1, (size_t)1 << 14, &o.Lmax, err, sizeof err);
        else if (!strcmp(f, "--steps"))
            bad = no_cmd_parse_count(f, v, 1, 1000, &o.steps, err, sizeof err);
        else if (!strcmp(f, "--eta"))
            bad = no_cmd_parse_real(f, v, 0, 1e6, 1, &o.eta, err, sizeof err);
        else if (!strcmp(f, "--level"))
            bad = no_cmd_parse_real(f, v, 0, 0.999999, 1, &o.level, err, sizeof err);
        else if (!strcmp(f, "--impl")) {
            int is_ref = 0;
            bad = no_cmd_parse_impl(v, &is_ref, err, sizeof err);
            o.impl = is_ref ? NO_DEPTH_REF : NO_DEPTH_FAST;
        } else if (!strcmp(f, "--prec")) {
            if (no_cmd_parse_prec(v, &o.prec))
                return no_cmd_prec_error(v);
        } else if (!strcmp(f, "--out")) {
            out = v;
        } else if (!strcmp(f, "--L")) {
            snprintf(err, sizeof err, "--L: not an option of depth (the depths are "
                                      "--Lmin..--Lmax)");
            bad = 1;
        } else {
            bad = no_spec_arg_or_unknown(&o.spec, f, v, err, sizeof err);
        }
        if (bad)
            return no_cmd_usage_error(err);
        i++;
    }
    o.spec.L = o.Lmin;
    if (no_depth_validate(&o, err, sizeof err))
        return no_cmd_usage_error(err);
    if (out && no_path_mkdirs(out, err, sizeof err))
        return no_report_error(err);
    if (!quiet)
        o.progress = on_progress;
    no_depth_result r;
    no_progress_begin("depth");
    int rc = no_depth_run(&o, &r, err, sizeof err);
    no_progress_end();
    if (rc)
        return no_report_error(err);
    if (out && (write_csv(out, &r, err, sizeof err) || write_png(out, &r, err, sizeof err))) {
        no_depth_result_clear(&r);
        return no_report_error(err);
    }
    char desc[256];
    no_spec_describe(&o.spec, desc, sizeof desc);
    if (json) {
        print_json(&o, &r, desc);
        no_depth_result_clear(&r);
        return NO_EXIT_PASS;
    }
    size_t shown[3] = {0, 1, r.steps};
    int nshown = r.steps > 1 ? 3 : 2;
    if (!quiet) {
        printf("depth limit: %s\n", desc);
        printf("  GD (%s) from tied parameters, eta %g, L = %zu..%zu; scheme order p = %d\n",
               o.impl == NO_DEPTH_REF ? "ref" : "fast", o.eta, o.Lmin, o.Lmax,
               r.scheme_order);
        for (int s = 0; s < nshown; s++)
            print_table(&r, shown[s]);
        printf("\n");
    }
    for (int s = 0; s < nshown; s++)
        for (int k = 0; k < NO_DEPTH_NQ; k++)
            print_fit(&r, shown[s], k, o.level);
    if (!quiet)
        printf("(derived orders: loss p at n = 0, min(p, 2) after; |G|^2 min(p, 2); "
               "%.1f s CPU)\n",
               r.seconds);
    no_depth_result_clear(&r);
    return NO_EXIT_PASS;
}
