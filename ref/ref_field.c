/* ref_field.c - the scratch of a field evaluation and the family table. */
#include <stdlib.h>

#include "ref_internal.h"

size_t ref_layer_param_count(const no_spec *s)
{
    no_param_info pi[NO_MAX_PARAMS];
    int np = no_spec_params(s, pi);
    size_t n = 0;
    for (int i = 0; i < np; i++)
        n += pi[i].per_layer;
    return n;
}

size_t ref_field_width(const no_spec *s)
{
    return s->family == NO_FAMILY_RFF ? s->q : s->family == NO_FAMILY_MLP ? s->M : s->D;
}

size_t ref_field_dot_terms(const no_spec *s)
{
    size_t n = ref_field_width(s) > s->D ? ref_field_width(s) : s->D;
    if (n < s->d_out)
        n = s->d_out;
    return n < NO_MAX_STAGES + 2 ? NO_MAX_STAGES + 2 : n;
}

int ref_field_ws_init(ref_field_ws *ws, const ref_model *m)
{
    const no_spec *s = &m->spec;
    ws->m = m;
    ws->k = 0;
    ws->ext = NULL;
    ws->width = ref_field_width(s);
    ws->pre = ref_vec_new(ws->width, m->prec);
    ws->act = ref_vec_new(ws->width, m->prec);
    ws->dact = ref_vec_new(ws->width, m->prec);
    ws->t = ref_vec_new(ws->width, m->prec);
    int nodot = ref_dot_ws_init(&ws->dot, ref_field_dot_terms(s), m->prec);
    mpfr_inits2(m->prec, ws->c, ws->tmp, (mpfr_ptr)0);
    /* The constant of the family: sqrt(2/q) (rff features), 1/M (mean field);
     * under a diagnosis variant: 1 (scale or 1/M missing), 1/sqrt(q) (no phase). */
    const ref_variant *var = &m->variant;
    if (s->family == NO_FAMILY_RFF && var->rff_no_scale) {
        mpfr_set_ui(ws->c, 1, MPFR_RNDN);
    } else if (s->family == NO_FAMILY_RFF) {
        mpfr_set_ui(ws->c, var->rff_no_phase ? 1 : 2, MPFR_RNDN);
        mpfr_div_ui(ws->c, ws->c, (unsigned long)s->q, MPFR_RNDN);
        mpfr_sqrt(ws->c, ws->c, MPFR_RNDN);
    } else if (s->family == NO_FAMILY_MLP && var->no_mean_field) {
        mpfr_set_ui(ws->c, 1, MPFR_RNDN);
    } else if (s->family == NO_FAMILY_MLP) {
        mpfr_set_ui(ws->c, 1, MPFR_RNDN);
        mpfr_div_ui(ws->c, ws->c, (unsigned long)s->M, MPFR_RNDN);
    } else {
        mpfr_set_ui(ws->c, 1, MPFR_RNDN);
    }
    if (!ws->pre || !ws->act || !ws->dact || !ws->t || nodot) {
        ref_field_ws_clear(ws);
        return -1;
    }
    return 0;
}

void ref_field_ws_clear(ref_field_ws *ws)
{
    ref_vec_free(ws->pre, ws->width);
    ref_vec_free(ws->act, ws->width);
    ref_vec_free(ws->dact, ws->width);
    ref_vec_free(ws->t, ws->width);
    ref_dot_ws_clear(&ws->dot);
    mpfr_clears(ws->c, ws->tmp, (mpfr_ptr)0);
    ws->pre = ws->act = ws->dact = ws->t = NULL;
}

const ref_field_family *ref_field_of(no_family f)
{
    switch (f) {
    case NO_FAMILY_RFF:
        return &ref_field_rff;
    case NO_FAMILY_MLP:
        return &ref_field_mlp;
    default:
        return &ref_field_linear;
    }
}
