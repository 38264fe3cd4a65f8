/* cmd_cot_flow.c - `nodeoracle cot-flow`: the COT gradient flow of the mlp
 * particles, its energy identity, the discrete identity of gradient descent
 * and the local PL ratio along the flow (ref/ref_cot_flow.h,
 * fast/fast_cot_flow.h, proofs-notes/cot-flow.md, docs/cot-flow.md). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic.h"
#include "cmd.h"
#include "fast_cot_flow.h"
#include "fit.h"
#include "path.h"
#include "plot.h"
#include "progress.h"
#include "ref.h"
#include "ref_cot_flow.h"
#include "report.h"
#include "spec_args.h"

const char no_cmd_cot_flow_help[] =
    "NAME\n"
    "  nodeoracle cot-flow - the COT gradient flow of the mean-field ResNet (mlp): energy\n"
    "  identity, gradient descent's discrete identity, and the local PL ratio\n"
    "\n"
    "SYNOPSIS\n"
    "  nodeoracle cot-flow [--time 1] [--records 8] [--impl ref|fast] [--prec 128]\n"
    "                      [--tol TOL] [--substeps 16] [--certify] [--velocity-scale C]\n"
    "                      [--out DIR] [--quiet] [--json] [PROBLEM OPTIONS]\n"
    "\n"
    "DESCRIPTION\n"
    "  The mlp field v_k(z) = (1/M) sum_j a_kj sigma(u_kj . z + b_kj) is the mean-field\n"
    "  ResNet of the COT paper (seed 000, Barboni-Peyre-Vialard): the measure mu =\n"
    "  (1/L) sum_k delta_{s_k} x (1/M) sum_j delta_{theta_kj}. Its gradient flow for the\n"
    "  conditional optimal transport metric moves every particle theta_kj = (a, u, b) with\n"
    "  velocity V_kj = -grad Psi_k(theta_kj) = -(M/h) dF/dtheta_kj at its own layer, never\n"
    "  across layers: the metric gradient of the finite ResNet (proofs-notes/\n"
    "  metric-gradient.md section 2), so this particle flow is the eta -> 0 limit of\n"
    "  gradient descent with that metric (the paper's finite-width consistency).\n"
    "\n"
    "  Statements evaluated (proofs-notes/cot-flow.md):\n"
    "  * Energy identity: F(t) - F(0) = -int_0^t |V|^2 ds, |V|^2 = h sum_k (1/M) sum_j\n"
    "    |V_kj|^2 = |G|^2 in the COT metric. The flow is integrated with E' = |V|^2; the\n"
    "    column F-F0+E is the identity's residual (ref: Gragg-Bulirsch-Stoer extrapolation\n"
    "    of order 16 at --prec bits, residual ~ the local target; fast: RK4, residual\n"
    "    O(dt^4)).\n"
    "  * Gradient descent satisfies F(theta - eta G) - F(theta) = -eta |G|^2 + O(eta^2):\n"
    "    the residual at the problem's theta for eta = 2^-10..2^-17, its order fitted in\n"
    "    log-log with a 95% Student-t interval (derived order 2).\n"
    "  * Local Polyak-Lojasiewicz ratio PL(t) = |G|^2 / F and its running minimum m(t)\n"
    "    over every step point (the envelope), the initial risk F(0), and the consequences\n"
    "    of the local PL argument along the path: F(t) <= F(0) exp(-m(t) t), the COT\n"
    "    length int |V| <= 2 (sqrt F(0) - sqrt F(t)) / sqrt m(t), and the radius\n"
    "    R = 2 sqrt(F(0) / m(T)) of the ball on which the PL inequality with constant\n"
    "    m(T) would have to hold for the papers' kind of convergence theorem (seeds 000,\n"
    "    001). The papers' own constants are not computable here (proofs-notes).\n"
    "\n"
    "OPTIONS\n"
    "  --time T       final training time, a finite number > 0, at most 1e4 (default 1)\n"
    "  --records K    records at t = n T / K, 1..10000 (default 8)\n"
    "  --impl I       ref (default: MPFR at --prec bits, extrapolation with step control)\n"
    "                 or fast (double, --substeps RK4 steps per record)\n"
    "  --prec BITS    bits of the ref run, 53..43691 (default 128)\n"
    "  --tol TOL      ref: local error target per step, in (0, 1e-3] (default\n"
    "                 2^-(3 BITS / 4))\n"
    "  --substeps S   fast: RK4 steps between records, 1..100000 (default 16)\n"
    "  --certify      ref: run again at BITS + max(32, BITS/2) bits with TOL / 2^10 and\n"
    "                 state the correct bits of each F (column bits)\n"
    "  --velocity-scale C  diagnosis: move with -C G instead of -G (C = 1/M: the velocity\n"
    "                 without the metric's M; C = h/M: the Euclidean gradient); the\n"
    "                 energy identity then fails, which is what it is there to see\n"
    "  --out DIR      write cot_flow.csv (one row per record) and, when gnuplot is\n"
    "                 installed, cot_flow.png (F and the PL ratio against t) into DIR,\n"
    "                 created if missing; each file is written under a temporary name\n"
    "                 and renamed\n"
    "  --quiet        no table and no progress; only the summary lines\n"
    "  --json         one JSON object on stdout (kind \"cot_flow\"); on a usage or input\n"
    "                 error the error object\n"
    "  PROBLEM OPTIONS  the problem options below; the family must be mlp (the default\n"
    "                 here, M = 8) and the activation smooth (tanh, softplus)\n"
    "\n"
    "EXIT STATUS\n"
    "  0 done (whatever the residuals); 2 usage or input error (one line on stderr).\n"
    "\n"
    "EXAMPLES\n"
    "  nodeoracle cot-flow --N 4 --D 2 --L 4 --M 4 --time 0.5\n"
    "  nodeoracle cot-flow --impl fast --time 20 --records 40 --out cot-run\n"
    "  nodeoracle cot-flow --N 4 --D 2 --L 4 --M 4 --velocity-scale 0.25 --json\n"
    "\n";

#define GD_ETAS 8
#define GD_ETA_TOP_LOG2 (-10)

typedef struct {
    size_t records;
    double T;
    double *t, *F, *v2, *energy, *resid, *pl, *pl_env, *length, *dist, *F_bits;
    double resid_rel;
    size_t accepted, rejected, evals;
} flow_view;

/* The Polyak consequences at record r (proofs-notes/cot-flow.md section 4). */
typedef struct {
    double decay_bound;  /* F(0) exp(-m(t) t) */
    double length_bound; /* 2 (sqrt F(0) - sqrt F(t)) / sqrt m(t) */
} polyak;

static polyak polyak_at(const flow_view *v, size_t r)
{
    polyak q;
    double m = v->pl_env[r], F0 = v->F[0];
    q.decay_bound = F0 * exp(-m * v->t[r]);
    q.length_bound = m > 0 ? 2 * (sqrt(F0) - sqrt(v->F[r])) / sqrt(m) : INFINITY;
    return q;
}

/* The checks hold up to the rounding of the records (a relative 2^-40). */
static int decay_holds(const flow_view *v, size_t r)
{
    return v->F[r] <= polyak_at(v, r).decay_bound * (1 + 0x1p-40);
}

static int length_holds(const flow_view *v, size_t r)
{
    return v->length[r] <= polyak_at(v, r).length_bound * (1 + 0x1p-40) + 0x1p-60;
}

static void on_progress(void *ctx, size_t done, size_t total)
{
    no_progress_tick(ctx, "iteration", done - 1, total, (double)done / (double)total);
}

static int write_csv(const char *dir, const flow_view *v, char *err, size_t len)
{
    no_atomic w;
    if (no_atomic_open_in(&w, dir, "cot_flow.csv", err, len))
        return -1;
    fprintf(w.f, "t,F,v2,energy,resid,pl,pl_env,length,dist,F_bits\n");
    for (size_t r = 0; r <= v->records; r++) {
        fprintf(w.f, "%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,", v->t[r], v->F[r],
                v->v2[r], v->energy[r], v->resid[r], v->pl[r], v->pl_env[r], v->length[r],
                v->dist[r]);
        if (v->F_bits)
            fprintf(w.f, "%.0f", v->F_bits[r]);
        fputc('\n', w.f);
    }
    return no_atomic_commit(&w, err, len);
}

static void plot_body(FILE *g, const char *csv, const void *ctx)
{
    (void)ctx;
    fprintf(g, "set logscale y 10\nset format y '%%.1e'\nset xlabel 'training time t'\n"
               "set ylabel 'loss F'\nset y2label 'PL ratio |G|^2/F'\nset y2tics\n"
               "set grid\nset key top right\n"
               "plot '%s' skip 1 using 1:2 with linespoints pt 7 title 'F', "
               "'' skip 1 using 1:6 axes x1y2 with linespoints pt 5 title 'PL ratio', "
               "'' skip 1 using 1:7 axes x1y2 with lines dt 2 title 'PL envelope'\n",
               csv);
}

static double digits_of(double rel)
{
    return rel > 0 ? -log10(rel) : INFINITY;
}

typedef struct {
    double eta[GD_ETAS], resid[GD_ETAS], absr[GD_ETAS];
    no_fit fit;
    /* local orders s_i = log2(r(eta_i) / r(eta_i / 2)) = 2 + c eta_i + O(eta_i^2), and the
     * Richardson value 2 s_last - s_previous = 2 + O(eta^2) (proofs-notes/cot-flow.md
     * section 3): the fit's interval measures scatter, not this bias */
    double local[GD_ETAS - 1], extrapolated;
} gd_check;

static void gd_orders(gd_check *gd)
{
    for (int i = 0; i < GD_ETAS; i++)
        gd->absr[i] = fabs(gd->resid[i]);
    gd->fit = no_fit_loglog(gd->eta, gd->absr, GD_ETAS, 0.95);
    for (int i = 0; i + 1 < GD_ETAS; i++)
        gd->local[i] = log2(gd->absr[i] / gd->absr[i + 1]);
    gd->extrapolated = 2 * gd->local[GD_ETAS - 2] - gd->local[GD_ETAS - 3];
}

static int gd_contains(const no_fit *f)
{
    return f->ok && f->lo <= 2 && 2 <= f->hi;
}

static json_t *rows_json(const flow_view *v)
{
    json_t *rows = json_array();
    for (size_t r = 0; r <= v->records; r++) {
        json_t *o = json_object();
        json_object_set_new(o, "t", no_report_num(v->t[r]));
        json_object_set_new(o, "F", no_report_num(v->F[r]));
        json_object_set_new(o, "v2", no_report_num(v->v2[r]));
        json_object_set_new(o, "energy", no_report_num(v->energy[r]));
        json_object_set_new(o, "resid", no_report_num(v->resid[r]));
        json_object_set_new(o, "pl", no_report_num(v->pl[r]));
        json_object_set_new(o, "pl_env", no_report_num(v->pl_env[r]));
        json_object_set_new(o, "length", no_report_num(v->length[r]));
        json_object_set_new(o, "dist", no_report_num(v->dist[r]));
        polyak q = polyak_at(v, r);
        json_object_set_new(o, "decay_bound", no_report_num(q.decay_bound));
        json_object_set_new(o, "length_bound", no_report_num(q.length_bound));
        if (v->F_bits)
            json_object_set_new(o, "F_bits", no_report_num(v->F_bits[r]));
        json_array_append_new(rows, o);
    }
    return rows;
}

static void print_json(const char *desc, int ref, long prec, double tol, size_t sub, double vs,
                       const flow_view *v, const gd_check *gd)
{
    json_t *root = no_report_json_new("cot_flow", "cot-flow");
    json_object_set_new(root, "description", json_string(desc));
    json_object_set_new(root, "impl", json_string(ref ? "ref" : "fast"));
    json_object_set_new(root, "time", no_report_num(v->T));
    json_object_set_new(root, "records", json_integer((json_int_t)v->records));
    if (ref) {
        json_object_set_new(root, "prec", json_integer(prec));
        json_object_set_new(root, "tol", no_report_num(tol));
    } else {
        json_object_set_new(root, "substeps", json_integer((json_int_t)sub));
    }
    json_object_set_new(root, "velocity_scale", no_report_num(vs));
    json_object_set_new(root, "rows", rows_json(v));
    json_t *e = json_object();
    json_object_set_new(e, "resid_rel", no_report_num(v->resid_rel));
    json_object_set_new(e, "digits", no_report_num(digits_of(v->resid_rel)));
    json_object_set_new(root, "energy_identity", e);
    json_t *g = json_object(), *ea = json_array(), *ra = json_array();
    for (int i = 0; i < GD_ETAS; i++) {
        json_array_append_new(ea, no_report_num(gd->eta[i]));
        json_array_append_new(ra, no_report_num(gd->resid[i]));
    }
    json_object_set_new(g, "eta", ea);
    json_object_set_new(g, "resid", ra);
    json_object_set_new(g, "order", no_report_num(gd->fit.ok ? gd->fit.slope : NAN));
    json_object_set_new(g, "lo", no_report_num(gd->fit.ok ? gd->fit.lo : NAN));
    json_object_set_new(g, "hi", no_report_num(gd->fit.ok ? gd->fit.hi : NAN));
    json_object_set_new(g, "se", no_report_num(gd->fit.ok ? gd->fit.se : NAN));
    json_t *lo = json_array();
    for (int i = 0; i + 1 < GD_ETAS; i++)
        json_array_append_new(lo, no_report_num(gd->local[i]));
    json_object_set_new(g, "local_orders", lo);
    json_object_set_new(g, "extrapolated_order", no_report_num(gd->extrapolated));
    json_object_set_new(g, "expected", json_integer(2));
    json_object_set_new(g, "contains_expected", json_boolean(gd_contains(&gd->fit)));
    json_object_set_new(g, "curvature",
                        no_report_num(gd->resid[GD_ETAS - 1] /
                                      (gd->eta[GD_ETAS - 1] * gd->eta[GD_ETAS - 1])));
    json_object_set_new(root, "gd_residual", g);
    size_t R = v->records;
    polyak q = polyak_at(v, R);
    int dec = 1, lenok = 1;
    for (size_t r = 0; r <= R; r++) {
        dec &= decay_holds(v, r);
        lenok &= length_holds(v, r);
    }
    json_t *pl = json_object();
    json_object_set_new(pl, "initial_risk", no_report_num(v->F[0]));
    json_object_set_new(pl, "initial_ratio", no_report_num(v->pl[0]));
    json_object_set_new(pl, "envelope", no_report_num(v->pl_env[R]));
    json_object_set_new(pl, "mean_rate",
                        no_report_num(v->F[R] > 0 ? -log(v->F[R] / v->F[0]) / v->T : INFINITY));
    json_object_set_new(pl, "radius_needed",
                        no_report_num(v->pl_env[R] > 0 ? 2 * sqrt(v->F[0] / v->pl_env[R])
                                                       : INFINITY));
    json_object_set_new(pl, "final_length", no_report_num(v->length[R]));
    json_object_set_new(pl, "final_dist", no_report_num(v->dist[R]));
    json_object_set_new(pl, "final_length_bound", no_report_num(q.length_bound));
    json_object_set_new(pl, "decay_holds", json_boolean(dec));
    json_object_set_new(pl, "length_holds", json_boolean(lenok));
    json_object_set_new(root, "pl", pl);
    json_t *st = json_object();
    json_object_set_new(st, "accepted", json_integer((json_int_t)v->accepted));
    json_object_set_new(st, "rejected", json_integer((json_int_t)v->rejected));
    json_object_set_new(st, "evals", json_integer((json_int_t)v->evals));
    json_object_set_new(root, "steps", st);
    json_object_set_new(root, "exit_status", json_integer(NO_EXIT_PASS));
    no_report_json_print(root);
}

static void print_text(const char *desc, int ref, long prec, double tol, size_t sub, double vs,
                       const flow_view *v, const gd_check *gd, int quiet)
{
    size_t R = v->records;
    if (!quiet) {
        printf("COT gradient flow: %s\n", desc);
        if (ref)
            printf("  ref at %ld bits, extrapolation (order 16), local target %.3g: %zu steps "
                   "(%zu rejected), %zu gradients\n",
                   prec, tol, v->accepted, v->rejected, v->evals);
        else
            printf("  fast (double), RK4 with %zu steps per record: %zu gradients\n", sub,
                   v->evals);
        if (vs != 1)
            printf("  velocity -%g G (diagnosis: not the COT velocity -G)\n", vs);
        printf("\n  %9s  %22s  %11s  %11s  %10s  %10s  %10s  %10s  %10s%s\n", "t", "F", "|V|^2",
               "E=int|V|^2", "F-F0+E", "PL ratio", "envelope", "length", "dist",
               v->F_bits ? "  bits" : "");
        for (size_t r = 0; r <= R; r++) {
            printf("  %9.4g  %22.15e  %11.4e  %11.4e  %10.2e  %10.4e  %10.4e  %10.4e  %10.4e",
                   v->t[r], v->F[r], v->v2[r], v->energy[r], v->resid[r], v->pl[r],
                   v->pl_env[r], v->length[r], v->dist[r]);
            if (v->F_bits)
                printf("  %4.0f", v->F_bits[r]);
            printf("\n");
        }
        printf("\n");
    }
    printf("energy identity: max |F(t) - F(0) + int |V|^2| = %.3e of int_0^T |V|^2 = %.6e "
           "(%.1f digits)\n",
           v->resid_rel, v->energy[R], digits_of(v->resid_rel));
    if (gd->fit.ok)
        printf("GD identity: F(theta - eta G) - F(theta) + eta |G|^2 over eta = 2^%d..2^%d: "
               "order %.4f, 95%% interval [%.4f, %.4f]: %s the derived order 2 "
               "(r/eta^2 -> %.6e); local orders %.4f .. %.4f, extrapolated %.5f\n",
               GD_ETA_TOP_LOG2, GD_ETA_TOP_LOG2 - GD_ETAS + 1, gd->fit.slope, gd->fit.lo,
               gd->fit.hi, gd_contains(&gd->fit) ? "contains" : "excludes",
               gd->resid[GD_ETAS - 1] / (gd->eta[GD_ETAS - 1] * gd->eta[GD_ETAS - 1]),
               gd->local[0], gd->local[GD_ETAS - 2], gd->extrapolated);
    else
        printf("GD identity: no fit (a residual is 0 or not finite)\n");
    polyak q = polyak_at(v, R);
    int dec = 1, lenok = 1;
    for (size_t r = 0; r <= R; r++) {
        dec &= decay_holds(v, r);
        lenok &= length_holds(v, r);
    }
    printf("PL: initial risk F(0) = %.6e, PL ratio %.4e at t = 0, envelope m(T) = %.4e, "
           "mean rate -log(F(T)/F(0))/T = %.4e\n",
           v->F[0], v->pl[0], v->pl_env[R], v->F[R] > 0 ? -log(v->F[R] / v->F[0]) / v->T : 0);
    printf("PL consequences along the path: F(t) <= F(0) exp(-m(t) t) %s; COT length %.4e "
           "<= 2 (sqrt F(0) - sqrt F(T)) / sqrt m(T) = %.4e %s; radius needed 2 sqrt(F(0)/m(T))"
           " = %.4e (distance travelled %.4e)\n",
           dec ? "holds" : "FAILS", v->length[R], q.length_bound, lenok ? "holds" : "FAILS",
           v->pl_env[R] > 0 ? 2 * sqrt(v->F[0] / v->pl_env[R]) : INFINITY, v->dist[R]);
}

int no_cmd_cot_flow(int argc, char **argv)
{
    no_spec spec;
    no_spec_default(&spec);
    spec.family = NO_FAMILY_MLP;
    spec.M = 8;
    ref_cot_flow_opts ro;
    memset(&ro, 0, sizeof ro);
    ro.T = 1;
    ro.records = 8;
    size_t sub = 16;
    long prec = 128;
    int ref = 1, certify = 0, json = 0, quiet = 0, tol_set = 0, sub_set = 0, prec_set = 0;
    double vs = 1;
    const char *out = NULL;
    char err[512];
    static const char *const switches[] = {"--certify", NULL};
    no_cmd_json_prescan(argc, argv, "cot-flow", switches);
    for (int i = 0; i < argc; i++) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(f, "--certify")) {
            certify = 1;
            continue;
        }
        int a = no_cmd_arg_common(f, v, &json, &quiet);
        if (a == NO_CMD_ARG_HELP) {
            fputs(no_cmd_cot_flow_help, stdout);
            fputs(no_spec_args_help, stdout);
            return NO_EXIT_PASS;
        }
        if (a == NO_CMD_ARG_SWITCH)
            continue;
        if (a != NO_CMD_ARG_VALUE)
            return a;
        int bad = 0;
        if (!strcmp(f, "--time"))
            bad = no_cmd_parse_real(f, v, 0, 1e4, 1, &ro.T, err, sizeof err);
        else if (!strcmp(f, "--records"))
            bad = no_cmd_parse_count(f, v, 1, 10000, &ro.records, err, sizeof err);
        else if (!strcmp(f, "--substeps")) {
            bad = no_cmd_parse_count(f, v, 1, 100000, &sub, err, sizeof err);
            sub_set = 1;
        } else if (!strcmp(f, "--tol")) {
            bad = no_cmd_parse_real(f, v, 0, 1e-3, 1, &ro.tol, err, sizeof err);
            tol_set = 1;
        } else if (!strcmp(f, "--velocity-scale")) {
            bad = no_cmd_parse_real(f, v, 0, 1e6, 1, &vs, err, sizeof err);
        } else if (!strcmp(f, "--impl")) {
            bad = no_cmd_parse_impl(v, &ref, err, sizeof err);
        } else if (!strcmp(f, "--prec")) {
            if (no_cmd_parse_prec(v, &prec))
                return no_cmd_prec_error(v);
            prec_set = 1;
        } else if (!strcmp(f, "--out")) {
            out = v;
        } else {
            bad = no_spec_arg_or_unknown(&spec, f, v, err, sizeof err);
        }
        if (bad)
            return no_cmd_usage_error(err);
        i++;
    }
    if (spec.family != NO_FAMILY_MLP)
        return no_cmd_usage_error("--family: cot-flow is the COT flow of the mlp particles "
                                  "theta_kj = (a, u, b); other families have none");
    if (ref && sub_set)
        return no_cmd_usage_error("--substeps: fast only (ref controls its steps by --tol)");
    if (!ref && (tol_set || certify || prec_set))
        return no_cmd_usage_error(tol_set   ? "--tol: ref only (fast takes --substeps)"
                                  : certify ? "--certify: ref only"
                                            : "--prec: ref only (fast is double)");
    if (no_spec_validate(&spec, NO_REQ_SMOOTH, err, sizeof err))
        return no_cmd_usage_error(err);
    if (out && no_path_mkdirs(out, err, sizeof err))
        return no_report_error(err);
    no_problem p;
    if (no_problem_generate(&p, &spec, err, sizeof err))
        return no_report_error(err);
    ro.vscale = vs;
    if (!quiet)
        ro.progress = on_progress;
    ref_cot_flow_traj rt;
    fast_cot_flow_traj ft;
    memset(&rt, 0, sizeof rt);
    memset(&ft, 0, sizeof ft);
    flow_view v;
    memset(&v, 0, sizeof v);
    gd_check gd;
    memset(&gd, 0, sizeof gd);
    for (int i = 0; i < GD_ETAS; i++)
        gd.eta[i] = ldexp(1, GD_ETA_TOP_LOG2 - i);
    double tol = ro.tol > 0 ? ro.tol : ldexp(1, -(int)(3 * prec / 4));
    no_progress_begin("cot-flow");
    int rc;
    if (ref) {
        rc = certify ? ref_cot_flow_certify(&p, prec, &ro, &rt, err, sizeof err)
                     : ref_cot_flow_run(&p, prec, &ro, &rt, err, sizeof err);
        if (!rc)
            rc = ref_cot_flow_gd_residual(&p, prec, gd.eta, GD_ETAS, gd.resid, err, sizeof err);
        v = (flow_view){rt.records, rt.T,      rt.t,      rt.F,         rt.v2,
                        rt.energy,  rt.resid,  rt.pl,     rt.pl_env,    rt.length,
                        rt.dist,    rt.F_bits, rt.resid_rel, rt.accepted, rt.rejected,
                        rt.evals};
    } else {
        fast_cot_flow_opts fo = {ro.T, ro.records, sub, vs, ro.progress, NULL};
        rc = fast_cot_flow_run(&p, &fo, &ft, err, sizeof err);
        if (!rc)
            rc = fast_cot_flow_gd_residual(&p, gd.eta, GD_ETAS, gd.resid, err, sizeof err);
        v = (flow_view){ft.records, ft.T,     ft.t,         ft.F,     ft.v2, ft.energy,
                        ft.resid,   ft.pl,    ft.pl_env,    ft.length, ft.dist, NULL,
                        ft.resid_rel, ft.steps, 0,          ft.evals};
    }
    no_progress_end();
    no_problem_free(&p);
    if (!rc && out && (write_csv(out, &v, err, sizeof err) ||
                       (!strchr(out, '"') &&
                        no_plot_png(out, "cot_flow.csv", "cot_flow.png", plot_body, NULL, err,
                                    sizeof err))))
        rc = -1;
    if (rc) {
        ref_cot_flow_traj_clear(&rt);
        fast_cot_flow_traj_clear(&ft);
        return no_report_error(err);
    }
    gd_orders(&gd);
    char desc[256];
    no_spec_describe(&spec, desc, sizeof desc);
    if (json)
        print_json(desc, ref, prec, tol, sub, vs, &v, &gd);
    else
        print_text(desc, ref, prec, tol, sub, vs, &v, &gd, quiet);
    ref_cot_flow_traj_clear(&rt);
    fast_cot_flow_traj_clear(&ft);
    return NO_EXIT_PASS;
}
