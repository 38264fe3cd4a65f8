/* validation_errors: every way a problem description can be wrong is an error
 * message, never a crash or a silent run.
 *
 * no_spec_validate() (problem/problem.c) must return -1 with a one-line,
 * non-empty message that names the offending field, for every error path:
 * zero sizes, sizes over the caps, substeps, D < d_in, unknown enums, sqrt
 * scaling with rk4, bad param_scale, bad rff/mlp widths and kernel
 * parameters, the NO_REQ_* requirements, and array element-count overflow.
 * "Names the field" is checked as a whole word (not merely a substring, so
 * that "N" is not found inside "NaN" or "M" inside "Matern"). Valid specs,
 * including those exactly at the caps, must pass.  The callers that validate
 * (no_problem_generate, ref_model_init) and the flag parser no_spec_arg are
 * checked the same way.  No tolerances here: every check is exact. */
#include <criterion/criterion.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "problem.h"
#include "ref.h"
#include "spec_args.h"
#include "test_util.h"

/* 1 if field occurs in msg as a whole word: not preceded or followed by a
 * letter, digit or underscore. */
static int names_field(const char *msg, const char *field)
{
    size_t n = strlen(field);
    for (const char *p = strstr(msg, field); p; p = strstr(p + 1, field)) {
        int before = p > msg && (isalnum((unsigned char)p[-1]) || p[-1] == '_');
        int after = isalnum((unsigned char)p[n]) || p[n] == '_';
        if (!before && !after)
            return 1;
    }
    return 0;
}

/* s must be rejected (with requirements req) by a one-line non-empty message
 * naming field. */
static void expect_invalid(const no_spec *s, unsigned req, const char *field, const char *what)
{
    char err[512];
    memset(err, 0, sizeof err);
    int rc = no_spec_validate(s, req, err, sizeof err);
    cr_expect_eq(rc, -1, "%s: accepted (rc %d)", what, rc);
    if (rc != -1)
        return;
    cr_expect_gt(strlen(err), 0, "%s: empty message", what);
    cr_expect_null(strchr(err, '\n'), "%s: message is not one line: '%s'", what, err);
    cr_expect(names_field(err, field), "%s: message '%s' does not name the field '%s'", what,
              err, field);
    /* Without an error buffer the verdict must be the same (and not crash). */
    cr_expect_eq(no_spec_validate(s, req, NULL, 0), -1, "%s: accepted without err buffer", what);
}

static void expect_valid(const no_spec *s, unsigned req, const char *what)
{
    char err[512] = "";
    int rc = no_spec_validate(s, req, err, sizeof err);
    cr_expect_eq(rc, 0, "%s: rejected: %s", what, err);
}

static void rff_spec(no_spec *s, no_kernel k)
{
    no_spec_default(s);
    s->family = NO_FAMILY_RFF;
    s->q = 8;
    s->kernel = k;
}

static void mlp_spec(no_spec *s, no_activation a)
{
    no_spec_default(s);
    s->family = NO_FAMILY_MLP;
    s->M = 4;
    s->activation = a;
}

/* The default spec, the six test variants under both schemes, and specs at
 * the edges of the valid range all pass. */
Test(validation_errors, valid_specs_pass)
{
    no_spec s;
    no_spec_default(&s);
    expect_valid(&s, NO_REQ_NONE, "default");
    for (int v = 0; v < NO_TEST_VARIANTS; v++)
        for (int sc = 0; sc < 2; sc++) {
            no_test_spec(&s, v, sc ? NO_SCHEME_RK4 : NO_SCHEME_EULER, 2, 1);
            expect_valid(&s, NO_REQ_NONE, no_test_variant_name(v));
            s.adjoint = NO_ADJOINT_CONTINUOUS;
            expect_valid(&s, NO_REQ_NONE, no_test_variant_name(v));
        }
    no_spec_default(&s);
    s.scaling = NO_SCALING_SQRT; /* sqrt with euler is defined */
    expect_valid(&s, NO_REQ_NONE, "sqrt euler");
    s.param_scale = 0.0; /* zero parameters: the zero field, a valid problem */
    expect_valid(&s, NO_REQ_NONE, "param_scale 0");
    s.param_scale = 1e6; /* the documented upper end */
    expect_valid(&s, NO_REQ_NONE, "param_scale 1e6");

    /* Each dimension exactly at NO_MAX_DIM with the others small enough that
     * no array exceeds NO_MAX_ELEMENTS. */
    no_spec_default(&s);
    s.N = NO_MAX_DIM;
    s.D = 2;
    s.L = 1;
    expect_valid(&s, NO_REQ_NONE, "N = NO_MAX_DIM");
    no_spec_default(&s);
    s.L = NO_MAX_DIM;
    s.N = 1;
    s.D = 2;
    expect_valid(&s, NO_REQ_NONE, "L = NO_MAX_DIM");
    no_spec_default(&s);
    s.m = NO_MAX_SUBSTEPS;
    s.L = 1;
    s.N = 1;
    expect_valid(&s, NO_REQ_NONE, "m = NO_MAX_SUBSTEPS");
    no_spec_default(&s);
    s.D = s.d_in; /* D = d_in: identity lifting */
    expect_valid(&s, NO_REQ_NONE, "D = d_in");
}

Test(validation_errors, zero_sizes)
{
    const char *names[] = {"N", "d_in", "d_out", "D", "L"};
    for (int f = 0; f < 5; f++) {
        no_spec s;
        no_spec_default(&s);
        size_t *t[] = {&s.N, &s.d_in, &s.d_out, &s.D, &s.L};
        *t[f] = 0;
        char what[64];
        snprintf(what, sizeof what, "%s = 0", names[f]);
        expect_invalid(&s, NO_REQ_NONE, names[f], what);
    }
}

Test(validation_errors, sizes_over_the_cap)
{
    const char *names[] = {"N", "d_in", "d_out", "D", "L"};
    for (int f = 0; f < 5; f++) {
        no_spec s;
        no_spec_default(&s);
        size_t *t[] = {&s.N, &s.d_in, &s.d_out, &s.D, &s.L};
        *t[f] = NO_MAX_DIM + 1;
        if (f == 1) /* d_in over the cap: keep D >= d_in so the cap is what fails */
            s.D = NO_MAX_DIM + 1;
        char what[64];
        snprintf(what, sizeof what, "%s = NO_MAX_DIM + 1", names[f]);
        expect_invalid(&s, NO_REQ_NONE, names[f], what);
        *t[f] = (size_t)-1; /* SIZE_MAX, as a negative number read into size_t */
        snprintf(what, sizeof what, "%s = SIZE_MAX", names[f]);
        expect_invalid(&s, NO_REQ_NONE, names[f], what);
    }
}

Test(validation_errors, substeps)
{
    no_spec s;
    no_spec_default(&s);
    s.m = 0;
    expect_invalid(&s, NO_REQ_NONE, "m", "m = 0");
    s.m = NO_MAX_SUBSTEPS + 1;
    expect_invalid(&s, NO_REQ_NONE, "m", "m > NO_MAX_SUBSTEPS");
}

Test(validation_errors, lifting_narrower_than_data)
{
    no_spec s;
    no_spec_default(&s);
    s.d_in = 3;
    s.D = 2;
    expect_invalid(&s, NO_REQ_NONE, "D", "D < d_in");
}

Test(validation_errors, unknown_enums)
{
    no_spec s;
    no_spec_default(&s);
    s.family = (no_family)3;
    expect_invalid(&s, NO_REQ_NONE, "family", "family 3");
    s.family = (no_family)-1;
    expect_invalid(&s, NO_REQ_NONE, "family", "family -1");

    no_spec_default(&s);
    s.scheme = NO_SCHEME_COUNT;
    expect_invalid(&s, NO_REQ_NONE, "scheme", "scheme NO_SCHEME_COUNT");

    no_spec_default(&s);
    s.scaling = (no_scaling)2;
    expect_invalid(&s, NO_REQ_NONE, "scaling", "scaling 2");

    no_spec_default(&s);
    s.adjoint = (no_adjoint)NO_ADJOINT_COUNT; /* 2 is backsolve */
    expect_invalid(&s, NO_REQ_NONE, "adjoint", "adjoint 3");

    /* kernel and activation are read only by their family. */
    rff_spec(&s, (no_kernel)2);
    expect_invalid(&s, NO_REQ_NONE, "kernel", "kernel 2");
    mlp_spec(&s, NO_ACT_COUNT);
    expect_invalid(&s, NO_REQ_NONE, "activation", "activation NO_ACT_COUNT");
}

Test(validation_errors, sqrt_scaling_needs_euler)
{
    no_spec s;
    no_spec_default(&s);
    s.scaling = NO_SCALING_SQRT;
    s.scheme = NO_SCHEME_RK4;
    expect_invalid(&s, NO_REQ_NONE, "scaling", "sqrt with rk4");
}

Test(validation_errors, param_scale)
{
    const double bad[] = {NAN, -NAN, INFINITY, -INFINITY, -1.0, -1e-300, 2e6};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        no_spec s;
        no_spec_default(&s);
        s.param_scale = bad[i];
        char what[64];
        snprintf(what, sizeof what, "param_scale = %g", bad[i]);
        expect_invalid(&s, NO_REQ_NONE, "param_scale", what);
    }
}

Test(validation_errors, rff_parameters)
{
    no_spec s;
    rff_spec(&s, NO_KERNEL_GAUSSIAN);
    expect_valid(&s, NO_REQ_NONE, "rff gaussian");
    s.q = 0;
    expect_invalid(&s, NO_REQ_NONE, "q", "rff q = 0");
    s.q = NO_MAX_DIM + 1;
    expect_invalid(&s, NO_REQ_NONE, "q", "rff q over the cap");

    /* Outside [NO_ELL_MIN, NO_ELL_MAX]: tiny bandwidths overflow the adjoint (fuzz/findings). */
    const double bad_ell[] = {0.0, -0.0, -1.0, NAN, INFINITY, -INFINITY, 1e-160, 0.99e-3, 1.01e3};
    for (size_t i = 0; i < sizeof bad_ell / sizeof bad_ell[0]; i++) {
        rff_spec(&s, NO_KERNEL_GAUSSIAN);
        s.ell = bad_ell[i];
        char what[64];
        snprintf(what, sizeof what, "gaussian ell = %g", bad_ell[i]);
        expect_invalid(&s, NO_REQ_NONE, "ell", what);
    }
    rff_spec(&s, NO_KERNEL_GAUSSIAN);
    s.ell = NO_ELL_MIN;
    expect_valid(&s, NO_REQ_NONE, "ell at its lower end");
    s.ell = NO_ELL_MAX;
    expect_valid(&s, NO_REQ_NONE, "ell at its upper end");
    /* ell is not read by the matern kernel. */
    rff_spec(&s, NO_KERNEL_MATERN);
    s.ell = NAN;
    expect_valid(&s, NO_REQ_NONE, "matern ignores ell");

    /* Below NO_NU_MIN the chi-square draws underflow (fuzz/findings). */
    const double bad_nu[] = {0.0, -0.5, NAN, INFINITY, -INFINITY, 1e-3, 0.49, 1.01e6};
    for (size_t i = 0; i < sizeof bad_nu / sizeof bad_nu[0]; i++) {
        rff_spec(&s, NO_KERNEL_MATERN);
        s.nu = bad_nu[i];
        char what[64];
        snprintf(what, sizeof what, "matern nu = %g", bad_nu[i]);
        expect_invalid(&s, NO_REQ_NONE, "nu", what);
    }
}

/* The kappa bound needs the 4th spectral moment 3 nu^2/((nu-1)(nu-2)), finite
 * only for nu > 2: nu <= 2 rejected under NO_REQ_KAPPA, accepted without it. */
Test(validation_errors, kappa_requirement)
{
    no_spec s;
    const double low[] = {0.5, 1.0, 1.5, 2.0};
    for (size_t i = 0; i < sizeof low / sizeof low[0]; i++) {
        rff_spec(&s, NO_KERNEL_MATERN);
        s.nu = low[i];
        expect_valid(&s, NO_REQ_NONE, "matern nu <= 2 without the kappa requirement");
        char what[64];
        snprintf(what, sizeof what, "NO_REQ_KAPPA with nu = %g", low[i]);
        expect_invalid(&s, NO_REQ_KAPPA, "nu", what);
    }
    const double ok[] = {nextafter(2.0, 3.0), 2.5, 3.5, 100.0};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        rff_spec(&s, NO_KERNEL_MATERN);
        s.nu = ok[i];
        expect_valid(&s, NO_REQ_KAPPA, "NO_REQ_KAPPA with nu > 2");
    }
    /* The requirement is about the Matern kernel; the Gaussian has every moment. */
    rff_spec(&s, NO_KERNEL_GAUSSIAN);
    s.nu = 1.0;
    expect_valid(&s, NO_REQ_KAPPA, "NO_REQ_KAPPA with the gaussian kernel");
}

Test(validation_errors, width_given_to_the_wrong_family)
{
    no_spec s;
    no_spec_default(&s); /* linear */
    s.q = 4;
    expect_invalid(&s, NO_REQ_NONE, "q", "q for linear");
    mlp_spec(&s, NO_ACT_TANH);
    s.q = 4;
    expect_invalid(&s, NO_REQ_NONE, "q", "q for mlp");

    no_spec_default(&s);
    s.M = 4;
    expect_invalid(&s, NO_REQ_NONE, "M", "M for linear");
    rff_spec(&s, NO_KERNEL_GAUSSIAN);
    s.M = 4;
    expect_invalid(&s, NO_REQ_NONE, "M", "M for rff");
}

Test(validation_errors, mlp_parameters)
{
    no_spec s;
    mlp_spec(&s, NO_ACT_TANH);
    s.M = 0;
    expect_invalid(&s, NO_REQ_NONE, "M", "mlp M = 0");
    s.M = NO_MAX_DIM + 1;
    expect_invalid(&s, NO_REQ_NONE, "M", "mlp M over the cap");
}

/* NO_REQ_SMOOTH (a C^2 field) rejects relu and hrelu (C^1: proofs-notes/activations.md). */
Test(validation_errors, smooth_requirement)
{
    no_spec s;
    mlp_spec(&s, NO_ACT_RELU);
    expect_valid(&s, NO_REQ_NONE, "relu without requirement");
    expect_invalid(&s, NO_REQ_SMOOTH, "activation", "relu under NO_REQ_SMOOTH");
    expect_invalid(&s, NO_REQ_SMOOTH | NO_REQ_KAPPA, "activation", "relu under both");
    mlp_spec(&s, NO_ACT_HRELU);
    expect_valid(&s, NO_REQ_NONE, "hrelu without requirement");
    expect_invalid(&s, NO_REQ_SMOOTH, "activation", "hrelu under NO_REQ_SMOOTH");
    mlp_spec(&s, NO_ACT_TANH);
    expect_valid(&s, NO_REQ_SMOOTH, "tanh under NO_REQ_SMOOTH");
    mlp_spec(&s, NO_ACT_SOFTPLUS);
    expect_valid(&s, NO_REQ_SMOOTH, "softplus under NO_REQ_SMOOTH");
    no_spec_default(&s);
    expect_valid(&s, NO_REQ_SMOOTH | NO_REQ_KAPPA, "linear under both requirements");
}

/* Every dimension within its cap, but an array's element count over
 * NO_MAX_ELEMENTS (or over SIZE_MAX): the message names the sizes. */
Test(validation_errors, element_count_overflow)
{
    no_spec s;
    /* N = D = L = NO_MAX_DIM: (L m + 1) N D ~ 2^72 overflows size_t itself. */
    no_spec_default(&s);
    s.N = s.D = s.L = NO_MAX_DIM;
    expect_invalid(&s, NO_REQ_NONE, "N", "N = D = L = NO_MAX_DIM");
    /* No size_t overflow, just over NO_MAX_ELEMENTS = 2^28: (1 + 1) 2^14 2^14. */
    no_spec_default(&s);
    s.N = (size_t)1 << 14;
    s.D = (size_t)1 << 14;
    s.L = 1;
    expect_invalid(&s, NO_REQ_NONE, "D", "(L m + 1) N D = 2^29");
    /* The substep states: L m large with small N, D. */
    no_spec_default(&s);
    s.N = 2;
    s.D = 2;
    s.L = (size_t)1 << 20;
    s.m = (size_t)1 << 10;
    expect_invalid(&s, NO_REQ_NONE, "m", "L m = 2^30");
    /* The parameters: L D q over the cap for rff. */
    rff_spec(&s, NO_KERNEL_GAUSSIAN);
    s.N = 1;
    s.L = (size_t)1 << 12;
    s.D = (size_t)1 << 8;
    s.q = (size_t)1 << 10;
    expect_invalid(&s, NO_REQ_NONE, "L", "rff L D q = 2^30");
    /* N x d_in itself over the cap. */
    no_spec_default(&s);
    s.N = (size_t)1 << 20;
    s.d_in = (size_t)1 << 10;
    s.D = s.d_in;
    s.L = 1;
    expect_invalid(&s, NO_REQ_NONE, "N", "N d_in = 2^30");
}

/* no_problem_generate validates before it allocates or draws anything. */
Test(validation_errors, generate_rejects_invalid_spec)
{
    no_spec s;
    no_spec_default(&s);
    s.N = 0;
    no_problem p;
    char err[256] = "";
    cr_expect_eq(no_problem_generate(&p, &s, err, sizeof err), -1);
    cr_expect(names_field(err, "N"), "message '%s' does not name N", err);
    rff_spec(&s, NO_KERNEL_MATERN);
    s.nu = NAN;
    err[0] = 0;
    cr_expect_eq(no_problem_generate(&p, &s, err, sizeof err), -1);
    cr_expect(names_field(err, "nu"), "message '%s' does not name nu", err);
    /* And accepts a valid one. */
    no_spec_default(&s);
    cr_assert_eq(no_problem_generate(&p, &s, err, sizeof err), 0, "%s", err);
    no_problem_free(&p);
}

/* ref_model_init: below 53 bits the double inputs would not be exact; above
 * REF_PREC_MAX is the documented limit.  Both edges are accepted. */
Test(validation_errors, ref_precision_range)
{
    no_spec s;
    no_test_spec(&s, 0, NO_SCHEME_EULER, 1, 1);
    no_problem p;
    char err[256];
    cr_assert_eq(no_problem_generate(&p, &s, err, sizeof err), 0, "%s", err);
    ref_model m;
    const long bad[] = {0, 2, 52, REF_PREC_MAX + 1L};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        cr_expect_eq(ref_model_init(&m, &p, bad[i], err, sizeof err), -1,
                     "precision %ld accepted", bad[i]);
        cr_expect(strstr(err, "precision") != NULL, "message '%s' does not name precision", err);
        cr_expect_null(strchr(err, '\n'));
    }
    const long good[] = {53, REF_PREC_MAX};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        cr_expect_eq(ref_model_init(&m, &p, good[i], err, sizeof err), 0, "%ld: %s", good[i],
                     err);
        ref_model_clear(&m);
    }
    /* ref_model_init also validates the spec it is handed. */
    no_problem bad_p = p;
    bad_p.spec.m = 0;
    err[0] = 0;
    cr_expect_eq(ref_model_init(&m, &bad_p, 128, err, sizeof err), -1);
    cr_expect(names_field(err, "m"), "message '%s' does not name m", err);
    no_problem_free(&p);
}

/* no_spec_arg on a bad value: -1, a one-line message naming the flag, and the
 * spec untouched. */
static void expect_arg_rejected(const char *flag, const char *value)
{
    no_spec s, before;
    no_spec_default(&s);
    before = s;
    char err[256] = "";
    int rc = no_spec_arg(&s, flag, value, err, sizeof err);
    cr_expect_eq(rc, -1, "%s '%s': rc %d", flag, value ? value : "(null)", rc);
    cr_expect_gt(strlen(err), 0, "%s '%s': empty message", flag, value ? value : "(null)");
    cr_expect_null(strchr(err, '\n'), "%s: '%s' is not one line", flag, err);
    cr_expect(strstr(err, flag) != NULL, "message '%s' does not name %s", err, flag);
    cr_expect(!memcmp(&s, &before, sizeof s), "%s '%s': spec changed on error", flag,
              value ? value : "(null)");
}

Test(validation_errors, spec_arg_unknown_enum_values)
{
    const char *flags[] = {"--family", "--kernel", "--activation", "--scheme", "--scaling",
                           "--adjoint"};
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        expect_arg_rejected(flags[i], "nosuch");
        expect_arg_rejected(flags[i], "");
        expect_arg_rejected(flags[i], NULL);
    }
    expect_arg_rejected("--scheme", "rk5");
    expect_arg_rejected("--family", "Linear"); /* names are case-sensitive */
    expect_arg_rejected("--scheme", "euler "); /* no trailing garbage */
}

Test(validation_errors, spec_arg_bad_integers)
{
    const char *flags[] = {"--N", "--d-in", "--d-out", "--D", "--L", "--q", "--M", "--m",
                           "--seed"};
    const char *bad[] = {"-3", "-0", "+3", "abc", "3x", "", " 3", " -3", "1e3", "3.0",
                         "99999999999999999999999", "0x10"};
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        for (size_t j = 0; j < sizeof bad / sizeof bad[0]; j++)
            expect_arg_rejected(flags[i], bad[j]);
        expect_arg_rejected(flags[i], NULL);
    }
}

Test(validation_errors, spec_arg_bad_reals)
{
    const char *flags[] = {"--ell", "--nu", "--param-scale"};
    const char *bad[] = {"inf", "-inf", "nan", "NaN", "infinity", "1e999", "-1e999", "abc",
                         "1.5x", ""};
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        for (size_t j = 0; j < sizeof bad / sizeof bad[0]; j++)
            expect_arg_rejected(flags[i], bad[j]);
        expect_arg_rejected(flags[i], NULL);
    }
}

/* Good values are parsed into the right field and return 1; a flag that does
 * not describe the problem returns 0 and changes nothing. */
Test(validation_errors, spec_arg_good_values_and_foreign_flags)
{
    no_spec s;
    no_spec_default(&s);
    char err[256] = "";
    cr_expect_eq(no_spec_arg(&s, "--N", "5", err, sizeof err), 1, "%s", err);
    cr_expect_eq(s.N, 5);
    cr_expect_eq(no_spec_arg(&s, "--seed", "18446744073709551615", err, sizeof err), 1, "%s",
                 err);
    cr_expect_eq(s.seed, UINT64_MAX);
    cr_expect_eq(no_spec_arg(&s, "--ell", "0.25", err, sizeof err), 1, "%s", err);
    cr_expect_eq(s.ell, 0.25);
    cr_expect_eq(no_spec_arg(&s, "--scheme", "rk4", err, sizeof err), 1, "%s", err);
    cr_expect_eq(s.scheme, NO_SCHEME_RK4);
    cr_expect_eq(no_spec_arg(&s, "--family", "rff", err, sizeof err), 1, "%s", err);
    cr_expect_eq(s.family, NO_FAMILY_RFF);
    cr_expect_gt(s.q, 0, "--family rff alone must give q a default");
    cr_expect_eq(s.M, 0);
    cr_expect_eq(no_spec_validate(&s, NO_REQ_NONE, err, sizeof err), 0, "%s", err);

    const char *foreign[] = {"--prec", "--suite", "--quiet", "--help", "--n", "family", "-N",
                             "--family=rff", ""};
    for (size_t i = 0; i < sizeof foreign / sizeof foreign[0]; i++) {
        no_spec t = s;
        cr_expect_eq(no_spec_arg(&t, foreign[i], "1", err, sizeof err), 0,
                     "'%s' taken as a problem flag", foreign[i]);
        cr_expect(!memcmp(&t, &s, sizeof s), "'%s' changed the spec", foreign[i]);
    }
}
