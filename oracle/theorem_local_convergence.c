/* theorem_local_convergence.c - `nodeoracle theorem local-convergence`: the
 * local-convergence condition of the note's Theorem 2 (Liu-Zhu-Belkin) for
 * the RKHS ResNet with the constants of the PL chain, decided for the start
 * v^0 = 0, and kernel gradient descent checked against its claims
 * (proofs-notes/theorem-local-convergence.md, docs/theorem-local-convergence.md). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "ref.h"
#include "ref_eig.h"
#include "ref_kernel.h"
#include "ref_pl.h"
#include "report.h"
#include "spec_args.h"
#include "theorem.h"
#include "theorem_commands.h"

const char no_thm_local_convergence_help[] =
    "NAME\n"
    "  nodeoracle theorem local-convergence - the local-convergence condition of\n"
    "  gradient descent on the RKHS ResNet, decided, and GD checked against its claims\n"
    "\n"
    "SYNOPSIS\n"
    "  nodeoracle theorem local-convergence [--R R] [--steps 20] [--eta E]\n"
    "      [--target-noise 1e-4 | --targets random] [--lifting ours|slides] [--prec 128]\n"
    "      [--json] [PROBLEM OPTIONS]\n"
    "\n"
    "STATEMENT (note, seed 002, Theorem 2 = Liu, Zhu, Belkin, Theorem 6; slides, seed\n"
    "004, 'Enforcing Convergence via Lifting'), in our normalisation (PL as\n"
    "m F <= |G|^2 <= M F; proofs-notes/theorem-local-convergence.md): if\n"
    "    16 M(|v0| + R) F(v0) <= m(|v0| + R)^2 R^2            (the note's eq. 7)\n"
    "then for a small enough step, GD from v0 satisfies at every n\n"
    "    F(v^n) <= (1 - eta m/2)^n F(v0)  and  |v^n - v0|_H <= R.\n"
    "  The slides print the condition as F(v0) <= m^2/M R^2 (no 16); both readings are\n"
    "  evaluated, the note's decides.\n"
    "\n"
    "DESCRIPTION\n"
    "  The model is the infinite-width RKHS ResNet: kernel gradient descent (computed\n"
    "  exactly, ref/ref_kernel.h) with the Gaussian (--ell) or Matern (--nu 1.5, 2.5,\n"
    "  3.5) kernel, Euler with one step per layer, ode scaling, from v0 = 0. The\n"
    "  constants, for the discrete model (h = 1/L, kappa = sqrt(lambda_max(-D^2 k(0)))\n"
    "  bounds |Dv| / |v|_V: 1/ell, or sqrt(nu/(nu - 1))):\n"
    "    M(r) = 2 smax(B)^2 e^{2 kappa r}\n"
    "    m(r) = (2/N) smin(B)^2 lambda(smin(A) delta E(r)) E(r)^2,\n"
    "           E(r) = exp(-kappa r / (1 - kappa r sqrt(h)))   (0 once kappa r sqrt(h) >= 1)\n"
    "  lambda(delta), an infimum over delta-separated sets, is bracketed: from below by\n"
    "  Gershgorin, 1 - (N - 1) k(delta) (rigorous), from above by N collinear points at\n"
    "  spacing delta (an actual set). The condition is decided rigorously: it holds\n"
    "  when it holds with the lower bracket, fails when it fails with the upper one,\n"
    "  and is undecided in between. Without --R the command reports the smallest R for\n"
    "  which it holds (scan of R on a log grid from 1e-6, then bisection).\n"
    "\n"
    "  When it holds, kernel GD runs STEPS steps with step ETA (default 1/M(R), our\n"
    "  choice of 'the theorem's step': the note asks for a small enough one), and at\n"
    "  every iterate both claims are checked with m from the lower bracket (a valid PL\n"
    "  constant, the one the condition was decided with).\n"
    "\n"
    "  The condition needs a small loss at the start: the default targets are the\n"
    "  start's own outputs B A x plus --target-noise times the generator's targets\n"
    "  (--targets random keeps the generator's, for which no R exists).\n"
    "\n"
    "OPTIONS\n"
    "  --R R          decide the condition at this R only (a finite number > 0)\n"
    "  --steps N      GD iterations when the condition holds, 0..500 (default 20)\n"
    "  --eta E        GD step (default 1/M(R))\n"
    "  --target-noise EPS  targets B A x + EPS y (EPS >= 0, default 1e-4)\n"
    "  --targets random    the generator's targets\n"
    "  --lifting L    ours (default: A = [I; I; ...]/sqrt(D/d_in), B with orthonormal rows\n"
    "                 spread over the state) or slides (B = (I, 0, ..., 0)); the slides'\n"
    "                 A is ours when d_in divides D (required)\n"
    "  --prec BITS    working precision, 53..43691 (default 128); GD runs also at\n"
    "                 prec + max(32, prec/2) to bound its error\n"
    "  --json         one JSON object of kind \"theorem\"\n"
    "  PROBLEM OPTIONS  defaults here: N=4, d_in=2, d_out=2, D=4, L=8, --kernel\n"
    "                 gaussian --ell 0.25 (well separated inputs: Gershgorin's bound on\n"
    "                 lambda is positive); euler, m=1, ode scaling, discrete adjoint\n"
    "\n"
    "EXIT STATUS\n"
    "  0 the condition was decided (holds, with every GD claim holding, or fails for\n"
    "  every R); 1 a GD claim fails (named on stderr); 2 usage or input error; 3 the\n"
    "  condition or a claim is undecided.\n"
    "\n"
    "EXAMPLES\n"
    "  nodeoracle theorem local-convergence\n"
    "  nodeoracle theorem local-convergence --kernel matern --nu 2.5 --ell 1 --lifting slides\n"
    "  nodeoracle theorem local-convergence --targets random --json\n"
    "\n";

typedef struct {
    size_t N, L;
    double h;
    double kappa, delta, sAmin, sBmin, sBmax, F0;
    ref_kernel *k; /* the true kernel, at the working precision */
    mpfr_prec_t prec;
} lc_setup;

/* k(r) for the radial kernel, in double from the MPFR kernel. */
static double kern(const lc_setup *s, double r)
{
    mpfr_t z[1], c[1], out; /* the kernel is built for D = 1: k(|z - c|) */
    mpfr_init2(z[0], s->prec);
    mpfr_init2(c[0], s->prec);
    mpfr_init2(out, s->prec);
    mpfr_set_d(z[0], r, MPFR_RNDN);
    mpfr_set_zero(c[0], 1);
    ref_kernel_eval(s->k, out, z, c);
    double v = mpfr_get_d(out, MPFR_RNDN);
    mpfr_clears(z[0], c[0], out, (mpfr_ptr)0);
    return v;
}

/* lambda(delta) bracketed: lo = Gershgorin for any delta-separated set of N
 * points (k radial and decreasing), hi = lambda_min of N collinear points at
 * spacing delta (a delta-separated set). */
static void lambda_bracket(const lc_setup *s, double delta, double *lo, double *hi)
{
    size_t N = s->N;
    double kd = kern(s, delta);
    *lo = fmax(0, 1 - (double)(N - 1) * kd);
    mpfr_t *K = malloc(N * N * sizeof *K), *w = malloc(N * sizeof *w);
    if (!K || !w) {
        free(K);
        free(w);
        *hi = NAN;
        return;
    }
    for (size_t i = 0; i < N * N; i++)
        mpfr_init2(K[i], s->prec);
    for (size_t i = 0; i < N; i++)
        mpfr_init2(w[i], s->prec);
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < N; j++)
            mpfr_set_d(K[i * N + j], kern(s, delta * fabs((double)i - (double)j)), MPFR_RNDN);
    char err[128];
    *hi = ref_eig_sym(K, N, w, err, sizeof err) ? NAN : mpfr_get_d(w[0], MPFR_RNDN);
    for (size_t i = 0; i < N * N; i++)
        mpfr_clear(K[i]);
    for (size_t i = 0; i < N; i++)
        mpfr_clear(w[i]);
    free(K);
    free(w);
}

static double E_lower(const lc_setup *s, double r)
{
    double x = s->kappa * r * sqrt(s->h);
    return x >= 1 ? 0 : exp(-s->kappa * r / (1 - x));
}

static double M_of(const lc_setup *s, double r)
{
    return 2 * s->sBmax * s->sBmax * exp(2 * s->kappa * r);
}

/* m(r) with the lower (which = 0) or upper (1) bracket of lambda. */
static double m_of(const lc_setup *s, double r, int which)
{
    double E = E_lower(s, r), lo, hi;
    if (E == 0)
        return 0;
    lambda_bracket(s, s->sAmin * s->delta * E, &lo, &hi);
    return 2.0 / (double)s->N * s->sBmin * s->sBmin * (which ? hi : lo) * E * E;
}

/* The condition's two sides at R (v0 = 0, so r = R): note's 16 M F0 <= m^2 R^2. */
static void condition(const lc_setup *s, double R, int which, double factor, double *lhs,
                      double *rhs)
{
    double m = m_of(s, R, which);
    *lhs = factor * M_of(s, R) * s->F0;
    *rhs = m * m * R * R;
}

/* Smallest R on the grid where the condition holds (which, factor), refined
 * by bisection; NAN if none.  Also the best ratio lhs/rhs seen. */
static double smallest_R(const lc_setup *s, int which, double factor, double *best_ratio)
{
    double prev = 0, lhs, rhs;
    *best_ratio = INFINITY;
    for (int i = 0; i <= 800; i++) {
        double R = pow(10, -6 + i * 0.01);
        if (s->kappa * R * sqrt(s->h) >= 1)
            break;
        condition(s, R, which, factor, &lhs, &rhs);
        if (rhs > 0)
            *best_ratio = fmin(*best_ratio, lhs / rhs);
        if (lhs <= rhs) {
            double a = prev, b = R; /* fails at a (or a = 0), holds at b */
            for (int it = 0; it < 60 && a > 0; it++) {
                double mid = sqrt(a * b);
                condition(s, mid, which, factor, &lhs, &rhs);
                if (lhs <= rhs)
                    b = mid;
                else
                    a = mid;
            }
            return b;
        }
        prev = R;
    }
    return NAN;
}

/* Kernel GD at prec: F(v^n) and |v^n|_H for n = 0..steps.  0, or -1. */
static int kernel_run(const no_problem *p, long prec, double eta, size_t steps, double *F,
                      double *norm, char *err, size_t len)
{
    ref_model m;
    if (ref_model_init(&m, p, (mpfr_prec_t)prec, err, len))
        return -1;
    const no_spec *s = &p->spec;
    ref_kernel *k = s->kernel == NO_KERNEL_GAUSSIAN
                        ? ref_kernel_gaussian(s->D, s->ell, (mpfr_prec_t)prec)
                        : ref_kernel_matern(s->D, s->nu, (mpfr_prec_t)prec);
    ref_kernel_trace tr;
    int rc = !k ? no_errorf(err, len, "out of memory (kernel)")
                : ref_kernel_gd(&m, k, eta, steps, 0, &tr, err, len);
    if (!rc) {
        mpfr_t a, sum;
        mpfr_inits2((mpfr_prec_t)prec, a, sum, (mpfr_ptr)0);
        for (size_t n = 0; n <= steps; n++) {
            F[n] = mpfr_get_d(tr.F[n], MPFR_RNDN);
            /* one Euler step per layer: iterate n has n N centres per layer */
            mpfr_set_zero(sum, 1);
            for (size_t l = 0; l < s->L; l++) {
                ref_kernel_expansion_norm2(tr.v, l, n * s->N, a);
                mpfr_add(sum, sum, a, MPFR_RNDN);
            }
            mpfr_mul(sum, sum, m.tau[0], MPFR_RNDN);
            mpfr_sqrt(sum, sum, MPFR_RNDN);
            norm[n] = mpfr_get_d(sum, MPFR_RNDN);
        }
        mpfr_clears(a, sum, (mpfr_ptr)0);
        ref_kernel_trace_clear(&tr);
    }
    ref_kernel_free(k);
    ref_model_clear(&m);
    return rc;
}

/* Targets B A x + eps y (the generator's y as the noise), or unchanged. */
static void set_targets(no_problem *p, double eps)
{
    const no_spec *s = &p->spec;
    for (size_t i = 0; i < s->N; i++)
        for (size_t o = 0; o < s->d_out; o++) {
            double t = 0;
            for (size_t d = 0; d < s->D; d++) {
                double z = 0;
                for (size_t c = 0; c < s->d_in; c++)
                    z += p->A[d * s->d_in + c] * p->X[i * s->d_in + c];
                t += p->B[o * s->D + d] * z;
            }
            p->Y[i * s->d_out + o] = t + eps * p->Y[i * s->d_out + o];
        }
}

int no_thm_local_convergence(int argc, char **argv)
{
    no_spec s;
    no_spec_default(&s);
    s.N = 4;
    s.ell = 0.25;
    double Rgiven = 0, eta = 0, noise = 1e-4;
    int random_targets = 0, slides = 0, json = 0;
    size_t steps = 20;
    long prec = 128;
    char err[512];
    for (int i = 0; i < argc; i++) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int a = no_cmd_arg_common(f, v, &json, NULL);
        if (a == NO_CMD_ARG_SWITCH || a == NO_CMD_ARG_HELP) /* cmd_theorem.c answers --help */
            continue;
        if (a != NO_CMD_ARG_VALUE)
            return a;
        int bad = 0;
        if (!strcmp(f, "--R"))
            bad = no_cmd_parse_real(f, v, 0, 1e3, 1, &Rgiven, err, sizeof err);
        else if (!strcmp(f, "--steps"))
            bad = no_cmd_parse_count(f, v, 0, 500, &steps, err, sizeof err);
        else if (!strcmp(f, "--eta"))
            bad = no_cmd_parse_real(f, v, 0, 1e6, 1, &eta, err, sizeof err);
        else if (!strcmp(f, "--target-noise"))
            bad = no_cmd_parse_real(f, v, 0, 1e6, 0, &noise, err, sizeof err);
        else if (!strcmp(f, "--targets")) {
            if (strcmp(v, "random")) {
                snprintf(err, sizeof err, "--targets: expected random, got '%.40s'", v);
                bad = 1;
            }
            random_targets = 1;
        } else if (!strcmp(f, "--lifting")) {
            if (!strcmp(v, "slides"))
                slides = 1;
            else if (strcmp(v, "ours")) {
                snprintf(err, sizeof err, "--lifting: expected ours or slides, got '%.40s'", v);
                bad = 1;
            }
        } else if (!strcmp(f, "--prec")) {
            if (no_cmd_parse_prec(v, &prec))
                return no_cmd_prec_error(v);
        } else {
            bad = no_spec_arg_or_unknown(&s, f, v, err, sizeof err);
        }
        if (bad)
            return no_cmd_usage_error(err);
        i++;
    }
    if (no_spec_validate(&s, NO_REQ_NONE, err, sizeof err))
        return no_cmd_usage_error(err);
    if (s.scheme != NO_SCHEME_EULER || s.m != 1 || s.scaling != NO_SCALING_ODE ||
        s.adjoint != NO_ADJOINT_DISCRETE)
        return no_cmd_usage_error("the constants are derived for Euler, one step per layer, "
                                  "ode scaling and the discrete adjoint");
    if (s.kernel == NO_KERNEL_MATERN && s.nu != 1.5 && s.nu != 2.5 && s.nu != 3.5)
        return no_cmd_usage_error("--nu: kappa needs a differentiable kernel: nu = 1.5, 2.5 "
                                  "or 3.5");
    if (s.N < 2 || s.d_out > s.D)
        return no_cmd_usage_error("the constants need N >= 2 and d_out <= D");
    if (slides && s.D % s.d_in)
        return no_cmd_usage_error("--lifting slides: needs d_in to divide D");
    no_problem p;
    if (no_problem_generate(&p, &s, err, sizeof err))
        return no_report_error(err);
    if (slides) {
        memset(p.B, 0, s.d_out * s.D * sizeof *p.B);
        for (size_t o = 0; o < s.d_out; o++)
            p.B[o * s.D + o] = 1;
    }
    /* the start v0 = 0: no field (F(v0) and kernel GD both use the data
     * only; the generated family parameters are cleared) */
    no_param_info info[NO_MAX_PARAMS];
    int np = no_spec_params(&s, info);
    for (int j = 0; j < np; j++)
        memset(no_problem_param(&p, info[j].name), 0, info[j].n * sizeof(double));
    if (!random_targets)
        set_targets(&p, noise);

    /* the constants, in MPFR where they come from the data */
    lc_setup st;
    memset(&st, 0, sizeof st);
    st.N = s.N;
    st.L = s.L;
    st.h = 1.0 / (double)s.L;
    st.prec = (mpfr_prec_t)prec;
    st.kappa = s.kernel == NO_KERNEL_GAUSSIAN ? 1 / s.ell : sqrt(s.nu / (s.nu - 1));
    st.k = s.kernel == NO_KERNEL_GAUSSIAN ? ref_kernel_gaussian(1, s.ell, st.prec)
                                          : ref_kernel_matern(1, s.nu, st.prec);
    ref_model m;
    int rc = !st.k ? no_errorf(err, sizeof err, "out of memory (kernel)")
                   : ref_model_init(&m, &p, st.prec, err, sizeof err);
    if (rc) {
        ref_kernel_free(st.k);
        no_problem_free(&p);
        return no_report_error(err);
    }
    mpfr_t a, b;
    mpfr_inits2(st.prec, a, b, (mpfr_ptr)0);
    rc = ref_pl_singular_extremes(&m.A, s.D, s.d_in, 0, a, b, err, sizeof err);
    st.sAmin = mpfr_get_d(a, MPFR_RNDN);
    if (!rc)
        rc = ref_pl_singular_extremes(&m.B, s.d_out, s.D, 1, a, b, err, sizeof err);
    st.sBmin = mpfr_get_d(a, MPFR_RNDN);
    st.sBmax = mpfr_get_d(b, MPFR_RNDN);
    st.delta = INFINITY;
    for (size_t i = 0; i < s.N; i++)
        for (size_t j = i + 1; j < s.N; j++) {
            double d2 = 0;
            for (size_t c = 0; c < s.d_in; c++) {
                double t = p.X[i * s.d_in + c] - p.X[j * s.d_in + c];
                d2 += t * t;
            }
            st.delta = fmin(st.delta, sqrt(d2));
        }
    ref_loss(&m, a);
    st.F0 = mpfr_get_d(a, MPFR_RNDN);
    mpfr_clears(a, b, (mpfr_ptr)0);
    ref_model_clear(&m);
    if (rc) {
        ref_kernel_free(st.k);
        no_problem_free(&p);
        return no_report_error(err);
    }

    no_thm_report *r = no_thm_report_new(
        "local-convergence",
        "16 M(R) F(v0) <= m(R)^2 R^2 => F(v^n) <= (1 - eta m/2)^n F(v0), |v^n - v0| <= R",
        "note (seed 002) Theorem 2, eq. 7-8 (Liu, Zhu, Belkin, Theorem 6); slides (seed 004) "
        "'Enforcing Convergence via Lifting'; proofs-notes/theorem-local-convergence.md");
    if (!r) {
        ref_kernel_free(st.k);
        no_problem_free(&p);
        return no_report_error("out of memory (report)");
    }
    char desc[256];
    no_spec_describe(&s, desc, sizeof desc);
    no_thm_value(r, "F(v0)", st.F0, 0, random_targets ? "the generator's targets" : NULL);
    no_thm_value(r, "kappa", st.kappa, 0, "bounds |Dv|_2 / |v|_V");
    no_thm_value(r, "delta (inputs' separation)", st.delta, 0, NULL);
    no_thm_value(r, "smin(A)", st.sAmin, 0, NULL);
    no_thm_value(r, "smin(B)", st.sBmin, 0, NULL);
    no_thm_value(r, "smax(B)", st.sBmax, 0, NULL);
    /* the decision */
    double best_lo, best_hi, best_sl;
    double R_lo = Rgiven > 0 ? NAN : smallest_R(&st, 0, 16, &best_lo);
    double R_hi = Rgiven > 0 ? NAN : smallest_R(&st, 1, 16, &best_hi);
    double R_sl = Rgiven > 0 ? NAN : smallest_R(&st, 0, 1, &best_sl);
    double R = Rgiven > 0 ? Rgiven : R_lo;
    const char *decision;
    int holds = 0;
    if (Rgiven > 0) {
        double l0, r0, l1, r1;
        condition(&st, R, 0, 16, &l0, &r0);
        condition(&st, R, 1, 16, &l1, &r1);
        holds = l0 <= r0;
        decision = holds ? "holds" : l1 > r1 ? "fails" : "undecided";
        no_thm_value(r, "condition lhs/rhs, lambda from below", l0 / r0, 0, "<= 1: holds");
        no_thm_value(r, "condition lhs/rhs, lambda from above", l1 / r1, 0, "> 1: fails");
    } else {
        holds = !isnan(R_lo);
        decision = holds ? "holds" : isnan(R_hi) ? "fails for every R" : "undecided";
        no_thm_value(r, "smallest R (note, rigorous)", R_lo, 0,
                     holds ? "lambda from below" : "none on [1e-6, 1/(kappa sqrt h))");
        no_thm_value(r, "smallest R (note, lambda from above)", R_hi, 0,
                     "below it the condition fails for sure");
        no_thm_value(r, "smallest R (slides' reading, no 16)", R_sl, 0, "lambda from below");
        no_thm_value(r, "closest approach lhs/rhs (lambda from below)", best_lo, 0,
                     "min over the R grid; <= 1 somewhere iff the condition holds");
    }
    json_t *det = json_object();
    json_object_set_new(det, "description", json_string(desc));
    json_object_set_new(det, "decision", json_string(decision));
    json_object_set_new(det, "R", no_report_num(holds ? R : NAN));
    json_object_set_new(det, "R_upper_bracket", no_report_num(R_hi));
    json_object_set_new(det, "R_slides", no_report_num(R_sl));
    json_object_set_new(det, "lifting", json_string(slides ? "slides" : "ours"));
    if (!holds && !strcmp(decision, "undecided"))
        no_thm_check(r, "condition (note eq. 7), lambda from below", 1, 0, INFINITY,
                     "holds with the upper bracket of lambda only");
    if (holds) {
        double mlo = m_of(&st, R, 0), MR = M_of(&st, R);
        if (!(eta > 0))
            eta = 1 / MR;
        no_thm_value(r, "R", R, 0, NULL);
        no_thm_value(r, "m(R), lambda from below", mlo, 0, NULL);
        no_thm_value(r, "M(R)", MR, 0, NULL);
        no_thm_value(r, "eta", eta, 0, Rgiven > 0 || eta != 1 / MR ? NULL : "1/M(R)");
        double *F[2], *nrm[2];
        long precs[2] = {prec, prec + (prec / 2 > 32 ? prec / 2 : 32)};
        for (int q = 0; q < 2; q++) {
            F[q] = calloc(steps + 1, sizeof(double));
            nrm[q] = calloc(steps + 1, sizeof(double));
        }
        rc = !F[0] || !F[1] || !nrm[0] || !nrm[1]
                 ? no_errorf(err, sizeof err, "out of memory (GD)")
                 : 0;
        for (int q = 0; q < 2 && !rc; q++)
            rc = kernel_run(&p, precs[q], eta, steps, F[q], nrm[q], err, sizeof err);
        json_t *rows = json_array();
        for (size_t n = 0; n <= steps && !rc; n++) {
            double bound = pow(1 - eta * mlo / 2, (double)n) * F[1][0];
            char name[96];
            snprintf(name, sizeof name, "n=%zu F(v^n) <= (1 - eta m/2)^n F(v0)", n);
            double e = 4 * fabs(F[0][n] - F[1][n]) + 4 * fabs(F[0][0] - F[1][0]) +
                       ldexp(fabs(F[1][n]) + fabs(bound), -50);
            if (n > 0) /* at n = 0 both sides are F(v0) */
                no_thm_check(r, name, F[1][n], bound, e, NULL);
            snprintf(name, sizeof name, "n=%zu |v^n - v0|_H <= R", n);
            e = 4 * fabs(nrm[0][n] - nrm[1][n]) + ldexp(nrm[1][n] + R, -50);
            no_thm_check(r, name, nrm[1][n], R, e, NULL);
            json_t *row = json_object();
            json_object_set_new(row, "n", json_integer((json_int_t)n));
            json_object_set_new(row, "F", no_report_num(F[1][n]));
            json_object_set_new(row, "rate_bound", no_report_num(bound));
            json_object_set_new(row, "norm", no_report_num(nrm[1][n]));
            json_array_append_new(rows, row);
        }
        json_object_set_new(det, "iterates", rows);
        for (int q = 0; q < 2; q++) {
            free(F[q]);
            free(nrm[q]);
        }
    }
    no_thm_detail(r, "run", det);
    ref_kernel_free(st.k);
    no_problem_free(&p);
    if (rc) {
        no_thm_report_free(r);
        return no_report_error(err);
    }
    if (!json)
        printf("condition (note, eq. 7): %s\n", decision);
    return no_thm_report_finish(r, json);
}
