/* ref_activation.h - the mlp family's activations in MPFR (SPEC 2,
 * conventions.md "Fields"), shared by the field (ref_field_mlp.c) and every
 * other reference computation that evaluates a neuron (the mean-field
 * potential).  One place per side: fast/ has its own (fast_activation.h),
 * never this arithmetic. */
#ifndef NO_REF_ACTIVATION_H
#define NO_REF_ACTIVATION_H

#include <mpfr.h>

#include "problem.h"

/* s = sigma(x), ds = sigma'(x) at s's and ds's precision; tmp is scratch.
 * relu'(0) = 0 (conventions.md). */
void ref_activation(no_activation act, mpfr_t s, mpfr_t ds, mpfr_t x, mpfr_t tmp);

#endif
