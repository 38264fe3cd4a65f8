/* fit.c - see fit.h. */
#include <math.h>
#include <string.h>

#include "fit.h"

#define FIT_PI 3.14159265358979323846

/* P(0 < T <= t) for t = sqrt(dof) tan(theta): c int_0^theta cos^(dof-1),
 * c = Gamma((dof+1)/2) / (sqrt(pi) Gamma(dof/2)); composite Simpson. */
static double t_half_mass(double theta, double dof)
{
    const int n = 4000; /* even */
    double c = exp(lgamma((dof + 1) / 2) - lgamma(dof / 2)) / sqrt(FIT_PI);
    double h = theta / n, s = 0;
    for (int i = 0; i <= n; i++) {
        double w = i == 0 || i == n ? 1 : i % 2 ? 4 : 2;
        s += w * pow(cos(i * h), dof - 1);
    }
    return c * s * h / 3;
}

double no_fit_t_quantile(double p, double dof)
{
    if (!(p > 0 && p < 1) || !(dof >= 1))
        return NAN;
    if (p == 0.5)
        return 0;
    double want = fabs(p - 0.5), lo = 0, hi = FIT_PI / 2;
    for (int it = 0; it < 100 && hi - lo > 1e-15; it++) {
        double mid = (lo + hi) / 2;
        if (t_half_mass(mid, dof) < want)
            lo = mid;
        else
            hi = mid;
    }
    double t = sqrt(dof) * tan((lo + hi) / 2);
    return p > 0.5 ? t : -t;
}

no_fit no_fit_loglog(const double *x, const double *y, size_t k, double level)
{
    no_fit f;
    memset(&f, 0, sizeof f);
    f.points = k;
    f.slope = f.intercept = f.se = f.lo = f.hi = f.t = NAN;
    if (k < 3)
        return f;
    double mx = 0, my = 0;
    for (size_t i = 0; i < k; i++) {
        if (!(x[i] > 0) || !(y[i] > 0) || !isfinite(x[i]) || !isfinite(y[i]))
            return f;
        mx += log(x[i]);
        my += log(y[i]);
    }
    mx /= (double)k;
    my /= (double)k;
    double sxx = 0, sxy = 0;
    for (size_t i = 0; i < k; i++) {
        double dx = log(x[i]) - mx;
        sxx += dx * dx;
        sxy += dx * (log(y[i]) - my);
    }
    if (!(sxx > 0))
        return f;
    f.slope = sxy / sxx;
    f.intercept = my - f.slope * mx;
    double rss = 0;
    for (size_t i = 0; i < k; i++) {
        double e = log(y[i]) - f.intercept - f.slope * log(x[i]);
        rss += e * e;
    }
    f.se = sqrt(rss / (double)(k - 2) / sxx);
    f.t = no_fit_t_quantile((1 + level) / 2, (double)(k - 2));
    f.lo = f.slope - f.t * f.se;
    f.hi = f.slope + f.t * f.se;
    f.ok = 1;
    return f;
}
