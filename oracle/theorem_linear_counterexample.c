/* theorem_linear_counterexample.c - `nodeoracle theorem linear-counterexample`:
 * the linear NODE of seed 002 (section 3.1, Proposition 3, Figure 2) with
 * data X = I, A = B = I and targets Y = -I (SPEC 5.5).  From W^0 = 0 the
 * gradient flow keeps W^t = w(t) I, the end map shrinks to 0 and the loss
 * tends to d/(2N) > 0; from W^0 = eps J it converges to -I.  Derivation,
 * constants and thresholds: proofs-notes/theorem-linear-counterexample.md;
 * the command: docs/theorem-linear-counterexample.md. */
#include <complex.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic.h"
#include "cmd.h"
#include "path.h"
#include "plot.h"
#include "problem.h"
#include "ref_linear_ce.h"
#include "ref_train.h"
#include "report.h"
#include "theorem.h"
#include "theorem_commands.h"

const char no_thm_linear_counterexample_help[] =
    "NAME\n"
    "  nodeoracle theorem linear-counterexample - the linear NODE that gradient flow cannot\n"
    "  train to -I from W = 0 (seed 002, section 3.1, Proposition 3, Figure 2)\n"
    "\n"
    "SYNOPSIS\n"
    "  nodeoracle theorem linear-counterexample [--d 2] [--L 8] [--t 0.5,1,2,5,10,100]\n"
    "                   [--eps 0.5] [--eta 0.5] [--gd-steps 100] [--prec 128] [--out DIR]\n"
    "                   [--json]\n"
    "\n"
    "STATEMENT\n"
    "  Data x^i = e_i (N = D = d points, A = B = I), targets y^i = -e_i, loss\n"
    "  F = 1/(2N) sum_i |z_1^i - y^i|^2, metric gradient G(s) = dF/dW(s) in L^2([0,1]).\n"
    "  From W^0 = 0 the gradient flow dW/dt = -G keeps W^t(s) = w(t) I for every s (the\n"
    "  problem is invariant under every permutation and sign flip of the axes applied to\n"
    "  W), with dw/dt = -(1/N) e^w (e^w + 1). With x = e^-w:\n"
    "      t = N (x - 1 - log((1 + x)/2)),\n"
    "  so x -> infinity, w -> -infinity, the end map e^w I -> 0 and F(t) = (d/(2N))\n"
    "  (1 + 1/x)^2 decreases to the positive limit d/(2N), never to 0. The ResNet with\n"
    "  L >= 2 Euler layers behaves alike: dw/dt = -(1/N) r^(L-1) (r^L + 1), r = 1 + w/L,\n"
    "  r -> 0. From W^0 = eps J (J the rotation generator on each coordinate pair) the\n"
    "  end map u moves on the segment from u(0) to -1 and\n"
    "      F(t) <= F(0) exp(-(2/N) delta^(2 - 2/L) t),\n"
    "  delta the distance from 0 to that segment: the flow converges to -I.\n"
    "\n"
    "DESCRIPTION\n"
    "  Checked, with the MPFR reference:\n"
    "  - the closed form t(x), inverted by Newton's method, against an independent\n"
    "    Taylor-series integration of dE/dt = -(1/N) E^2 (E + 1), E = e^w, at every\n"
    "    time of --t: |w_closed - w_taylor| <= 1e-30;\n"
    "  - the loss of the continuous flow above d/(2N) and decreasing;\n"
    "  - the reference gradient flow (ref_train, Dormand-Prince 5(4), certified) of the\n"
    "    matrix ResNet of L Euler layers: W stays w I (off-diagonal entries and depth\n"
    "    variation below rounding) and its loss equals that of the scalar Euler flow\n"
    "    (Taylor-integrated in MPFR) within the flow's certified error, on the records\n"
    "    certified to 20 bits (w I is unstable: once r is tiny, rounding grows); the\n"
    "    scalar flow's w decreases and F(T) - d/(2N) > 0;\n"
    "  - gradient descent (ref_train) keeps W = w I and follows the scalar recursion\n"
    "    w <- w - (eta/N) r^(L-1) (r^L + 1) to rounding;\n"
    "  - the perturbed flow keeps W in span{I, J}, constant in depth, and its loss at\n"
    "    the final time is below the bound above.\n"
    "  The training times of the flows are [0, T], T the largest time of --t, with 200\n"
    "  records. The gap between the ResNet's w(T) and the NODE's closed form (O(1/L))\n"
    "  and the perturbed flow's measured rate (asymptotically 2/N) are reported.\n"
    "\n"
    "OPTIONS\n"
    "  --d D          dimension, even, 2..8 (default 2); N = D = d\n"
    "  --L L          Euler layers of the ResNet runs, 2..64 (default 8)\n"
    "  --t LIST       comma-separated training times, increasing, in (0, 1000], at most\n"
    "                 16 (default 0.5,1,2,5,10,100)\n"
    "  --eps E        the perturbation W^0 = E J, in (0, 3] (default 0.5)\n"
    "  --eta E        gradient-descent step, in (0, 2] (default 0.5)\n"
    "  --gd-steps N   gradient-descent iterations, 1..10000 (default 100)\n"
    "  --prec BITS    MPFR precision, 128..1024 (default 128; 512 takes ~10 s)\n"
    "  --out DIR      write linear_counterexample_paths.csv (the trained flows'\n"
    "                 trajectories, inputs and targets), linear_counterexample_loss.csv\n"
    "                 (the loss curves) and, when gnuplot is installed,\n"
    "                 linear_counterexample.png (Figure 2) into DIR, created if missing;\n"
    "                 each file is written under a temporary name and renamed; nothing\n"
    "                 else is touched\n"
    "  --json         one JSON object of kind \"theorem\" on stdout\n"
    "\n"
    "EXIT STATUS\n"
    "  0 every check holds; 1 one fails (named on stderr); 2 usage or input error (one\n"
    "  line on stderr); 3 none fails but one is undecided.\n"
    "\n"
    "SOURCE\n"
    "  Seed 002 (the note on Neural ODE training), section 3.1, Proposition 3 and\n"
    "  Figure 2; proofs-notes/theorem-linear-counterexample.md.\n"
    "\n"
    "EXAMPLES\n"
    "  nodeoracle theorem linear-counterexample\n"
    "  nodeoracle theorem linear-counterexample --d 4 --L 16 --t 1,10 --out lce --json\n"
    "\n";

#define MAX_TIMES 16
#define RECORDS 200

typedef struct {
    size_t d, L, gd_steps;
    double t[MAX_TIMES];
    size_t nt;
    double eps, eta;
    long prec;
} lce_opts;

/* One trained flow of the matrix ResNet (ref_train_certify). */
typedef struct {
    ref_train_traj tr;
    int ok;
} lce_flow;

static int parse_times(const char *v, lce_opts *o, char *err, size_t len)
{
    const char *s = v;
    o->nt = 0;
    for (;;) {
        char *end;
        if (o->nt == MAX_TIMES)
            return no_errorf(err, len, "--t: at most %d times", MAX_TIMES);
        double x = strtod(s, &end);
        if (end == s || (*end && *end != ','))
            return no_errorf(err, len, "--t: expected comma-separated numbers, got '%.40s'", v);
        if (!(x > 0 && x <= 1e3))
            return no_errorf(err, len, "--t: each time must be in (0, 1000], got '%.40s'", v);
        if (o->nt && !(x > o->t[o->nt - 1]))
            return no_errorf(err, len, "--t: times must increase, got '%.40s'", v);
        o->t[o->nt++] = x;
        if (!*end)
            return 0;
        s = end + 1;
    }
}

/* The problem of the statement: X = I, Y = -I, A = B = I, W_k = eps J_d. */
static int build_problem(no_problem *p, const lce_opts *o, double eps, char *err, size_t len)
{
    memset(p, 0, sizeof *p);
    no_spec s;
    no_spec_default(&s);
    size_t d = o->d;
    s.N = s.d_in = s.d_out = s.D = d;
    s.L = o->L;
    s.m = 1;
    s.family = NO_FAMILY_LINEAR;
    s.scheme = NO_SCHEME_EULER;
    s.scaling = NO_SCALING_ODE;
    s.adjoint = NO_ADJOINT_DISCRETE;
    if (no_spec_validate(&s, NO_REQ_NONE, err, len))
        return -1;
    p->spec = s;
    p->X = calloc(d * d, sizeof *p->X);
    p->Y = calloc(d * d, sizeof *p->Y);
    p->A = calloc(d * d, sizeof *p->A);
    p->B = calloc(d * d, sizeof *p->B);
    p->W = calloc(o->L * d * d, sizeof *p->W);
    if (!p->X || !p->Y || !p->A || !p->B || !p->W) {
        no_problem_free(p);
        return no_errorf(err, len, "out of memory for the problem");
    }
    for (size_t i = 0; i < d; i++) {
        p->X[i * d + i] = p->A[i * d + i] = p->B[i * d + i] = 1;
        p->Y[i * d + i] = -1;
    }
    /* J on each pair (2j, 2j+1): [[0, -1], [1, 0]], multiplication by i */
    for (size_t k = 0; k < o->L; k++)
        for (size_t j = 0; j + 1 < d; j += 2) {
            p->W[k * d * d + (j + 1) * d + j] = eps;
            p->W[k * d * d + j * d + j + 1] = -eps;
        }
    return 0;
}

static int run_flow(const lce_opts *o, double eps, double T, lce_flow *f, char *err, size_t len)
{
    no_problem p;
    if (build_problem(&p, o, eps, err, len))
        return -1;
    ref_train_opts to;
    memset(&to, 0, sizeof to);
    to.steps = RECORDS;
    to.eta = T / RECORDS;
    to.flow = 1;
    to.keep_params = 1;
    int rc = ref_train_certify(&p, o->prec, &to, &f->tr, err, len);
    no_problem_free(&p);
    f->ok = !rc;
    return rc;
}

/* Largest |W_k(i,j) - M(i,j)| over records and layers, M the entry the
 * statement predicts from layer 0's block (i, j) (w I, or a I + b J); and
 * the largest |W|. */
static void span_errors(const ref_train_traj *tr, size_t d, size_t L, size_t upto, double *dev,
                        double *wmax)
{
    *dev = 0;
    *wmax = 0;
    for (size_t n = 0; n <= upto; n++) {
        const double *W = tr->params + n * tr->K;
        double a = W[0], b = d > 1 ? W[d] : 0; /* W(0,0), W(1,0) of layer 0 */
        for (size_t k = 0; k < L; k++)
            for (size_t i = 0; i < d; i++)
                for (size_t j = 0; j < d; j++) {
                    double x = W[k * d * d + i * d + j], want = 0;
                    if (i == j)
                        want = a;
                    else if (i / 2 == j / 2)
                        want = i > j ? b : -b;
                    *dev = fmax(*dev, fabs(x - want));
                    *wmax = fmax(*wmax, fabs(x));
                }
    }
}

/* The last record n such that every F of records 0..n is certified to 20
 * bits.  The symmetric trajectory is unstable (seed 002: "the latter
 * behavior is unstable"): once r = 1 + w/L is tiny (L = 2, long times),
 * rounding errors grow until the run leaves w I; the two runs of
 * ref_train_certify then disagree, and the claims are not judged there. */
static size_t trusted(const ref_train_traj *tr)
{
    if (!tr->F_bits)
        return tr->steps;
    for (size_t n = 0; n <= tr->steps; n++)
        if (!(tr->F_bits[n] >= 20))
            return n ? n - 1 : 0;
    return tr->steps;
}

/* The z(s) of data point i under the Euler ResNet with parameters W. */
static void states(const double *W, size_t d, size_t L, size_t i, double *z /* (L+1) x d */)
{
    for (size_t a = 0; a < d; a++)
        z[a] = a == i;
    for (size_t k = 0; k < L; k++) {
        const double *Wk = W + k * d * d, *zk = z + k * d;
        for (size_t a = 0; a < d; a++) {
            double s = 0;
            for (size_t b = 0; b < d; b++)
                s += Wk[a * d + b] * zk[b];
            z[(k + 1) * d + a] = zk[a] + s / (double)L;
        }
    }
}

static int write_paths(const char *dir, const lce_opts *o, const lce_flow f[2], char *err,
                       size_t len)
{
    size_t d = o->d, L = o->L;
    double *z = malloc((L + 1) * d * sizeof *z);
    if (!z)
        return no_errorf(err, len, "out of memory for the paths");
    no_atomic w;
    if (no_atomic_open_in(&w, dir, "linear_counterexample_paths.csv", err, len)) {
        free(z);
        return -1;
    }
    /* rows: start (zero|perturbed), kind (path|target), point i, layer k,
     * s = k/L, the first two coordinates */
    fprintf(w.f, "start,kind,point,k,s,z1,z2\n");
    static const char *name[2] = {"zero", "perturbed"};
    for (int a = 0; a < 2; a++) {
        const ref_train_traj *tr = &f[a].tr;
        const double *W = tr->params + tr->steps * tr->K;
        for (size_t i = 0; i < 2; i++) {
            states(W, d, L, i, z);
            for (size_t k = 0; k <= L; k++)
                fprintf(w.f, "%s,path,%zu,%zu,%.17g,%.17g,%.17g\n", name[a], i, k,
                        (double)k / (double)L, z[k * d], z[k * d + 1]);
            fprintf(w.f, "%s,target,%zu,%zu,1,%.17g,%.17g\n", name[a], i, L, i == 0 ? -1.0 : 0.0,
                    i == 1 ? -1.0 : 0.0);
        }
    }
    free(z);
    return no_atomic_commit(&w, err, len);
}

static int write_loss(const char *dir, const lce_flow f[2], const mpfr_t *wc, size_t nrec,
                      double dN, char *err, size_t len)
{
    no_atomic w;
    if (no_atomic_open_in(&w, dir, "linear_counterexample_loss.csv", err, len))
        return -1;
    fprintf(w.f, "t,F_zero,F_perturbed,F_node,limit\n");
    for (size_t n = 0; n < nrec; n++) {
        double e = exp(mpfr_get_d(wc[n], MPFR_RNDN));
        fprintf(w.f, "%.17g,%.17g,%.17g,%.17g,%.17g\n", (double)n * f[0].tr.eta, f[0].tr.F[n],
                f[1].tr.F[n], dN / 2 * (e + 1) * (e + 1), dN / 2);
    }
    return no_atomic_commit(&w, err, len);
}

static void plot_body(FILE *g, const char *csv, const void *ctx)
{
    const double *T = ctx;
    fprintf(g, "set multiplot layout 1,2\nset size ratio -1\nset grid\n"
               "set xrange [-1.3:1.3]\nset yrange [-1.3:1.3]\nset key bottom right\n");
    static const char *name[2] = {"zero", "perturbed"};
    static const char *title[2] = {"W^0 = 0: the map shrinks to 0",
                                   "W^0 = eps J: the map reaches -I"};
    for (int a = 0; a < 2; a++) {
        fprintf(g, "set title '%s (t = %g)'\n", title[a], *T);
        fprintf(g,
                "plot '%s' skip 1 using ((strcol(1) eq '%s' && strcol(2) eq 'path') ? $6 : 1/0)"
                ":7 with linespoints pt 7 ps 0.4 title 'z(s)', "
                "'' skip 1 using ((strcol(1) eq '%s' && strcol(2) eq 'path' && $4 == 0) ? $6 : "
                "1/0):7 with points pt 6 ps 2 title 'inputs', "
                "'' skip 1 using ((strcol(1) eq '%s' && strcol(2) eq 'target') ? $6 : 1/0):7 "
                "with points pt 9 ps 2 title 'targets'\n",
                csv, name[a], name[a], name[a]);
    }
    fprintf(g, "unset multiplot\n");
}

static double digits(const mpfr_t diff, const mpfr_t w, long prec)
{
    if (mpfr_zero_p(diff))
        return (double)prec * log10(2.0);
    double r = fabs(mpfr_get_d(diff, MPFR_RNDN)) / fabs(mpfr_get_d(w, MPFR_RNDN));
    return -log10(r);
}

int no_thm_linear_counterexample(int argc, char **argv)
{
    lce_opts o = {.d = 2, .L = 8, .gd_steps = 100, .eps = 0.5, .eta = 0.5, .prec = 128};
    double deft[] = {0.5, 1, 2, 5, 10, 100};
    memcpy(o.t, deft, sizeof deft);
    o.nt = 6;
    const char *out = NULL;
    int json = 0;
    char err[512];
    for (int i = 0; i < argc; i++) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int a = no_cmd_arg_common(f, v, &json, NULL);
        if (a == NO_CMD_ARG_SWITCH || a == NO_CMD_ARG_HELP) /* cmd_theorem.c answers --help */
            continue;
        if (a != NO_CMD_ARG_VALUE)
            return a;
        int bad = 0;
        size_t cnt;
        if (!strcmp(f, "--d")) {
            bad = no_cmd_parse_count(f, v, 2, 8, &o.d, err, sizeof err);
            if (!bad && o.d % 2)
                bad = no_errorf(err, sizeof err, "--d: must be even (the perturbed start "
                                                 "rotates coordinate pairs), got %zu", o.d);
        } else if (!strcmp(f, "--L"))
            bad = no_cmd_parse_count(f, v, 2, 64, &o.L, err, sizeof err);
        else if (!strcmp(f, "--t"))
            bad = parse_times(v, &o, err, sizeof err);
        else if (!strcmp(f, "--eps"))
            bad = no_cmd_parse_real(f, v, 0, 3, 1, &o.eps, err, sizeof err);
        else if (!strcmp(f, "--eta"))
            bad = no_cmd_parse_real(f, v, 0, 2, 1, &o.eta, err, sizeof err);
        else if (!strcmp(f, "--gd-steps"))
            bad = no_cmd_parse_count(f, v, 1, 10000, &o.gd_steps, err, sizeof err);
        else if (!strcmp(f, "--prec")) {
            bad = no_cmd_parse_count(f, v, 128, 1024, &cnt, err, sizeof err);
            o.prec = (long)cnt;
        } else if (!strcmp(f, "--out"))
            out = v;
        else {
            snprintf(err, sizeof err, "unknown option '%.60s'", f);
            bad = 1;
        }
        if (bad)
            return no_cmd_usage_error(err);
        i++;
    }
    if (out && no_path_mkdirs(out, err, sizeof err))
        return no_report_error(err);

    size_t d = o.d, L = o.L;
    double N = (double)d, dN = (double)d / N, limit = dN / 2, T = o.t[o.nt - 1];
    mpfr_prec_t pr = (mpfr_prec_t)o.prec;
    no_thm_report *r = no_thm_report_new(
        "linear-counterexample",
        "X = I, Y = -I, W^0 = 0: W^t = w(t) I with t = N (x - 1 - log((1+x)/2)), x = e^-w; "
        "F(t) decreases to d/(2N) > 0. W^0 = eps J: F(t) <= F(0) exp(-(2/N) delta^(2-2/L) t).",
        "seed 002, section 3.1, Proposition 3 and Figure 2");
    if (!r)
        return no_report_error("out of memory for the report");

    /* 1. the closed form against the Taylor integration (continuous NODE) */
    mpfr_t *wt = malloc(o.nt * sizeof *wt), wc, tt, s, diff, F, lim;
    size_t nrec = RECORDS + 1;
    mpfr_t *wrec = malloc(nrec * sizeof *wrec), *weul = malloc(nrec * sizeof *weul);
    double *trec = malloc(nrec * sizeof *trec), *wgd = malloc((o.gd_steps + 1) * sizeof *wgd);
    lce_flow fl[2];
    memset(fl, 0, sizeof fl);
    ref_train_traj gd;
    memset(&gd, 0, sizeof gd);
    int rc = 0;
    if (!wt || !wrec || !weul || !trec || !wgd) {
        free(wt);
        free(wrec);
        free(weul);
        free(trec);
        free(wgd);
        no_thm_report_free(r);
        return no_report_error("out of memory");
    }
    for (size_t j = 0; j < o.nt; j++)
        mpfr_init2(wt[j], pr);
    for (size_t n = 0; n < nrec; n++) {
        mpfr_inits2(pr, wrec[n], weul[n], (mpfr_ptr)0);
        trec[n] = (double)n * (T / RECORDS);
    }
    mpfr_inits2(pr, wc, tt, s, diff, F, lim, (mpfr_ptr)0);
    mpfr_set_d(s, N, MPFR_RNDN);
    size_t tsteps = 0, esteps = 0;
    if (ref_lce_flow_continuous(wt, o.t, o.nt, N, pr, &tsteps) ||
        ref_lce_flow_continuous(wrec, trec, nrec, N, pr, NULL) ||
        ref_lce_flow_euler(weul, trec, nrec, N, L, pr, &esteps)) {
        rc = no_errorf(err, sizeof err, "the Taylor integration of the scalar flow failed");
        goto done;
    }
    json_t *jcf = json_array();
    double worst_digits = INFINITY, Fprev = INFINITY;
    /* the rounding floor of the two MPFR computations (proofs note, 5) */
    double floor_err = ldexp(1, -(int)o.prec + 8);
    for (size_t j = 0; j < o.nt; j++) {
        mpfr_set_d(tt, o.t[j], MPFR_RNDN);
        if (ref_lce_closed_w(wc, tt, s) < 0) {
            json_decref(jcf);
            rc = no_errorf(err, sizeof err, "Newton's method did not converge at t = %g",
                           o.t[j]);
            goto done;
        }
        mpfr_sub(diff, wc, wt[j], MPFR_RNDN);
        double dg = digits(diff, wc, o.prec), wcd = mpfr_get_d(wc, MPFR_RNDN);
        worst_digits = fmin(worst_digits, dg);
        /* F = (d/(2N)) (e^w + 1)^2 and F - d/(2N) = (d/(2N)) e^w (e^w + 2) */
        mpfr_exp(F, wc, MPFR_RNDN);
        mpfr_add_ui(lim, F, 2, MPFR_RNDN);
        mpfr_mul(lim, lim, F, MPFR_RNDN);
        mpfr_mul_d(lim, lim, dN / 2, MPFR_RNDN);
        double excess = mpfr_get_d(lim, MPFR_RNDN);
        mpfr_add_ui(F, F, 1, MPFR_RNDN);
        mpfr_sqr(F, F, MPFR_RNDN);
        mpfr_mul_d(F, F, dN / 2, MPFR_RNDN);
        double Fd = mpfr_get_d(F, MPFR_RNDN);
        char name[96], note[160];
        snprintf(name, sizeof name, "|w_closed - w_taylor| at t = %g", o.t[j]);
        snprintf(note, sizeof note, "%.1f digits; %d-bit floor", dg, (int)o.prec - 8);
        no_thm_check(r, name, fabs(mpfr_get_d(diff, MPFR_RNDN)), 1e-30,
                     floor_err * fmax(1, fabs(wcd)), note);
        snprintf(name, sizeof name, "0 < F(t) - d/(2N) at t = %g", o.t[j]);
        no_thm_check(r, name, 0, excess, ldexp(fabs(excess), -50),
                     "F - d/(2N) = (d/(2N)) e^w (e^w + 2), the NODE");
        if (j) {
            snprintf(name, sizeof name, "F(%g) <= F(%g)", o.t[j], o.t[j - 1]);
            no_thm_check(r, name, Fd, Fprev, ldexp(Fprev, -50), "the NODE's loss decreases");
        }
        Fprev = Fd;
        snprintf(name, sizeof name, "w(%g), the closed form", o.t[j]);
        /* bits: those on which the two independent computations agree */
        no_thm_value(r, name, wcd, fmin((double)o.prec, floor(dg * log2(10.0)) - 1),
                     "bits: agreement with the Taylor integration");
        json_t *row = json_object();
        json_object_set_new(row, "t", no_report_num(o.t[j]));
        /* as many decimal digits as the working precision holds */
        char buf[400];
        int ndig = (int)((double)o.prec * 0.30103);
        mpfr_snprintf(buf, sizeof buf, "%.*Re", ndig, wc);
        json_object_set_new(row, "w_closed", json_string(buf));
        mpfr_snprintf(buf, sizeof buf, "%.*Re", ndig, wt[j]);
        json_object_set_new(row, "w_taylor", json_string(buf));
        json_object_set_new(row, "abs_diff", no_report_num(fabs(mpfr_get_d(diff, MPFR_RNDN))));
        json_object_set_new(row, "digits", no_report_num(dg));
        json_object_set_new(row, "F", no_report_num(Fd));
        json_object_set_new(row, "F_minus_limit", no_report_num(excess));
        /* x (F - d/(2N)) N/d -> 1: F - d/(2N) ~ (d/N)/x (proofs note, 3) */
        json_object_set_new(row, "x_times_excess_N_over_d",
                            no_report_num(exp(-wcd) * excess / dN));
        json_array_append_new(jcf, row);
    }
    no_thm_value(r, "digits of agreement, closed form vs Taylor (min)", worst_digits, 0,
                 "continuous flow, the times of --t");
    no_thm_value(r, "limit of F, d/(2N)", limit, 0, "never reached");
    no_thm_detail(r, "closed_form", jcf);

    /* 2. the reference flows of the matrix ResNet, both starts */
    if (run_flow(&o, 0, T, &fl[0], err, sizeof err) ||
        run_flow(&o, o.eps, T, &fl[1], err, sizeof err)) {
        rc = -1;
        goto done;
    }
    const ref_train_traj *t0 = &fl[0].tr, *t1 = &fl[1].tr;
    size_t n0 = trusted(t0), n1 = trusted(t1);
    double dt = T / RECORDS, dev0, wmax0, dev1, wmax1;
    char note[200];
    span_errors(t0, d, L, n0, &dev0, &wmax0);
    span_errors(t1, d, L, n1, &dev1, &wmax1);
    snprintf(note, sizeof note, "layers, entries, records t <= %g (F certified to >= 20 bits)"
             "; rhs: 2 ulps of max |W|", (double)n0 * dt);
    no_thm_check(r, "W^0 = 0: max |W_k(t) - w(t) I|", dev0, ldexp(wmax0, -51), 0, note);
    /* the flow against the scalar Euler flow, in units of its certified error */
    double worst = 0, minbits = INFINITY;
    for (size_t n = 0; n <= n0; n++) {
        mpfr_div_ui(F, weul[n], (unsigned long)L, MPFR_RNDN);
        mpfr_add_ui(F, F, 1, MPFR_RNDN);
        mpfr_pow_ui(F, F, (unsigned long)L, MPFR_RNDN);
        mpfr_add_ui(F, F, 1, MPFR_RNDN);
        mpfr_sqr(F, F, MPFR_RNDN);
        mpfr_mul_d(F, F, dN / 2, MPFR_RNDN);
        double Fs = mpfr_get_d(F, MPFR_RNDN), Fr = t0->F[n];
        double bits = t0->F_bits ? t0->F_bits[n] : 0;
        minbits = fmin(minbits, bits);
        worst = fmax(worst, fabs(Fr - Fs) / (fabs(Fs) * (ldexp(1, -(int)bits) + ldexp(1, -52))));
    }
    snprintf(note, sizeof note, "ResNet flow (ref_train) vs the Taylor-integrated scalar Euler "
             "flow, records t <= %g", (double)n0 * dt);
    no_thm_check(r, "|F_ref - F_scalar| / certified error", worst, 1, 0, note);
    /* the scalar Euler flow (MPFR): w decreases, r = 1 + w/L stays > 0, so
     * F - d/(2N) = (d/(2N)) u (u + 2) > 0, u = r^L (proofs note, 3) */
    mpfr_set_inf(lim, -1);
    for (size_t n = 0; n + 1 < nrec; n++) {
        mpfr_sub(F, weul[n + 1], weul[n], MPFR_RNDN);
        mpfr_max(lim, lim, F, MPFR_RNDN);
    }
    double wstep = mpfr_get_d(lim, MPFR_RNDN);
    no_thm_check(r, "Euler flow: max_n w(t_n+1) - w(t_n) < 0", wstep, 0,
                 ldexp((double)L, 8 - (int)o.prec), "the scalar Euler flow (Taylor, MPFR); F "
                 "increases with w while r > 0, so F decreases");
    mpfr_div_ui(F, weul[RECORDS], (unsigned long)L, MPFR_RNDN);
    mpfr_add_ui(F, F, 1, MPFR_RNDN);
    mpfr_pow_ui(F, F, (unsigned long)L, MPFR_RNDN);
    mpfr_add_ui(lim, F, 2, MPFR_RNDN);
    mpfr_mul(F, F, lim, MPFR_RNDN);
    mpfr_mul_d(F, F, dN / 2, MPFR_RNDN);
    double excessT = mpfr_get_d(F, MPFR_RNDN);
    no_thm_check(r, "Euler flow: 0 < F(T) - d/(2N)", 0, excessT, ldexp(excessT, -50),
                 "(d/(2N)) u (u + 2), u = r(T)^L from the Taylor-integrated r");
    double wT = t0->params[n0 * t0->K];
    mpfr_set_d(tt, (double)n0 * dt, MPFR_RNDN);
    ref_lce_closed_w(wc, tt, s);
    no_thm_value(r, "w(t) ResNet flow, last trusted record", wT, 0, NULL);
    no_thm_value(r, "  minus w(t) of the NODE (closed form)", wT - mpfr_get_d(wc, MPFR_RNDN), 0,
                 "the Euler ResNet is not the NODE: its w tends to -L");
    no_thm_value(r, "flow from 0: last trusted record time", (double)n0 * dt, 0,
                 n0 < RECORDS ? "later records certified to < 20 bits: the instability of "
                                "w I amplified rounding (proofs note, 4)"
                              : "every record certified to >= 20 bits");
    no_thm_value(r, "flow from 0: min certified bits of F", minbits, 0, NULL);

    /* 3. gradient descent */
    {
        no_problem p;
        if (build_problem(&p, &o, 0, err, sizeof err)) {
            rc = -1;
            goto done;
        }
        ref_train_opts to;
        memset(&to, 0, sizeof to);
        to.steps = o.gd_steps;
        to.eta = o.eta;
        to.keep_params = 1;
        int grc = ref_train_certify(&p, o.prec, &to, &gd, err, sizeof err);
        no_problem_free(&p);
        if (grc || ref_lce_gd_euler(wgd, o.gd_steps, o.eta, N, L, pr)) {
            rc = -1;
            goto done;
        }
        double devg, wmaxg, gap = 0;
        size_t ng = trusted(&gd);
        span_errors(&gd, d, L, ng, &devg, &wmaxg);
        for (size_t n = 0; n <= ng; n++)
            gap = fmax(gap, fabs(gd.params[n * gd.K] - wgd[n]));
        snprintf(note, sizeof note, "layers, entries, iterates n <= %zu (F certified to >= 20 "
                 "bits); rhs: 2 ulps of max |W|", ng);
        no_thm_check(r, "GD: max |W_k^n - w^n I|", devg, ldexp(wmaxg, -51), 0, note);
        no_thm_check(r, "GD: max |w_ref^n - w_recursion^n|", gap, ldexp(wmaxg, -51), 0,
                     "ref_train GD vs the scalar recursion, both MPFR rounded to double");
        no_thm_value(r, "GD: w after the last step", wgd[o.gd_steps], 0, NULL);
    }

    /* 4. the perturbed start */
    {
        double complex u0 = cpow(1 + I * o.eps / (double)L, (double)L), c0 = u0 + 1;
        double sst = creal(c0) / (creal(c0) * creal(c0) + cimag(c0) * cimag(c0));
        sst = fmin(1, fmax(0, sst));
        double delta = cabs(-1 + sst * c0);
        double rate = 2 / N * pow(delta, 2 - 2 / (double)L);
        /* the window [ta, tb]: tb the last record whose F is well inside the
         * doubles (F decays like e^(-2t/N) and underflows for t ~ 1500 N) and
         * certified to 30 bits (near 0 the flow's absolute error dominates
         * F: 16 bits at F ~ 1e-37), ta = tb/2 */
        size_t nb = n1;
        while (nb > 2 && !(t1->F[nb] > 1e-200 && (!t1->F_bits || t1->F_bits[nb] >= 30)))
            nb--;
        size_t na = nb / 2;
        double ta = (double)na * dt, tb = (double)nb * dt;
        double F0 = t1->F[0], FT = t1->F[RECORDS], Fb = t1->F[nb], Fa = t1->F[na];
        double bound = F0 * exp(-rate * tb);
        double bb = t1->F_bits ? t1->F_bits[nb] : 0, ba = t1->F_bits ? t1->F_bits[na] : 0;
        snprintf(note, sizeof note, "layers, entries, records t <= %g (F certified to >= 20 "
                 "bits); rhs: 2 ulps of max |W|", (double)n1 * dt);
        no_thm_check(r, "W^0 = eps J: max |W_k(t) - a I - b J|", dev1, ldexp(wmax1, -51), 0,
                     note);
        no_thm_check(r, "W^0 = eps J: F(tb) <= F(0) exp(-rate tb)", Fb, bound,
                     ldexp(Fb, -(int)bb) + ldexp(bound, -40),
                     "rate = (2/N) delta^(2-2/L), the segment bound; tb = T unless F underflows");
        double measured = Fb > 0 && Fa > 0 ? log(Fa / Fb) / (tb - ta) : NAN;
        no_thm_value(r, "perturbed: delta, distance from 0 to [u0, -1]", delta, 0, NULL);
        no_thm_value(r, "perturbed: guaranteed rate (2/N) delta^(2-2/L)", rate, 0, NULL);
        /* on [ta, tb] |u| = |-1 + c| lies in [max(delta, 1 - |c(ta)|), 1 + |c(ta)|],
         * |c|^2 = 2 N F/d (proofs note, section 4) */
        double ca = sqrt(2 * N * Fa / (double)d), ex = 2 - 2 / (double)L;
        double rlo = 2 / N * pow(fmax(delta, 1 - ca), ex), rhi = 2 / N * pow(1 + ca, ex);
        double rerr = (ldexp(1, -(int)ba) + ldexp(1, -(int)bb) + ldexp(1, -50)) / (tb - ta);
        no_thm_check(r, "perturbed: (2/N) max(delta, 1-|c|)^(2-2/L) <= rate", rlo, measured,
                     rerr, "rate = log(F(ta)/F(tb))/(tb - ta), ta = tb/2; c = u + 1 at ta");
        no_thm_check(r, "perturbed: rate <= (2/N) (1+|c|)^(2-2/L)", measured, rhi, rerr,
                     "so the rate tends to 2/N: |u'| = 1 at u = -1");
        no_thm_value(r, "perturbed: measured rate on [ta, tb]", measured, 0, NULL);
        double Fh = t1->F[RECORDS / 2];
        double late = FT > 0 && Fh > 0 ? log(Fh / FT) / (T / 2) : NAN;
        no_thm_value(r, "perturbed: measured rate on [T/2, T]", late, 0,
                     "tends to 2/N (F there may be known to few bits)");
        no_thm_value(r, "perturbed: F(T)", FT, t1->F_bits ? t1->F_bits[RECORDS] : 0, NULL);
        json_t *jp = json_object();
        json_object_set_new(jp, "eps", no_report_num(o.eps));
        json_object_set_new(jp, "u0_re", no_report_num(creal(u0)));
        json_object_set_new(jp, "u0_im", no_report_num(cimag(u0)));
        json_object_set_new(jp, "delta", no_report_num(delta));
        json_object_set_new(jp, "rate_bound", no_report_num(rate));
        json_object_set_new(jp, "rate_measured", no_report_num(measured));
        json_object_set_new(jp, "rate_late", no_report_num(late));
        json_object_set_new(jp, "rate_asymptotic", no_report_num(2 / N));
        json_object_set_new(jp, "F0", no_report_num(F0));
        json_object_set_new(jp, "FT", no_report_num(FT));
        json_object_set_new(jp, "tb", no_report_num(tb));
        json_object_set_new(jp, "F_tb", no_report_num(Fb));
        json_object_set_new(jp, "bound_tb", no_report_num(bound));
        json_object_set_new(jp, "rate_lo", no_report_num(rlo));
        json_object_set_new(jp, "rate_hi", no_report_num(rhi));
        no_thm_detail(r, "perturbed", jp);
    }

    /* details: the problem, the flows' records, GD */
    {
        json_t *jpb = json_object();
        json_object_set_new(jpb, "d", json_integer((json_int_t)d));
        json_object_set_new(jpb, "N", json_integer((json_int_t)d));
        json_object_set_new(jpb, "L", json_integer((json_int_t)L));
        json_object_set_new(jpb, "scheme", json_string("euler"));
        json_object_set_new(jpb, "T", no_report_num(T));
        json_object_set_new(jpb, "prec", json_integer(o.prec));
        json_object_set_new(jpb, "limit", no_report_num(limit));
        json_object_set_new(jpb, "taylor_steps", json_integer((json_int_t)tsteps));
        json_object_set_new(jpb, "flow_accepted_zero", json_integer((json_int_t)t0->flow_accepted));
        json_object_set_new(jpb, "flow_accepted_perturbed",
                            json_integer((json_int_t)t1->flow_accepted));
        no_thm_detail(r, "problem", jpb);
        json_t *rows = json_array();
        for (size_t n = 0; n < nrec; n++) {
            json_t *row = json_object();
            json_object_set_new(row, "t", no_report_num(trec[n]));
            json_object_set_new(row, "w_zero", no_report_num(t0->params[n * t0->K]));
            json_object_set_new(row, "w_euler_scalar", no_report_num(mpfr_get_d(weul[n],
                                                                                MPFR_RNDN)));
            json_object_set_new(row, "w_node", no_report_num(mpfr_get_d(wrec[n], MPFR_RNDN)));
            json_object_set_new(row, "F_zero", no_report_num(t0->F[n]));
            json_object_set_new(row, "F_zero_bits",
                                no_report_num(t0->F_bits ? t0->F_bits[n] : 0));
            json_object_set_new(row, "F_perturbed", no_report_num(t1->F[n]));
            json_object_set_new(row, "a_perturbed", no_report_num(t1->params[n * t1->K]));
            json_object_set_new(row, "b_perturbed", no_report_num(t1->params[n * t1->K + d]));
            json_array_append_new(rows, row);
        }
        no_thm_detail(r, "flow", rows);
        json_t *jg = json_object(), *jw = json_array();
        json_object_set_new(jg, "eta", no_report_num(o.eta));
        json_object_set_new(jg, "steps", json_integer((json_int_t)o.gd_steps));
        for (size_t n = 0; n <= o.gd_steps; n++)
            json_array_append_new(jw, no_report_num(wgd[n]));
        json_object_set_new(jg, "w", jw);
        no_thm_detail(r, "gd", jg);
    }

    if (out && (write_paths(out, &o, fl, err, sizeof err) ||
                write_loss(out, fl, wrec, nrec, dN, err, sizeof err) ||
                (!strchr(out, '"') &&
                 no_plot_png(out, "linear_counterexample_paths.csv", "linear_counterexample.png",
                             plot_body, &T, err, sizeof err)))) {
        rc = -1;
        goto done;
    }

done:
    for (size_t j = 0; j < o.nt; j++)
        mpfr_clear(wt[j]);
    for (size_t n = 0; n < nrec; n++)
        mpfr_clears(wrec[n], weul[n], (mpfr_ptr)0);
    mpfr_clears(wc, tt, s, diff, F, lim, (mpfr_ptr)0);
    free(wt);
    free(wrec);
    free(weul);
    free(trec);
    free(wgd);
    for (int a = 0; a < 2; a++)
        ref_train_traj_clear(&fl[a].tr);
    ref_train_traj_clear(&gd);
    if (rc) {
        no_thm_report_free(r);
        return no_report_error(err);
    }
    return no_thm_report_finish(r, json);
}
