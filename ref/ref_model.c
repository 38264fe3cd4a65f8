/* ref_model.c - a problem's arrays as MPFR numbers (exact conversion from double). */
#include <stdio.h>
#include <string.h>

#include "ref_internal.h"

void ref_model_clear(ref_model *m)
{
    ref_array *all[] = {&m->X, &m->Y, &m->A, &m->B, &m->Omega, &m->beta};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        ref_array_clear(all[i]);
    for (int i = 0; i < m->nparams; i++)
        ref_array_clear(&m->param[i]);
    m->nparams = 0;
}

int ref_model_init(ref_model *m, const no_problem *p, mpfr_prec_t prec, char *err, size_t len)
{
    memset(m, 0, sizeof *m);
    if (prec < 53 || prec > REF_PREC_MAX) {
        /* Below 53 bits the double inputs would not be represented exactly. */
        snprintf(err, len, "precision %ld out of range [53, %d] bits", (long)prec, REF_PREC_MAX);
        return -1;
    }
    if (no_spec_validate(&p->spec, NO_REQ_NONE, err, len))
        return -1;
    const no_spec *s = &p->spec;
    m->spec = *s;
    m->prec = prec;
    size_t sx[2] = {s->N, s->d_in}, sy[2] = {s->N, s->d_out};
    size_t sa[2] = {s->D, s->d_in}, sb[2] = {s->d_out, s->D};
    size_t so[2] = {s->q, s->D}, sbeta[1] = {s->q};
    int bad = ref_array_from_double(&m->X, "X", 2, sx, p->X, prec) ||
              ref_array_from_double(&m->Y, "Y", 2, sy, p->Y, prec) ||
              ref_array_from_double(&m->A, "A", 2, sa, p->A, prec) ||
              ref_array_from_double(&m->B, "B", 2, sb, p->B, prec);
    if (!bad && s->family == NO_FAMILY_RFF)
        bad = ref_array_from_double(&m->Omega, "Omega", 2, so, p->Omega, prec) ||
              ref_array_from_double(&m->beta, "beta", 1, sbeta, p->beta, prec);
    no_param_info pi[NO_MAX_PARAMS];
    int np = no_spec_params(s, pi);
    for (int i = 0; !bad && i < np; i++) {
        bad = ref_array_from_double(&m->param[i], pi[i].name, pi[i].ndim, pi[i].shape,
                                    no_problem_param(p, pi[i].name), prec);
        if (!bad)
            m->nparams++;
    }
    if (bad) {
        ref_model_clear(m);
        snprintf(err, len, "out of memory converting the problem to MPFR");
        return -1;
    }
    return 0;
}

ref_array *ref_model_param(ref_model *m, const char *name)
{
    for (int i = 0; i < m->nparams; i++)
        if (!strcmp(m->param[i].name, name))
            return &m->param[i];
    return NULL;
}
