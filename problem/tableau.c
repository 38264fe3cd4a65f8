/* tableau.c - the Euler and classical RK4 tableaux (Hairer-Norsett-Wanner, Table 1.2). */
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
    .a = {{Z, Z, Z, Z},
          {Q(1, 2), Z, Z, Z},
          {Z, Q(1, 2), Z, Z},
          {Z, Z, Q(1, 1), Z}},
    .b = {Q(1, 6), Q(1, 3), Q(1, 3), Q(1, 6)},
};

const no_tableau *no_tableau_of(no_scheme_id s)
{
    return s == NO_SCHEME_RK4 ? &no_tableau_rk4 : &no_tableau_euler;
}

double no_rational_double(no_rational r)
{
    return (double)r.num / (double)r.den;
}
