/* ref_cost: the reference made cheaper without changing what it computes
 * (issue 12, item 2; proofs-notes/ref-cost.md).
 *
 * 1. ref_dot, mpfr_dot's method on products allocated once, returns mpfr_dot's
 *    value bit for bit: random lengths, precisions (mixed, and wider than the
 *    scratch was made for), exponents, signs, zeros and exact cancellations.
 * 2. The outputs of ref_run on 24 problems (every family variant, every
 *    adjoint kind, schemes across the table, m = 1 and 2, and the rounded
 *    emulation at 24 bits) hash to what the reference computed before that
 *    work: dropping the stage slopes the adjoints do not use, mpfr_cos where
 *    only phi is needed, the one- and two-term shortcuts of the stage
 *    combinations and ref_dot changed no bit.  A deliberate change of ref's
 *    bits must update the table (and say why the certified claims hold).
 * 3. d_out wider than D, the width and the stages: ref_run's dots of d_out
 *    terms fit the dot scratch (they overran it before; seen under
 *    `make sanitize` or valgrind, silent otherwise). */
#include <criterion/criterion.h>
#include <nettle/sha2.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "problem.h"
#include "ref.h"
#include "ref_internal.h"
#include "test_util.h"

/* A random number at precision prec: 0 (either sign) one time in eight, else
 * a random significand times 2^e, e in [-150, 150], random sign. */
static void random_number(mpfr_t x, gmp_randstate_t st)
{
    unsigned long r = gmp_urandomm_ui(st, 1u << 20);
    if (r % 8 == 0) {
        mpfr_set_zero(x, (r & 8) ? -1 : 1);
        return;
    }
    mpfr_urandomb(x, st);
    mpfr_mul_2si(x, x, (long)gmp_urandomm_ui(st, 301) - 150, MPFR_RNDN);
    if (r & 16)
        mpfr_neg(x, x, MPFR_RNDN);
}

Test(ref_cost, dot_is_mpfr_dot)
{
    enum { NMAX = 40 };
    gmp_randstate_t st;
    gmp_randinit_default(st);
    gmp_randseed_ui(st, 20260412);
    ref_dot_ws dw;
    cr_assert_eq(ref_dot_ws_init(&dw, NMAX, 64), 0); /* products of 128 bits, grown on demand */
    mpfr_t x[NMAX], y[NMAX], a, b;
    mpfr_ptr px[NMAX], py[NMAX];
    for (int i = 0; i < NMAX; i++)
        mpfr_inits2(2, x[i], y[i], (mpfr_ptr)0);
    mpfr_inits2(2, a, b, (mpfr_ptr)0);
    int trials = 3000 * no_test_iters(), differ = 0;
    for (int t = 0; t < trials; t++) {
        size_t n = gmp_urandomm_ui(st, NMAX + 1);
        int mixed = t % 3 == 0;
        mpfr_prec_t p = 2 + (mpfr_prec_t)gmp_urandomm_ui(st, 400);
        for (size_t i = 0; i < n; i++) {
            mpfr_set_prec(x[i], mixed ? 2 + (mpfr_prec_t)gmp_urandomm_ui(st, 400) : p);
            mpfr_set_prec(y[i], mixed ? 2 + (mpfr_prec_t)gmp_urandomm_ui(st, 400) : p);
            random_number(x[i], st);
            random_number(y[i], st);
            /* an exact cancellation of an earlier term, now and then */
            if (i > 0 && gmp_urandomm_ui(st, 6) == 0) {
                size_t j = gmp_urandomm_ui(st, i);
                mpfr_set_prec(x[i], mpfr_get_prec(x[j]));
                mpfr_set_prec(y[i], mpfr_get_prec(y[j]));
                mpfr_set(x[i], x[j], MPFR_RNDN);
                mpfr_neg(y[i], y[j], MPFR_RNDN);
            }
            px[i] = x[i];
            py[i] = y[i];
        }
        mpfr_prec_t rp = 2 + (mpfr_prec_t)gmp_urandomm_ui(st, 400);
        mpfr_set_prec(a, rp);
        mpfr_set_prec(b, rp);
        mpfr_dot(a, px, py, n, MPFR_RNDN);
        if (t % 2) {
            ref_dot(b, x, 1, y, 1, n, &dw);
        } else { /* the pointer form the stage combinations use */
            for (size_t i = 0; i < n; i++) {
                dw.px[i] = x[i];
                dw.py[i] = y[i];
            }
            ref_dot_ptrs(b, n, &dw);
        }
        if (!mpfr_equal_p(a, b) || mpfr_signbit(a) != mpfr_signbit(b)) {
            if (differ++ < 5)
                cr_log_error("trial %d: n = %zu, result %ld bits: ref_dot differs from mpfr_dot",
                             t, n, (long)rp);
        }
    }
    cr_expect_eq(differ, 0, "%d of %d dot products differ from mpfr_dot", differ, trials);
    for (int i = 0; i < NMAX; i++)
        mpfr_clears(x[i], y[i], (mpfr_ptr)0);
    mpfr_clears(a, b, (mpfr_ptr)0);
    ref_dot_ws_clear(&dw);
    gmp_randclear(st);
}

/* Problem j of the pinned table: j < 18 at 128 bits (variant j % 6, adjoint
 * j / 6, a scheme across the table, m = 1 or 2); j >= 18 the rounded
 * emulation at 24 bits (variant j - 18, Euler, discrete). */
#define PIN_COUNT 24
static void pin_spec(int j, no_spec *s, long *prec, int *rounded)
{
    int v = j % NO_TEST_VARIANTS;
    *rounded = j >= 18;
    *prec = *rounded ? 24 : 128;
    if (*rounded) {
        no_test_spec(s, v, NO_SCHEME_EULER, 1, 300 + (uint64_t)v);
        s->adjoint = NO_ADJOINT_DISCRETE;
        return;
    }
    int adj = j / NO_TEST_VARIANTS;
    no_test_spec(s, v, (no_scheme_id)((v * 3 + adj) % NO_SCHEME_COUNT),
                 1 + (size_t)((v + adj) % 2), 200 + (uint64_t)j);
    s->adjoint = adj;
}

/* SHA-256 of every output array of problem j: its name, then each element
 * as "%Ra;" (exact hexadecimal, sign of zero included). */
static int pin_hash(int j, char hex[2 * SHA256_DIGEST_SIZE + 1])
{
    no_spec s;
    long prec;
    int rounded;
    pin_spec(j, &s, &prec, &rounded);
    no_problem p;
    ref_model m;
    ref_result r;
    char err[256], buf[512];
    if (no_problem_generate(&p, &s, err, sizeof err))
        return -1;
    int rc = rounded ? ref_model_init_rounded(&m, &p, prec, err, sizeof err)
                     : ref_model_init(&m, &p, prec, err, sizeof err);
    if (!rc && (rc = ref_run(&m, &r, err, sizeof err)))
        ref_model_clear(&m);
    no_problem_free(&p);
    if (rc)
        return -1;
    struct sha256_ctx h;
    sha256_init(&h);
    for (int a = 0; a < r.count; a++) {
        sha256_update(&h, strlen(r.a[a].name) + 1, (const uint8_t *)r.a[a].name);
        for (size_t e = 0; e < r.a[a].n; e++) {
            int n = mpfr_snprintf(buf, sizeof buf, "%Ra;", r.a[a].v[e]);
            sha256_update(&h, (size_t)n, (const uint8_t *)buf);
        }
    }
    uint8_t d[SHA256_DIGEST_SIZE];
    sha256_digest(&h, sizeof d, d);
    for (int i = 0; i < SHA256_DIGEST_SIZE; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    ref_result_clear(&r);
    ref_model_clear(&m);
    return 0;
}

/* Computed by the reference of commit 6f67942 (before issue 12, item 2). */
static const char *const pinned[PIN_COUNT] = {
    "26009a1eaa2656561066fcbfd3f077a370da73163fd6f5264b91ece9d2aa1a66",
    "47fcb2ff412f36cbe1ec5208c99ee8532ece53257a7968458c648ea09a7d1011",
    "42063173c5303e708fd8eacd7283aa100eaeca6f12a0ca9e291a6f9a111dc7ca",
    "83bfa350e809445c0b56d5fa0ac441c48981d164c76adc64f4ccf766fda8a0c2",
    "8d6108eb0870ea42460e58836788370639ba23b27a57a1f830f3bda457e75ec2",
    "f1cea98d7c170bf56c7c8e322c71d43825829104106d2e340423c2f6ba7e5dea",
    "cc4d246da89e3e05551e4d20225cd829ff3fc0d81665ff5fe64d9c77226220da",
    "09e3d0453b0c3c05711dce636dce8eb41d4528a6524bd5fbcb9f1fb91b6ef1a0",
    "6f7beb1a3f4c988745bdb8c86e8746a9ad578be3d6a2f4fd0162a4477221eb19",
    "0eef3d6ed34cc7277c87d7dcfddec4a950831b43911044381b764c7ed1d3a346",
    "62c735be379e469d64e38e402c544cc9d5821420a38146f230e4f744cba4f499",
    "b342d3d47431dfbcd9c14e58af65afa3f305fea952b921a174a844e844c5bdb0",
    "ae1dde6caab2f99bb4790489f8f329fed54e12b30987273e1e7393cb4bea7c74",
    "9f868502c3d1254dd2d8e1107c91e833d2b7815e1773d15258dcdbca0739a110",
    "9052ba04fd3520730beebf0cec3f63ed36ef156f5e04ef1a02955532dd0a2688",
    "6e76042f45ef7769b86716c80a031c9d61a1f4c28101ec86942be9a5585843d1",
    "28d7643979b1e0cfe5e47fd533f335bf6c69217362caa3635a8681cd2ca51408",
    "6be25cf7d6c2373f8ea887d1a408a5ec7a82d8169e7026ad79341b89ca3206cd",
    "e424ada061eefe1fa1fb4c951029391bd8d1588d5a53cc3c9b4c9b6691f11278",
    "780007fc7a00d407fe5998d94312410b613cf4a8b1089a7d38702cf620a7758d",
    "3de2a6e6040d590d4810a5fa0a87eb06482a5f6678b3de5f4886025dbd6b3975",
    "ffbb64b60fe740a016e771c496a2497e62c2ecf3028ddc5a8fafc8ad5a1f4e72",
    "318184b6f5cd77702b31b092d77f2b9417c165e609be07e1f4be577703fc6517",
    "ea735c402ad5e0b285a565997986f2139590fd0d48be1ce73deb76831eccd0c4"
};

Test(ref_cost, outputs_bit_identical_to_before, .timeout = NO_TEST_TIMEOUT_S)
{
    for (int j = 0; j < PIN_COUNT; j++) {
        char hex[2 * SHA256_DIGEST_SIZE + 1];
        no_spec s;
        long prec;
        int rounded;
        pin_spec(j, &s, &prec, &rounded);
        char desc[256];
        no_spec_describe(&s, desc, sizeof desc);
        cr_assert_eq(pin_hash(j, hex), 0, "problem %d (%s): ref failed", j, desc);
        cr_expect_str_eq(hex, pinned[j], "problem %d (%s, %ld bits%s): outputs changed, hash %s",
                         j, desc, prec, rounded ? ", rounded" : "", hex);
    }
}

Test(ref_cost, wide_output_fits_the_dot_scratch)
{
    no_spec s;
    no_test_spec(&s, 0, NO_SCHEME_EULER, 1, 5);
    s.D = 2;
    s.d_in = 2;
    s.d_out = 12; /* > max(D, width, NO_MAX_STAGES + 2) */
    no_problem p;
    char err[256];
    cr_assert_eq(no_problem_generate(&p, &s, err, sizeof err), 0, "%s", err);
    ref_model m;
    ref_result r;
    cr_assert_eq(ref_model_init(&m, &p, 64, err, sizeof err), 0, "%s", err);
    cr_assert_eq(ref_run(&m, &r, err, sizeof err), 0, "%s", err);
    const ref_array *loss = ref_result_get(&r, "loss");
    cr_expect(loss && mpfr_number_p(loss->v[0]) && mpfr_sgn(loss->v[0]) > 0);
    ref_result_clear(&r);
    ref_model_clear(&m);
    no_problem_free(&p);
}
