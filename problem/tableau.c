/* tableau.c - the explicit Runge-Kutta tableaux users meet (docs/schemes.md):
 * Euler and the classical RK4 (Hairer-Norsett-Wanner I, Table 1.2), the
 * explicit midpoint, Heun's trapezoid and Ralston's method (order 2), the
 * 3/8 rule (order 4; torchdiffeq's fixed-grid "rk4"), Bogacki-Shampine
 * (order 3) and Dormand-Prince (order 5), each as its propagated solution. */
#include "tableau.h"

#define Q(n, d) {(n), (d)}
#define Z {0, 1}

const no_tableau no_tableau_euler = {
    .name = "euler",
    .order = 1,
    .stages = 1,
    .a = {{Z}},
    .b = {Q(1, 1)},
};

const no_tableau no_tableau_rk4 = {
    .name = "rk4",
    .order = 4,
    .stages = 4,
    .a = {{Z}, {Q(1, 2)}, {Z, Q(1, 2)}, {Z, Z, Q(1, 1)}},
    .b = {Q(1, 6), Q(1, 3), Q(1, 3), Q(1, 6)},
};

static const no_tableau midpoint = {
    .name = "midpoint",
    .order = 2,
    .stages = 2,
    .a = {{Z}, {Q(1, 2)}},
    .b = {Z, Q(1, 1)},
};

static const no_tableau heun = {
    .name = "heun",
    .order = 2,
    .stages = 2,
    .a = {{Z}, {Q(1, 1)}},
    .b = {Q(1, 2), Q(1, 2)},
};

/* Ralston's second-order method: the one of minimal error bound, c2 = 2/3. */
static const no_tableau ralston = {
    .name = "ralston",
    .order = 2,
    .stages = 2,
    .a = {{Z}, {Q(2, 3)}},
    .b = {Q(1, 4), Q(3, 4)},
};

/* Kutta's 3/8 rule. */
static const no_tableau rk4_38 = {
    .name = "rk4-38",
    .order = 4,
    .stages = 4,
    .a = {{Z}, {Q(1, 3)}, {Q(-1, 3), Q(1, 1)}, {Q(1, 1), Q(-1, 1), Q(1, 1)}},
    .b = {Q(1, 8), Q(3, 8), Q(3, 8), Q(1, 8)},
};

/* Bogacki-Shampine 3(2), the third-order solution (the fourth, FSAL stage
 * has weight 0 in it). */
static const no_tableau bosh3 = {
    .name = "bosh3",
    .order = 3,
    .stages = 3,
    .a = {{Z}, {Q(1, 2)}, {Z, Q(3, 4)}},
    .b = {Q(2, 9), Q(1, 3), Q(4, 9)},
};

/* Dormand-Prince 5(4), the fifth-order solution (the seventh, FSAL stage
 * has weight 0 in it). */
static const no_tableau dopri5 = {
    .name = "dopri5",
    .order = 5,
    .stages = 6,
    .a = {{Z},
          {Q(1, 5)},
          {Q(3, 40), Q(9, 40)},
          {Q(44, 45), Q(-56, 15), Q(32, 9)},
          {Q(19372, 6561), Q(-25360, 2187), Q(64448, 6561), Q(-212, 729)},
          {Q(9017, 3168), Q(-355, 33), Q(46732, 5247), Q(49, 176), Q(-5103, 18656)}},
    .b = {Q(35, 384), Z, Q(500, 1113), Q(125, 192), Q(-2187, 6784), Q(11, 84)},
};

const no_tableau *no_tableau_of(no_scheme_id s)
{
    /* indexed by no_scheme_id */
    static const no_tableau *const all[NO_SCHEME_COUNT] = {
        &no_tableau_euler, &no_tableau_rk4, &midpoint, &heun,
        &ralston,          &rk4_38,         &bosh3,    &dopri5,
    };
    return (unsigned)s < NO_SCHEME_COUNT ? all[s] : &no_tableau_euler;
}

double no_rational_double(no_rational r)
{
    return r.den ? (double)r.num / (double)r.den : 0.0;
}
