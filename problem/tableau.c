/* tableau.c - the explicit Runge-Kutta tableaux users meet (docs/schemes.md):
 * Euler and the classical RK4 (Hairer-Norsett-Wanner I, Table 1.2), the
 * explicit midpoint, Heun's trapezoid and Ralston's method (order 2), the
 * 3/8 rule (order 4; torchdiffeq's fixed-grid "rk4"), Bogacki-Shampine
 * (order 3) and Dormand-Prince (order 5), each as its propagated solution. */
#include "tableau.h"

#include <stdlib.h>

#define Q(n, d) {(n), (d), NULL}
#define Z {0, 1, NULL}

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

/* Tsitouras 5(4) (2011), the fifth-order solution, with the digits diffrax
 * writes into its source (its b is the seventh row of a: FSAL, weight 0 for
 * the seventh stage, dropped). */
#define DEC(s) {0, 0, (s)}
static const no_tableau tsit5 = {
    .name = "tsit5",
    .order = 5,
    .stages = 6,
    .a = {{Z},
          {Q(161, 1000)},
          {DEC("-0.008480655492356988544426874250230774675121177393430391537369234245294192976164141156943"),
           DEC("0.3354806554923569885444268742502307746751211773934303915373692342452941929761641411569")},
          {DEC("2.897153057105493432130432594192938764924887287701866490314866693455023795137503079289"),
           DEC("-6.359448489975074843148159912383825625952700647415626703305928850207288721235210244366"),
           DEC("4.362295432869581411017727318190886861027813359713760212991062156752264926097707165077")},
          {DEC("5.325864828439256604428877920840511317836476253097040101202360397727981648835607691791"),
           DEC("-11.74888356406282787774717033978577296188744178259862899288666928009020615663593781589"),
           DEC("7.495539342889836208304604784564358155658679161518186721010132816213648793440552049753"),
           DEC("-0.09249506636175524925650207933207191611349983406029535244034750452930469056411389539635")},
          {DEC("5.861455442946420028659251486982647890394337666164814434818157239052507339770711679748"),
           DEC("-12.92096931784710929170611868178335939541780751955743459166312250439928519268343184452"),
           DEC("8.159367898576158643180400794539253485181918321135053305748355423955009222648673734986"),
           DEC("-0.07158497328140099722453054252582973869127213147363544882721139659546372402303777878835"),
           DEC("-0.02826905039406838290900305721271224146717633626879770007617876201276764571291579142206")}},
    .b = {DEC("0.09646076681806522951816731316512876333711995238157997181903319145764851595234062815396"),
          Q(1, 100),
          DEC("0.4798896504144995747752495322905965199130404621990332488332634944254542060153074523509"),
          DEC("1.379008574103741893192274821856872770756462643091360525934940067397245698027561293331"),
          DEC("-3.290069515436080679901047585711363850115683290894936158531296799594813811049925401677"),
          DEC("2.324710524099773982415355918398765796109060233222962411944060046314465391054716027841")},
};

const no_tableau *no_tableau_of(no_scheme_id s)
{
    /* indexed by no_scheme_id */
    static const no_tableau *const all[NO_SCHEME_COUNT] = {
        &no_tableau_euler, &no_tableau_rk4, &midpoint, &heun,
        &ralston,          &rk4_38,         &bosh3,    &dopri5, &tsit5,
    };
    return (unsigned)s < NO_SCHEME_COUNT ? all[s] : &no_tableau_euler;
}

double no_rational_double(no_rational r)
{
    if (r.dec)
        return strtod(r.dec, NULL);
    return r.den ? (double)r.num / (double)r.den : 0.0;
}
