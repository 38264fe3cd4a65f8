/* fast_activation.h - the mlp family's activations in double (SPEC 2,
 * conventions.md "Fields"), shared by the field (fast_field_mlp.c) and the
 * other double computations that evaluate a neuron. */
#ifndef FAST_ACTIVATION_H
#define FAST_ACTIVATION_H

#include "problem.h"

/* *s = sigma(x), *ds = sigma'(x); relu'(0) = 0 (conventions.md). */
void fast_activation(no_activation act, double x, double *s, double *ds);

#endif
