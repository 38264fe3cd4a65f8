#!/usr/bin/python3
"""tableaux.py - the explicit Runge-Kutta tableaux of nodeoracle's scheme table
(docs/schemes.md), written from the literature, and the method names of torchdiffeq and
diffrax mapped onto them.

Each tableau is (order, a, b): a strictly lower-triangular list of rows, b the weights of
the propagated solution.  Entries are exact: fractions.Fraction for the rational
methods, and for Tsitouras 5(4) (diffrax's Tsit5) decimal strings with every digit the
published table gives (the paper's coefficients as diffrax writes them; exponent
notation kept where it is used there), except a21 = 161/1000 and b2 = 1/100, which are
rational.  `float_tableau(name)` gives the float64 values a NumPy or PyTorch user would
compute with: each entry correctly rounded (float(Fraction), float(str)).

Sources:
  euler, midpoint, heun, rk4, rk4-38 : Hairer, Norsett, Wanner, Solving ODEs I (1993),
                                       II.1, Table 1.1 and 1.2 (Kutta 1901: the 3/8 rule)
  ralston                            : Ralston (1962), c2 = 2/3, b = (1/4, 3/4)
  bosh3                              : Bogacki, Shampine (1989), the 3rd-order solution
                                       (the 4th, FSAL stage has weight 0 and is dropped)
  dopri5                             : Dormand, Prince (1980), the 5th-order solution
                                       (the 7th, FSAL stage has weight 0 and is dropped)
  tsit5                              : Tsitouras (2011), the 5th-order solution (7th,
                                       FSAL stage dropped)

`python3 tableaux.py` checks every tableau's order conditions (all rooted trees up to
order 6, exact arithmetic for the rationals, 120 digits for tsit5): the conditions of the
declared order hold and some condition of the next order fails.  `--json` prints the
tableaux (used by tests/test_examples.c to compare them with problem/tableau.c).
"""

import decimal
import json
import sys
from fractions import Fraction as F

_Z = F(0)

# Tsitouras 5(4), the decimal coefficients with all their digits.
_T = {
    "a31": "-0.8480655492356988544426874250230774675121177393430391537369234245294192976164141156943e-2",
    "a32": "0.3354806554923569885444268742502307746751211773934303915373692342452941929761641411569",
    "a41": "2.897153057105493432130432594192938764924887287701866490314866693455023795137503079289",
    "a42": "-6.359448489975074843148159912383825625952700647415626703305928850207288721235210244366",
    "a43": "4.362295432869581411017727318190886861027813359713760212991062156752264926097707165077",
    "a51": "5.325864828439256604428877920840511317836476253097040101202360397727981648835607691791",
    "a52": "-11.74888356406282787774717033978577296188744178259862899288666928009020615663593781589",
    "a53": "7.495539342889836208304604784564358155658679161518186721010132816213648793440552049753",
    "a54": "-0.9249506636175524925650207933207191611349983406029535244034750452930469056411389539635e-1",
    "a61": "5.861455442946420028659251486982647890394337666164814434818157239052507339770711679748",
    "a62": "-12.92096931784710929170611868178335939541780751955743459166312250439928519268343184452",
    "a63": "8.159367898576158643180400794539253485181918321135053305748355423955009222648673734986",
    "a64": "-0.7158497328140099722453054252582973869127213147363544882721139659546372402303777878835e-1",
    "a65": "-0.2826905039406838290900305721271224146717633626879770007617876201276764571291579142206e-1",
    "b1": "0.9646076681806522951816731316512876333711995238157997181903319145764851595234062815396e-1",
    "b3": "0.4798896504144995747752495322905965199130404621990332488332634944254542060153074523509",
    "b4": "1.379008574103741893192274821856872770756462643091360525934940067397245698027561293331",
    "b5": "-3.290069515436080679901047585711363850115683290894936158531296799594813811049925401677",
    "b6": "2.324710524099773982415355918398765796109060233222962411944060046314465391054716027841",
}

TABLEAUX = {
    "euler": (1, [[]], [F(1)]),
    "midpoint": (2, [[], [F(1, 2)]], [_Z, F(1)]),
    "heun": (2, [[], [F(1)]], [F(1, 2), F(1, 2)]),
    "ralston": (2, [[], [F(2, 3)]], [F(1, 4), F(3, 4)]),
    "bosh3": (3, [[], [F(1, 2)], [_Z, F(3, 4)]], [F(2, 9), F(1, 3), F(4, 9)]),
    "rk4": (4, [[], [F(1, 2)], [_Z, F(1, 2)], [_Z, _Z, F(1)]],
            [F(1, 6), F(1, 3), F(1, 3), F(1, 6)]),
    "rk4-38": (4, [[], [F(1, 3)], [F(-1, 3), F(1)], [F(1), F(-1), F(1)]],
               [F(1, 8), F(3, 8), F(3, 8), F(1, 8)]),
    "dopri5": (5, [[],
                   [F(1, 5)],
                   [F(3, 40), F(9, 40)],
                   [F(44, 45), F(-56, 15), F(32, 9)],
                   [F(19372, 6561), F(-25360, 2187), F(64448, 6561), F(-212, 729)],
                   [F(9017, 3168), F(-355, 33), F(46732, 5247), F(49, 176), F(-5103, 18656)]],
               [F(35, 384), _Z, F(500, 1113), F(125, 192), F(-2187, 6784), F(11, 84)]),
    "tsit5": (5, [[],
                  [F(161, 1000)],
                  [_T["a31"], _T["a32"]],
                  [_T["a41"], _T["a42"], _T["a43"]],
                  [_T["a51"], _T["a52"], _T["a53"], _T["a54"]],
                  [_T["a61"], _T["a62"], _T["a63"], _T["a64"], _T["a65"]]],
              [_T["b1"], F(1, 100), _T["b3"], _T["b4"], _T["b5"], _T["b6"]]),
}

SCHEMES = tuple(TABLEAUX)

# Library method names -> ours (docs/schemes.md).  torchdiffeq's fixed-grid "rk4" steps
# with the 3/8 rule; its adaptive methods advance with the propagated solution of their
# pair on the steps the controller accepted (replay them with a step grid).
TORCHDIFFEQ = {
    "euler": "euler",
    "midpoint": "midpoint",
    "rk4": "rk4-38",
    "heun2": "heun",
    "adaptive_heun": "heun",
    "bosh3": "bosh3",
    "dopri5": "dopri5",
}
# torchdiffeq methods that are not in the table (why, for the error message).
TORCHDIFFEQ_NOT_OURS = {
    "tsit5": "torchdiffeq's tsit5 advances with Tsitouras' 4th-order embedded weights "
             "(its 7th stage counts): not diffrax's Tsit5, not in the table",
    "heun3": "not in the table", "fehlberg2": "not in the table", "dopri8": "not in the table",
    "explicit_adams": "a multistep method, not a Runge-Kutta tableau",
    "implicit_adams": "a multistep method, not a Runge-Kutta tableau",
    "fixed_adams": "a multistep method, not a Runge-Kutta tableau",
    "scipy_solver": "scipy's own solvers, not a tableau of the table",
}
DIFFRAX = {
    "Euler": "euler",
    "Midpoint": "midpoint",
    "Heun": "heun",
    "Ralston": "ralston",
    "Bosh3": "bosh3",
    "Dopri5": "dopri5",
    "Tsit5": "tsit5",
}
# methods whose step sizes come from an error controller: replay them with --grid
ADAPTIVE = {"adaptive_heun", "bosh3", "dopri5", "Bosh3", "Dopri5", "Tsit5"}


def method_scheme(name):
    """Our scheme for a torchdiffeq or diffrax method name ("rk4", "Tsit5",
    "torchdiffeq:rk4", "diffrax:Tsit5"), or ValueError."""
    lib, _, meth = name.rpartition(":")
    if lib not in ("", "torchdiffeq", "diffrax"):
        raise ValueError("method %r: library prefix must be torchdiffeq: or diffrax:" % name)
    if lib in ("", "torchdiffeq") and meth in TORCHDIFFEQ:
        return TORCHDIFFEQ[meth]
    if lib in ("", "diffrax") and meth in DIFFRAX:
        return DIFFRAX[meth]
    if lib in ("", "torchdiffeq") and meth in TORCHDIFFEQ_NOT_OURS:
        raise ValueError("method %r: %s" % (name, TORCHDIFFEQ_NOT_OURS[meth]))
    raise ValueError("method %r: not a torchdiffeq method (%s) nor a diffrax one (%s)"
                     % (name, ", ".join(TORCHDIFFEQ), ", ".join(DIFFRAX)))


def _as_float(x):
    return float(x)                                # Fraction and str: correctly rounded


def float_tableau(name):
    """(a, b) as float64: a an s x s list (zeros above and on the diagonal)."""
    _, a, b = TABLEAUX[name]
    s = len(b)
    A = [[0.0] * s for _ in range(s)]
    for i, row in enumerate(a):
        for j, x in enumerate(row):
            A[i][j] = _as_float(x)
    return A, [_as_float(x) for x in b]


# ---- order conditions (Butcher's rooted trees) -----------------------------------

def _trees(order):
    """Rooted trees with `order` vertices, each a sorted tuple of its subtrees."""
    memo = {1: [()]}

    def of(n):
        if n in memo:
            return memo[n]
        out = set()
        # a root whose children's orders sum to n - 1: choose them as a multiset
        def parts(rem, mx, acc):
            if rem == 0:
                out.add(tuple(sorted(acc)))
                return
            for k in range(min(rem, mx), 0, -1):
                for t in of(k):
                    parts(rem - k, k, acc + [t])
        parts(n - 1, n - 1, [])
        memo[n] = sorted(out)
        return memo[n]
    return of(order)


def _size(t):
    return 1 + sum(_size(c) for c in t)


def _gamma(t):
    g = _size(t)
    for c in t:
        g *= _gamma(c)
    return g


def order_report(name, digits=120):
    """(declared order, observed order, worst residual of the declared order's
    conditions) with exact arithmetic (Decimal at `digits` for decimal entries)."""
    order, a, b = TABLEAUX[name]
    exact = all(isinstance(x, F) for row in a for x in row) and all(isinstance(x, F) for x in b)
    ctx = decimal.Context(prec=digits)

    def num(x):
        if exact:
            return x
        if isinstance(x, F):
            return ctx.divide(decimal.Decimal(x.numerator), decimal.Decimal(x.denominator))
        return ctx.create_decimal(x)

    s = len(b)
    A = [[num(a[i][j]) if j < len(a[i]) else num(_Z) for j in range(s)] for i in range(s)]
    # (Decimal's + and * use the current context: order conditions run in `ctx` below)
    B = [num(x) for x in b]
    one = num(F(1))

    def g(t):           # stage weights of tree t: prod over children of (A g(child))_i
        v = [one] * s
        for c in t:
            gc = g(c)
            for i in range(s):
                v[i] = v[i] * sum((A[i][j] * gc[j] for j in range(s)), num(_Z))
        return v

    def residual(t):
        phi = sum((B[i] * x for i, x in enumerate(g(t))), num(_Z))
        target = num(F(1, _gamma(t)))
        return abs(phi - target)

    # tsit5's 85-digit coefficients meet its conditions to about 1e-83, and an order
    # condition that fails does so by far more than 1e-60
    tiny = 0 if exact else decimal.Decimal(10) ** -60
    worst = num(_Z)
    observed = 0
    with decimal.localcontext(ctx):         # every + and * at `digits` digits
        for p in range(1, 7):
            r = max(residual(t) for t in _trees(p))
            if p <= order:
                worst = max(worst, r)
            if r <= tiny and observed == p - 1:
                observed = p
    return order, observed, worst


def as_json():
    """{"scheme": {"order", "a": [[entry]], "b": [entry]}}, an entry [num, den] for a
    rational and a decimal string otherwise."""
    def ent(x):
        return [x.numerator, x.denominator] if isinstance(x, F) else x
    return {n: {"order": o, "a": [[ent(x) for x in row] for row in a], "b": [ent(x) for x in b]}
            for n, (o, a, b) in TABLEAUX.items()}


def main(argv):
    if argv[1:] == ["--json"]:
        print(json.dumps(as_json()))
        return 0
    ok = True
    for n in SCHEMES:
        order, observed, worst = order_report(n)
        good = observed == order
        ok = ok and good
        print("%-9s declared order %d, order conditions hold to order %d (worst residual %.1e) %s"
              % (n, order, observed, float(worst), "ok" if good else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
