/* fast_run.c - workspace, the public entry points of fast.h, and the metric
 * gradient (conventions.md, "Metric gradient"). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fast_ws.h"


/* a * b * c with overflow detection (0 on overflow). */
static size_t mul3(size_t a, size_t b, size_t c)
{
    size_t t;
    if (no_mul_size(a, b, &t) || no_mul_size(t, c, &t))
        return 0;
    return t;
}

fast_ws *fast_ws_alloc(const no_spec *spec)
{
    if (no_spec_validate(spec, 0, NULL, 0))
        return NULL;
    const fast_field_type *field = fast_field_of(spec->family);
    const no_tableau *tab = no_tableau_of(spec->scheme);
    size_t N = spec->N, D = spec->D, nd = N * D; /* bounded by validation */
    size_t nsub = spec->L * spec->m;

    /* Block layout: states | p | pnext | resid | stage buffers | field scratch.
     * Sizes below are bounded by no_spec_validate except the field scratch
     * (N x q or N x M), hence the checked products. */
    size_t n_states = (nsub + 1) * nd;
    size_t n_resid = N * spec->d_out;
    size_t n_stage = fast_scheme_buffer_size(tab, N, D);
    size_t n_scratch = field->scratch_size(spec, N);
    size_t width = spec->family == NO_FAMILY_RFF ? spec->q : spec->M;
    if (width && !mul3(3, N, width))
        return NULL;
    size_t total = n_states + 2 * nd + n_resid + n_stage + n_scratch;
    if (total < n_states || total > SIZE_MAX / sizeof(double))
        return NULL;

    fast_ws *ws = calloc(1, sizeof *ws);
    if (!ws)
        return NULL;
    ws->block = malloc(total * sizeof(double));
    if (!ws->block) {
        free(ws);
        return NULL;
    }
    ws->spec = *spec;
    ws->nsub = nsub;
    ws->h = no_spec_step(spec);
    ws->tau = ws->h / (double)spec->m;
    ws->field = field;

    double *q = ws->block;
    ws->states = q;
    q += n_states;
    ws->p = q;
    q += nd;
    ws->pnext = q;
    q += nd;
    ws->resid = q;
    q += n_resid;
    double *stage = q;
    q += n_stage;
    ws->ctx.scratch = q;
    fast_scheme_init(&ws->scheme, tab, field, &ws->ctx, N, D, stage);
    return ws;
}

double fast_memory_estimate(const no_spec *spec)
{
    /* The block of fast_ws_alloc, counted the same way (in doubles, which do
     * not overflow where size_t would), and the outputs of no_outputs_init. */
    const no_tableau *tab = no_tableau_of(spec->scheme);
    double N = (double)spec->N, nd = N * (double)spec->D;
    double width = spec->family == NO_FAMILY_RFF   ? (double)spec->q
                   : spec->family == NO_FAMILY_MLP ? (double)spec->M
                                                   : 0.0;
    double block = ((double)spec->L * (double)spec->m + 1.0) * nd + 2.0 * nd +
                   N * (double)spec->d_out + (3.0 * tab->stages + 1.0) * nd + 3.0 * N * width;
    no_array lay[NO_MAX_ARRAYS];
    int count = no_outputs_layout(spec, lay);
    double out = 0;
    for (int i = 0; i < count; i++)
        out += (double)lay[i].n;
    return (block + out) * sizeof(double) + sizeof(fast_ws);
}

void fast_ws_free(fast_ws *ws)
{
    if (!ws)
        return;
    free(ws->block);
    free(ws);
}

/* The workspace's buffers were sized and its scheme/field chosen for one spec;
 * anything that changes a size or the arithmetic must match it. */
static int check_spec(const no_spec *w, const no_spec *s, char *err, size_t len)
{
    const struct {
        const char *name;
        size_t ws, pb;
    } f[] = {
        {"N", w->N, s->N},
        {"d_in", w->d_in, s->d_in},
        {"d_out", w->d_out, s->d_out},
        {"D", w->D, s->D},
        {"L", w->L, s->L},
        {"q", w->q, s->q},
        {"M", w->M, s->M},
        {"m", w->m, s->m},
        {"family", w->family, s->family},
        {"activation", w->family == NO_FAMILY_MLP ? w->activation : 0,
         s->family == NO_FAMILY_MLP ? s->activation : 0},
        {"scheme", w->scheme, s->scheme},
        {"scaling", w->scaling, s->scaling},
        {"adjoint", w->adjoint, s->adjoint},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (f[i].ws != f[i].pb)
            return no_errorf(err, len, "fast: workspace spec has %s = %zu but the problem has %zu",
                        f[i].name, f[i].ws, f[i].pb);
    return 0;
}

/* out must have the layout of no_outputs_init(out, spec). */
static int check_outputs(no_arrays *out, const no_spec *s, char *err, size_t len)
{
    size_t nd = s->N * s->D;
    const struct {
        const char *name;
        size_t n;
    } f[] = {{"states", (s->L + 1) * nd},
             {"output", s->N * s->d_out},
             {"loss", 1},
             {"adjoint", (s->L + 1) * nd}};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        no_array *a = no_arrays_find(out, f[i].name);
        if (!a || a->n != f[i].n)
            return no_errorf(err, len, "fast: output array '%s' missing or of the wrong size",
                        f[i].name);
    }
    no_param_info pi[NO_MAX_PARAMS];
    int np = no_spec_params(s, pi);
    for (int kind = 0; kind < 2; kind++)
        for (int i = 0; i < np; i++) {
            char name[NO_NAME_LEN];
            snprintf(name, sizeof name, "%s_%s", kind ? "mgrad" : "grad", pi[i].name);
            no_array *a = no_arrays_find(out, name);
            if (!a || a->n != pi[i].n)
                return no_errorf(err, len, "fast: output array '%s' missing or of the wrong size",
                            name);
        }
    return 0;
}

int fast_run_ws(fast_ws *ws, const no_problem *p, no_arrays *out, char *err, size_t len)
{
    if (!ws || !p || !out)
        return no_errorf(err, len, "fast: null workspace, problem or output");
    if (no_spec_validate(&p->spec, 0, err, len))
        return -1;
    if (check_spec(&ws->spec, &p->spec, err, len) || check_outputs(out, &p->spec, err, len))
        return -1;

    const no_spec *s = &p->spec;
    no_param_info pi[NO_MAX_PARAMS];
    int np = no_spec_params(s, pi);
    ws->ctx.p = p;
    for (int i = 0; i < NO_MAX_PARAMS; i++)
        ws->ctx.grad[i] = NULL;
    for (int i = 0; i < np; i++) {
        char name[NO_NAME_LEN];
        snprintf(name, sizeof name, "grad_%s", pi[i].name);
        ws->ctx.grad[i] = no_arrays_find(out, name)->v;
        /* The adjoints accumulate: out may hold a previous run's gradient. */
        memset(ws->ctx.grad[i], 0, pi[i].n * sizeof(double));
    }

    fast_forward_run(ws, p, out);
    fast_adjoint_run(ws, out); /* of the spec's kind */

    /* SPEC 3: mgrad = grad / h (linear, rff), grad * M / h (mlp). */
    double factor = no_metric_factor(s);
    for (int i = 0; i < np; i++) {
        char name[NO_NAME_LEN];
        snprintf(name, sizeof name, "mgrad_%s", pi[i].name);
        double *mg = no_arrays_find(out, name)->v;
        for (size_t j = 0; j < pi[i].n; j++)
            mg[j] = factor * ws->ctx.grad[i][j];
    }
    ws->ctx.p = NULL;
    return 0;
}

int fast_run(const no_problem *p, no_arrays *out, char *err, size_t len)
{
    return fast_run_progress(p, NULL, out, err, len);
}

int fast_run_progress(const no_problem *p, const fast_progress *pr, no_arrays *out, char *err,
                      size_t len)
{
    if (!p || !out)
        return no_errorf(err, len, "fast: null problem or output");
    if (no_spec_validate(&p->spec, 0, err, len))
        return -1;
    fast_ws *ws = fast_ws_alloc(&p->spec);
    if (!ws)
        return no_errorf(err, len, "fast: out of memory for the workspace");
    if (no_outputs_init(out, &p->spec)) {
        fast_ws_free(ws);
        return no_errorf(err, len, "fast: out of memory for the outputs");
    }
    if (pr)
        ws->progress = *pr;
    int rc = fast_run_ws(ws, p, out, err, len);
    if (rc)
        no_arrays_free(out);
    fast_ws_free(ws);
    return rc;
}

int fast_flow(const no_problem *p, double *Z, int reverse, char *err, size_t len)
{
    if (!p || !Z)
        return no_errorf(err, len, "fast: null problem or state");
    if (no_spec_validate(&p->spec, 0, err, len))
        return -1;
    fast_ws *ws = fast_ws_alloc(&p->spec);
    if (!ws)
        return no_errorf(err, len, "fast: out of memory for the workspace");
    const no_spec *s = &p->spec;
    size_t nd = s->N * s->D;
    ws->ctx.p = p;
    /* Reverse runs the layers in the opposite order with step -h/m: the same
     * scheme applied to the time-reversed field, so it inverts the forward
     * map only up to the scheme's local error. */
    double tau = reverse ? -ws->tau : ws->tau;
    double *cur = Z, *next = ws->p;
    for (size_t l = 0; l < s->L; l++) {
        size_t k = reverse ? s->L - 1 - l : l;
        for (size_t n = 0; n < s->m; n++) {
            fast_scheme_step(&ws->scheme, k, tau, cur, next);
            double *tmp = cur;
            cur = next;
            next = tmp;
        }
    }
    if (cur != Z)
        memcpy(Z, cur, nd * sizeof(double));
    fast_ws_free(ws);
    return 0;
}
