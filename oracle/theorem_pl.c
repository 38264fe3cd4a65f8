/* theorem_pl.c - `nodeoracle theorem pl`: the local PL chain of the RKHS
 * ResNet, link by link, at every iterate of a gradient-descent run
 * (ref/ref_pl.h, proofs-notes/theorem-pl.md, docs/theorem-pl.md). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "ref.h"
#include "ref_pl.h"
#include "report.h"
#include "spec_args.h"
#include "theorem.h"
#include "theorem_commands.h"

const char no_thm_pl_help[] =
    "NAME\n"
    "  nodeoracle theorem pl - the local Polyak-Lojasiewicz chain of the RKHS ResNet,\n"
    "  m(R) F <= |G|^2 <= M(R) F, checked link by link along gradient descent\n"
    "\n"
    "SYNOPSIS\n"
    "  nodeoracle theorem pl [--steps 3] [--eta 1] [--prec 128] [--json] [PROBLEM OPTIONS]\n"
    "\n"
    "STATEMENT (slides, seed 004, 'Expressivity Condition and P-L'; note, seed 002,\n"
    "Definition 2 and Proposition 4), in our normalisation F = 1/(2N) sum |B z_L - y|^2,\n"
    "|G|^2 the metric norm h sum_k |G_k|_F^2, R = |theta| (proofs-notes/theorem-pl.md):\n"
    "    m(R) F <= |G|^2 <= M(R) F,\n"
    "    m(R) = (2/N) smin(B)^2 lambda(smin(A) delta e^{-kappa R}) e^{-2 kappa R},\n"
    "    M(R) = (2/N) smax(B)^2 Lambda e^{2 kappa R},  Lambda = max lambda_max(K_Z) <= N.\n"
    "  The slides print m = smin(B)^2 lambda(.) e^{-2 kappa R} and M = smax(B)^2 e^{2 kappa R}\n"
    "  for F = 1/2 sum |.|^2: their m is ours times N/2 (a weaker bound, it holds when\n"
    "  ours does), their M lacks Lambda and the 2 (it fails once lambda_max(K_Z) > 1/2).\n"
    "  Both readings are evaluated and reported; the verdict is on ours.\n"
    "\n"
    "DESCRIPTION\n"
    "  The problem (family rff, Euler with one step per layer, discrete adjoint) is\n"
    "  trained by STEPS steps of gradient descent W <- W - ETA mgrad_W in the reference at\n"
    "  --prec bits. At every iterate the links of the proof are evaluated from the run:\n"
    "    gram     h sum_k sum_ij (p_{k+1}^i . p_{k+1}^j) k_q(z_k^i, z_k^j) = |G|^2\n"
    "    eig      h sum_k lambda_min(K_k) P_{k+1} <= |G|^2 <= h sum_k lambda_max(K_k) P_{k+1}\n"
    "             (P_k = sum_i |p_k^i|^2, K_k the Gram matrix of layer k's inputs)\n"
    "    back     (1 - h kappa1 w_k)^2 P_{k+1} <= P_k <= (1 + h kappa1 w_k)^2 P_{k+1}\n"
    "             (w_k = |W_k|_F, kappa1 = sqrt(2/q) |Omega|_2 bounds |Dv_k| / w_k)\n"
    "    final    (2/N) smin(B)^2 F <= P_L <= (2/N) smax(B)^2 F (an identity when B has\n"
    "             orthonormal rows, as the generator's)\n"
    "    sep      (1 - h kappa1 w_k) sep_k <= sep_{k+1}, smin(A) delta <= sep_0\n"
    "  and the assembled bounds, discrete (products over layers) and in the slides'\n"
    "  continuous form (e^{-+kappa1 R}, lambda estimated from above by the layers' own\n"
    "  smallest Gram eigenvalue, which makes the lower check conservative). The table\n"
    "  gives every link's ratio lhs/rhs and names the tightest.\n"
    "\n"
    "  Every quantity is computed twice, at --prec and at --prec + max(32, prec/2) bits;\n"
    "  an inequality holds when its margin exceeds the two runs' difference plus the\n"
    "  rounding of the reported doubles, fails when the opposite margin does, and is\n"
    "  undecided otherwise (proofs-notes/precision.md).\n"
    "\n"
    "OPTIONS\n"
    "  --steps N      GD iterations, 0..200 (default 3); the chain is checked at n = 0..N\n"
    "  --eta E        GD step, a finite number > 0 (default 1)\n"
    "  --prec BITS    working precision, 53..43691 (default 128)\n"
    "  --scale NAME=F multiply one constant of the chain by F > 0 (repeatable): kappa\n"
    "                 (kappa1), lambda (every layer's Gram eigenvalues), sA, sB (the\n"
    "                 singular values of A, B), norm (the 2/N of our normalisation). Shows\n"
    "                 which inequality depends on a constant and how tight it is: a\n"
    "                 deliberately wrong constant makes the checks that use it fail\n"
    "  --json         one JSON object of kind \"theorem\" (docs/theorem-pl.md)\n"
    "  PROBLEM OPTIONS  the problem options below; defaults here: --family rff --q 32\n"
    "                 --param-scale 0.1 (|W_k|_F ~ 1: the local regime), N=8, d_in=2,\n"
    "                 d_out=2, D=4, L=8, euler, m=1. A layer with h kappa1 w_k >= 1 gives\n"
    "                 no lower bound (its factor 1 - h kappa1 w_k is taken as 0)\n"
    "\n"
    "EXIT STATUS\n"
    "  0 every link and both assembled inequalities hold at every iterate; 1 one fails\n"
    "  (named on stderr); 2 usage or input error; 3 none fails, one undecided.\n"
    "\n"
    "EXAMPLES\n"
    "  nodeoracle theorem pl\n"
    "  nodeoracle theorem pl --q 64 --L 16 --steps 10 --eta 0.5 --json\n"
    "\n";

/* --scale NAME=F: one constant of the chain multiplied by F, to see which
 * inequalities depend on it and how tight they are (a deliberately wrong
 * constant must make some check fail: tests/test_theorem_pl.c). */
typedef struct {
    double kappa, lambda, sA, sB, norm;
} scales;

/* What one iterate yields at one precision (index 0: prec, 1: higher). */
typedef struct {
    size_t n;
    double F, G2, R, kappa1, lam_hat, Lam_hat;
    /* link values: lhs and rhs of each named check */
    int ncheck;
    char names[24][96];
    char notes[24][96];
    double lhs[24], rhs[24];
    int identity[24]; /* 1: lhs is |a - b| and rhs a tolerance (an identity) */
    double slides_m_ratio, slides_M_ratio; /* |G|^2 / (m F) and |G|^2 / (M F) */
} iterate;

static void add(iterate *it, const char *name, const char *note, double lhs, double rhs,
                int identity)
{
    int c = it->ncheck++;
    snprintf(it->names[c], sizeof it->names[c], "n=%zu %s", it->n, name);
    snprintf(it->notes[c], sizeof it->notes[c], "%s", note ? note : "");
    it->lhs[c] = lhs;
    it->rhs[c] = rhs;
    it->identity[c] = identity;
}

static double d(mpfr_srcptr x)
{
    return mpfr_get_d(x, MPFR_RNDN);
}

/* The checks of one iterate from its links, in MPFR where a product or a
 * sum over layers is formed, rounded to double at the end. */
static void assemble(const ref_pl_links *l, size_t n, mpfr_srcptr h, long tol_prec,
                     double norm_scale, iterate *it)
{
    /* identities are checked to tol_prec - 20 bits: the lower of the two
     * precisions, so that both runs state the same tolerance */
    mpfr_prec_t prec = l->prec;
    size_t L = l->L, N = l->N;
    memset(it, 0, sizeof *it);
    it->n = n;
    mpfr_t a, b, t, c, e, cprod, eprod, mlow, mup, lam, Lam, twoN;
    mpfr_inits2(prec, a, b, t, c, e, cprod, eprod, mlow, mup, lam, Lam, twoN, (mpfr_ptr)0);
    mpfr_set_ui(twoN, 2, MPFR_RNDN);
    mpfr_div_ui(twoN, twoN, (unsigned long)N, MPFR_RNDN);
    mpfr_mul_d(twoN, twoN, norm_scale, MPFR_RNDN);
    it->F = d(l->F);
    it->G2 = d(l->G2);
    it->R = d(l->R);
    it->kappa1 = d(l->kappa1);

    /* gram: an identity, to prec - 20 bits of |G|^2 */
    mpfr_sub(a, l->gram, l->G2, MPFR_RNDN);
    mpfr_abs(a, a, MPFR_RNDN);
    mpfr_mul_2si(b, l->G2, -tol_prec + 20, MPFR_RNDN);
    add(it, "gram: |Gram form - |G|^2|", "identity, to prec - 20 bits", d(a), d(b), 1);

    /* eig: h sum lmin_k P_{k+1} <= |G|^2 <= h sum lmax_k P_{k+1} */
    mpfr_set_zero(a, 1);
    mpfr_set_zero(b, 1);
    mpfr_set_inf(lam, 1);
    mpfr_set_zero(Lam, 1);
    for (size_t k = 0; k < L; k++) {
        mpfr_mul(t, l->lmin[k], l->P[k + 1], MPFR_RNDN);
        mpfr_fma(a, t, h, a, MPFR_RNDN);
        mpfr_mul(t, l->lmax[k], l->P[k + 1], MPFR_RNDN);
        mpfr_fma(b, t, h, b, MPFR_RNDN);
        mpfr_min(lam, lam, l->lmin[k], MPFR_RNDN);
        mpfr_max(Lam, Lam, l->lmax[k], MPFR_RNDN);
    }
    it->lam_hat = d(lam);
    it->Lam_hat = d(Lam);
    add(it, "eig: h sum lmin_k P_{k+1} <= |G|^2", NULL, d(a), it->G2, 0);
    add(it, "eig: |G|^2 <= h sum lmax_k P_{k+1}", NULL, it->G2, d(b), 0);

    /* back and sep: the tightest layer of each (largest ratio lhs / rhs) */
    double worst[4] = {-1, -1, -1, -1};
    double wl[4] = {0}, wr[4] = {0};
    size_t wk[4] = {0};
    for (size_t k = 0; k < L; k++) {
        mpfr_mul(t, l->kappa1, l->w[k], MPFR_RNDN);
        mpfr_mul(t, t, h, MPFR_RNDN);
        mpfr_ui_sub(c, 1, t, MPFR_RNDN);
        if (mpfr_sgn(c) < 0) /* h kappa1 w_k >= 1: no lower bound from this layer */
            mpfr_set_zero(c, 1);
        mpfr_add_ui(e, t, 1, MPFR_RNDN);
        double pairs[4][2];
        mpfr_sqr(a, c, MPFR_RNDN);
        mpfr_mul(a, a, l->P[k + 1], MPFR_RNDN);
        pairs[0][0] = d(a), pairs[0][1] = d(l->P[k]);
        mpfr_sqr(b, e, MPFR_RNDN);
        mpfr_mul(b, b, l->P[k + 1], MPFR_RNDN);
        pairs[1][0] = d(l->P[k]), pairs[1][1] = d(b);
        mpfr_mul(a, c, l->sep[k], MPFR_RNDN);
        pairs[2][0] = d(a), pairs[2][1] = d(l->sep[k + 1]);
        mpfr_mul(b, e, l->sep[k], MPFR_RNDN);
        pairs[3][0] = d(l->sep[k + 1]), pairs[3][1] = d(b);
        for (int j = 0; j < 4; j++) {
            double r = pairs[j][0] / pairs[j][1];
            if (r > worst[j]) {
                worst[j] = r, wl[j] = pairs[j][0], wr[j] = pairs[j][1], wk[j] = k;
            }
        }
    }
    static const char *bn[4] = {"back: (1 - h kappa1 w_k)^2 P_{k+1} <= P_k",
                                "back: P_k <= (1 + h kappa1 w_k)^2 P_{k+1}",
                                "sep: (1 - h kappa1 w_k) sep_k <= sep_{k+1}",
                                "sep: sep_{k+1} <= (1 + h kappa1 w_k) sep_k"};
    for (int j = 0; j < 4; j++) {
        char note[64];
        snprintf(note, sizeof note, "tightest layer k = %zu", wk[j]);
        add(it, bn[j], note, wl[j], wr[j], 0);
    }
    /* sep_0 >= smin(A) delta; an identity when A has equal singular values
     * (the generator's lifting has orthonormal columns: |A x| = |x|) */
    mpfr_sub(t, l->sA_max, l->sA_min, MPFR_RNDN);
    mpfr_mul_2si(e, l->sA_max, -tol_prec + 20, MPFR_RNDN);
    mpfr_mul(a, l->sA_min, l->delta, MPFR_RNDN);
    if (mpfr_cmp(t, e) <= 0) {
        mpfr_sub(b, a, l->sep[0], MPFR_RNDN);
        mpfr_abs(b, b, MPFR_RNDN);
        mpfr_mul_2si(t, l->sep[0], -tol_prec + 20, MPFR_RNDN);
        add(it, "sep: |sep_0 - s(A) delta|", "identity: A has equal singular values", d(b),
            d(t), 1);
    } else {
        add(it, "sep: smin(A) delta <= sep_0", NULL, d(a), d(l->sep[0]), 0);
    }

    /* final: (2/N) smin(B)^2 F <= P_L <= (2/N) smax(B)^2 F; one identity when
     * the two singular values agree to the working precision */
    mpfr_sub(t, l->sB_max, l->sB_min, MPFR_RNDN);
    mpfr_mul_2si(e, l->sB_max, -tol_prec + 20, MPFR_RNDN);
    if (mpfr_cmp(t, e) <= 0) {
        mpfr_sqr(a, l->sB_max, MPFR_RNDN);
        mpfr_mul(a, a, twoN, MPFR_RNDN);
        mpfr_mul(a, a, l->F, MPFR_RNDN);
        mpfr_sub(b, a, l->P[L], MPFR_RNDN);
        mpfr_abs(b, b, MPFR_RNDN);
        mpfr_mul_2si(t, l->P[L], -tol_prec + 20, MPFR_RNDN);
        add(it, "final: |P_L - (2/N) s(B)^2 F|", "identity: B has equal singular values",
            d(b), d(t), 1);
    } else {
        mpfr_sqr(a, l->sB_min, MPFR_RNDN);
        mpfr_mul(a, a, twoN, MPFR_RNDN);
        mpfr_mul(a, a, l->F, MPFR_RNDN);
        add(it, "final: (2/N) smin(B)^2 F <= P_L", NULL, d(a), d(l->P[L]), 0);
        mpfr_sqr(a, l->sB_max, MPFR_RNDN);
        mpfr_mul(a, a, twoN, MPFR_RNDN);
        mpfr_mul(a, a, l->F, MPFR_RNDN);
        add(it, "final: P_L <= (2/N) smax(B)^2 F", NULL, d(l->P[L]), d(a), 0);
    }

    /* assembled, discrete: m_d = (2/N) smin(B)^2 h sum_k lmin_k prod_{j>k} c_j^2,
     * M_d = (2/N) smax(B)^2 h sum_k lmax_k prod_{j>k} e_j^2 */
    mpfr_set_zero(mlow, 1);
    mpfr_set_zero(mup, 1);
    mpfr_set_ui(cprod, 1, MPFR_RNDN);
    mpfr_set_ui(eprod, 1, MPFR_RNDN);
    for (size_t kk = L; kk-- > 0;) {
        mpfr_mul(t, l->lmin[kk], cprod, MPFR_RNDN);
        mpfr_fma(mlow, t, h, mlow, MPFR_RNDN);
        mpfr_mul(t, l->lmax[kk], eprod, MPFR_RNDN);
        mpfr_fma(mup, t, h, mup, MPFR_RNDN);
        mpfr_mul(t, l->kappa1, l->w[kk], MPFR_RNDN);
        mpfr_mul(t, t, h, MPFR_RNDN);
        mpfr_ui_sub(c, 1, t, MPFR_RNDN);
        if (mpfr_sgn(c) < 0)
            mpfr_set_zero(c, 1);
        mpfr_add_ui(e, t, 1, MPFR_RNDN);
        mpfr_sqr(c, c, MPFR_RNDN);
        mpfr_sqr(e, e, MPFR_RNDN);
        mpfr_mul(cprod, cprod, c, MPFR_RNDN);
        mpfr_mul(eprod, eprod, e, MPFR_RNDN);
    }
    mpfr_sqr(t, l->sB_min, MPFR_RNDN);
    mpfr_mul(mlow, mlow, t, MPFR_RNDN);
    mpfr_mul(mlow, mlow, twoN, MPFR_RNDN);
    mpfr_sqr(t, l->sB_max, MPFR_RNDN);
    mpfr_mul(mup, mup, t, MPFR_RNDN);
    mpfr_mul(mup, mup, twoN, MPFR_RNDN);
    mpfr_mul(a, mlow, l->F, MPFR_RNDN);
    add(it, "PL lower, discrete: m_d F <= |G|^2", NULL, d(a), it->G2, 0);
    mpfr_mul(a, mup, l->F, MPFR_RNDN);
    add(it, "PL upper, discrete: |G|^2 <= M_d F", NULL, it->G2, d(a), 0);

    /* assembled, continuous form (ours): m = (2/N) smin(B)^2 lam e^{-2 kappa1 R},
     * M = (2/N) smax(B)^2 Lam e^{2 kappa1 R} */
    mpfr_mul(t, l->kappa1, l->R, MPFR_RNDN);
    mpfr_mul_2ui(t, t, 1, MPFR_RNDN);
    mpfr_exp(e, t, MPFR_RNDN); /* e^{2 kappa1 R} */
    mpfr_sqr(a, l->sB_min, MPFR_RNDN);
    mpfr_mul(a, a, twoN, MPFR_RNDN);
    mpfr_mul(a, a, lam, MPFR_RNDN);
    mpfr_div(a, a, e, MPFR_RNDN);
    mpfr_mul(a, a, l->F, MPFR_RNDN);
    add(it, "PL lower: m(R) F <= |G|^2", "lambda estimated by min_k lmin_k (from above)", d(a),
        it->G2, 0);
    mpfr_sqr(b, l->sB_max, MPFR_RNDN);
    mpfr_mul(b, b, twoN, MPFR_RNDN);
    mpfr_mul(b, b, Lam, MPFR_RNDN);
    mpfr_mul(b, b, e, MPFR_RNDN);
    mpfr_mul(b, b, l->F, MPFR_RNDN);
    add(it, "PL upper: |G|^2 <= M(R) F", "Lambda = max_k lmax_k", it->G2, d(b), 0);

    /* the slides' constants read literally with F_s = N F_ours and grad F_s
     * = N G: |G|^2 / ((m_s / N) F) and |G|^2 / ((M_s / N) F) */
    mpfr_sqr(a, l->sB_min, MPFR_RNDN);
    mpfr_mul(a, a, lam, MPFR_RNDN);
    mpfr_div(a, a, e, MPFR_RNDN);
    mpfr_div_ui(a, a, (unsigned long)N, MPFR_RNDN);
    mpfr_mul(a, a, l->F, MPFR_RNDN);
    it->slides_m_ratio = it->G2 / d(a);
    mpfr_sqr(b, l->sB_max, MPFR_RNDN);
    mpfr_mul(b, b, e, MPFR_RNDN);
    mpfr_div_ui(b, b, (unsigned long)N, MPFR_RNDN);
    mpfr_mul(b, b, l->F, MPFR_RNDN);
    it->slides_M_ratio = it->G2 / d(b);
    mpfr_clears(a, b, t, c, e, cprod, eprod, mlow, mup, lam, Lam, twoN, (mpfr_ptr)0);
}

/* GD at one precision: the iterates' checks into its[0..steps]. */
/* The scaled constants (all 1: the derivation's). */
static void apply_scales(ref_pl_links *l, const scales *sc)
{
    mpfr_mul_d(l->kappa1, l->kappa1, sc->kappa, MPFR_RNDN);
    for (size_t k = 0; k < l->L; k++) {
        mpfr_mul_d(l->lmin[k], l->lmin[k], sc->lambda, MPFR_RNDN);
        mpfr_mul_d(l->lmax[k], l->lmax[k], sc->lambda, MPFR_RNDN);
    }
    mpfr_mul_d(l->sA_min, l->sA_min, sc->sA, MPFR_RNDN);
    mpfr_mul_d(l->sA_max, l->sA_max, sc->sA, MPFR_RNDN);
    mpfr_mul_d(l->sB_min, l->sB_min, sc->sB, MPFR_RNDN);
    mpfr_mul_d(l->sB_max, l->sB_max, sc->sB, MPFR_RNDN);
}

static int run_prec(const no_problem *p, long prec, long tol_prec, size_t steps, double eta,
                    const scales *sc, iterate *its, char *err, size_t len)
{
    ref_model m;
    if (ref_model_init(&m, p, (mpfr_prec_t)prec, err, len))
        return -1;
    ref_array *W = ref_model_param(&m, "W");
    mpfr_t step, x;
    mpfr_inits2((mpfr_prec_t)prec, step, x, (mpfr_ptr)0);
    mpfr_set_d(step, eta, MPFR_RNDN);
    int rc = 0;
    for (size_t n = 0; n <= steps && !rc; n++) {
        ref_pl_links l;
        ref_result r;
        if (ref_pl_eval(&m, &l, &r, err, len)) {
            rc = -1;
            break;
        }
        apply_scales(&l, sc);
        assemble(&l, n, m.tau[0], tol_prec, sc->norm, &its[n]);
        const ref_array *g = ref_result_get(&r, "mgrad_W");
        for (size_t e = 0; n < steps && e < W->n; e++) {
            mpfr_mul(x, g->v[e], step, MPFR_RNDN);
            mpfr_sub(W->v[e], W->v[e], x, MPFR_RNDN);
        }
        ref_result_clear(&r);
        ref_pl_links_clear(&l);
    }
    mpfr_clears(step, x, (mpfr_ptr)0);
    ref_model_clear(&m);
    return rc;
}

int no_thm_pl(int argc, char **argv)
{
    no_spec s;
    no_spec_default(&s);
    s.family = NO_FAMILY_RFF;
    s.q = 32;
    /* the local regime of the theorem: |W_k|_F ~ 1, so that a layer moves
     * points by less than their distance (h kappa1 w_k < 1) */
    s.param_scale = 0.1;
    size_t steps = 3;
    double eta = 1;
    long prec = 128;
    int json = 0;
    char err[512];
    scales sc = {1, 1, 1, 1, 1};
    for (int i = 0; i < argc; i++) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int a = no_cmd_arg_common(f, v, &json, NULL);
        if (a == NO_CMD_ARG_SWITCH || a == NO_CMD_ARG_HELP) /* cmd_theorem.c answers --help */
            continue;
        if (a != NO_CMD_ARG_VALUE)
            return a;
        int bad = 0;
        if (!strcmp(f, "--steps"))
            bad = no_cmd_parse_count(f, v, 0, 200, &steps, err, sizeof err);
        else if (!strcmp(f, "--eta"))
            bad = no_cmd_parse_real(f, v, 0, 1e6, 1, &eta, err, sizeof err);
        else if (!strcmp(f, "--prec")) {
            if (no_cmd_parse_prec(v, &prec))
                return no_cmd_prec_error(v);
        } else if (!strcmp(f, "--scale")) {
            const char *eq = strchr(v, '=');
            static const char *names[] = {"kappa", "lambda", "sA", "sB", "norm"};
            double *slot[] = {&sc.kappa, &sc.lambda, &sc.sA, &sc.sB, &sc.norm};
            int which = -1;
            for (int j = 0; eq && j < 5; j++)
                if ((size_t)(eq - v) == strlen(names[j]) && !strncmp(v, names[j], strlen(names[j])))
                    which = j;
            if (which < 0) {
                snprintf(err, sizeof err, "--scale: expected NAME=F with NAME one of kappa, "
                                          "lambda, sA, sB, norm, got '%.40s'", v);
                bad = 1;
            } else {
                bad = no_cmd_parse_real(f, eq + 1, 0, 1e6, 1, slot[which], err, sizeof err);
            }
        } else {
            bad = no_spec_arg_or_unknown(&s, f, v, err, sizeof err);
        }
        if (bad)
            return no_cmd_usage_error(err);
        i++;
    }
    if (no_spec_validate(&s, NO_REQ_NONE, err, sizeof err))
        return no_cmd_usage_error(err);
    const char *why = ref_pl_unsupported(&s);
    if (why)
        return no_cmd_usage_error(why);
    no_problem p;
    if (no_problem_generate(&p, &s, err, sizeof err))
        return no_report_error(err);
    iterate *its[2];
    its[0] = calloc(steps + 1, sizeof(iterate));
    its[1] = calloc(steps + 1, sizeof(iterate));
    long hi = prec + (prec / 2 > 32 ? prec / 2 : 32);
    int rc = !its[0] || !its[1] ? no_errorf(err, sizeof err, "out of memory (iterates)") : 0;
    if (!rc)
        rc = run_prec(&p, prec, prec, steps, eta, &sc, its[0], err, sizeof err);
    if (!rc)
        rc = run_prec(&p, hi, prec, steps, eta, &sc, its[1], err, sizeof err);
    no_problem_free(&p);
    if (rc) {
        free(its[0]);
        free(its[1]);
        return no_report_error(err);
    }
    no_thm_report *r = no_thm_report_new(
        "pl",
        "m(R) F <= |G|^2 <= M(R) F, m = (2/N) smin(B)^2 lambda(smin(A) delta e^{-kappa R}) "
        "e^{-2 kappa R}, M = (2/N) smax(B)^2 Lambda e^{2 kappa R}",
        "slides (seed 004) 'Expressivity Condition and P-L'; note (seed 002) Definition 2, "
        "Proposition 4; proofs-notes/theorem-pl.md");
    if (!r) {
        free(its[0]);
        free(its[1]);
        return no_report_error("out of memory (report)");
    }
    char desc[256];
    no_spec_describe(&s, desc, sizeof desc);
    json_t *rows = json_array();
    for (size_t n = 0; n <= steps; n++) {
        const iterate *a = &its[0][n], *b = &its[1][n];
        double tight = -1;
        const char *tight_name = "";
        for (int c = 0; c < b->ncheck; c++) {
            /* error of the judged doubles: the two precisions' difference
             * (4x) and the rounding of each side to double */
            double e = 4 * (fabs(a->lhs[c] - b->lhs[c]) + fabs(a->rhs[c] - b->rhs[c])) +
                       ldexp(fabs(b->lhs[c]) + fabs(b->rhs[c]), -52);
            no_thm_check(r, b->names[c], b->lhs[c], b->rhs[c], e,
                         b->notes[c][0] ? b->notes[c] : NULL);
            double ratio = b->lhs[c] / b->rhs[c];
            /* links only: not the identities, not the assembled PL bounds */
            const char *link = strchr(b->names[c], ' ') + 1;
            if (!b->identity[c] && strncmp(link, "PL ", 3) && ratio > tight) {
                tight = ratio;
                tight_name = b->names[c];
            }
        }
        char name[64];
        snprintf(name, sizeof name, "n=%zu tightest link (lhs/rhs)", n);
        no_thm_value(r, name, tight, 0, tight_name);
        json_t *row = json_object();
        json_object_set_new(row, "n", json_integer((json_int_t)n));
        json_object_set_new(row, "F", no_report_num(b->F));
        json_object_set_new(row, "gnorm2", no_report_num(b->G2));
        json_object_set_new(row, "R", no_report_num(b->R));
        json_object_set_new(row, "kappa1", no_report_num(b->kappa1));
        json_object_set_new(row, "lambda_hat", no_report_num(b->lam_hat));
        json_object_set_new(row, "Lambda_hat", no_report_num(b->Lam_hat));
        json_object_set_new(row, "tightest_link", json_string(tight_name));
        json_object_set_new(row, "tightest_ratio", no_report_num(tight));
        json_object_set_new(row, "slides_m_reading_ratio", no_report_num(b->slides_m_ratio));
        json_object_set_new(row, "slides_M_reading_ratio", no_report_num(b->slides_M_ratio));
        json_array_append_new(rows, row);
    }
    const iterate *z = &its[1][0], *last = &its[1][steps];
    no_thm_value(r, "F(theta^0)", z->F, 0, NULL);
    no_thm_value(r, "F(theta^steps)", last->F, 0, NULL);
    no_thm_value(r, "kappa1 = sqrt(2/q) |Omega|_2", z->kappa1, 0, "fixed along the run");
    no_thm_value(r, "R at the last iterate", last->R, 0, "metric norm of theta");
    no_thm_value(r, "slides' m read literally: |G|^2/(m F)", last->slides_m_ratio, 0,
                 ">= 1: holds (their m is ours x N/2)");
    no_thm_value(r, "slides' M read literally: |G|^2/(M F)", last->slides_M_ratio, 0,
                 "<= 1 needed; > 1: the reading fails (no Lambda)");
    no_thm_detail(r, "description", json_string(desc));
    no_thm_detail(r, "prec", json_integer(prec));
    no_thm_detail(r, "prec_check", json_integer(hi));
    no_thm_detail(r, "iterates", rows);
    free(its[0]);
    free(its[1]);
    return no_thm_report_finish(r, json);
}
