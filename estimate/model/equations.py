"""The latent-curve model: its log density, in JAX, for exact derivatives and NUTS.

For each curve c (one subject's base quantity) with knots t_0 < t_1 < ... every
``knot_days`` from the curve's onset, where its count is zero,

    f_c(t_k) = log1p N_c(t_k) = sum_{j <= k} softplus(theta_{c,j}),   N_c(t_0) = 0,

and the count N_c linear between knots (a steady daily rate over each knot's span), so
that it never falls and rises from zero through its first span at a steady rate (straight
on the log1p scale, it would stay near zero for weeks and then leap).
Claim i is compared through m_i = log1p(A_i) - log1p(B_i), where A_i is a signed sum of
counts (a count at the as-of date; the counts of killed and wounded for casualties; a
difference across the window for an increment) and B_i is zero, or the deployed count
for a share, averaged over evenly spaced points of the claim's date span, v_i its
variance over those points (zero for a precise date). With its interval [a_i, b_i] on
the same scale,

    y_i = m_i + beta_{claimant, class} + gamma_{claimant, class} t_i + eps_i,
    eps_i ~ (1 - w) N(0, s_i^2) + w N(0, (k s_i)^2),   s_i^2 = sigma^2 + tau_i^2 + v_i,
    P(claim i) = P(a_i <= y_i <= b_i)   (a density if a_i = b_i),

with priors theta_{c,1} ~ N(mu0, sd0) (the first rise), and for j >= 2
theta_{c,j} ~ N(level_c, level_sd) and theta_{c,j} - theta_{c,j-1} ~ N(0, walk_sd), where
each curve's typical increment level_c ~ N(level_mean, level_mean_sd) is a parameter too;
beta ~ N(mean, sd) by relation to the counted force; gamma, a bias's drift per year over the
date t_i the claim speaks of (in years from the subject's start), ~ N(0, drift_sd), and absent
where drift_sd is 0 (the main fit); with a learnt bias spread, beta = mean + sd e^lambda z
with z ~ N(0, 1) and one lambda ~ N(0, spread_sd) common to every bias (the claimants'
spread, learnt from how far they differ; absent where spread_sd is 0, the main fit; make
bench compares the two); sigma = floor + exp(rho) with
rho ~ N(log(median - floor), log_sd), and casualties <= deployed as a soft penalty.
Only relative biases are identifiable: the priors pin their common level.

Parameters are one vector: [theta (all curves), level (one per curve), beta, gamma, lambda, rho].

Masks make one compiled density serve several posteriors of the same design: a claim
with weight 0 is left out (leave-one-out, or not yet published as of a date), and so are
prior and penalty rows with weight 0; a parameter marked unused gets a standard normal
prior of its own and nothing else, so it is independent of the rest. Leaving out every
row that touches a parameter the smaller design would not have, and marking those
parameters unused, gives that smaller design's posterior exactly, times independent
normals that are ignored.
"""

from typing import NamedTuple

import jax

# Counts run to tens of thousands and probabilities into the far tails: single precision
# (JAX's default) would lose both.
jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402  (after the precision switch, which must come first)
import numpy as np  # noqa: E402
from jax.scipy.special import log_ndtr, ndtr  # noqa: E402

LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)
LOG_2 = np.log(2.0)
# Bounds that keep far-off trial points of the sampler finite: e^40 people and a noise
# scale of e^5 are far past anything the data can support.
MAX_LOG_COUNT = 40.0
MAX_RHO = 5.0


class Design(NamedTuple):
    """Everything the density needs, as arrays (a JAX pytree); built by estimate.model.fit.

    Knot values are one vector holding each curve's zero knot and its later knots; a
    probe is the count of one curve at one date, linear between two neighbouring knots; an
    evaluation is one claim at one of its date points, whose A and B are signed sums
    of the counts at probes. Sizes are read off the arrays' shapes.
    """

    theta_knot: jnp.ndarray      # per theta: its position in the knot vector
    theta_first: jnp.ndarray     # per theta: the index of its curve's first theta
    curve_first: jnp.ndarray     # per curve: the index of its first theta
    knot_zeros: jnp.ndarray      # zeros, one per knot (its length is the number of knots)
    probe_knot: jnp.ndarray      # per probe: the knot before it
    probe_weight: jnp.ndarray    # per probe: the weight of the knot after it
    plus_eval: jnp.ndarray       # A = sum of sign * count at probe, by evaluation
    plus_probe: jnp.ndarray
    plus_sign: jnp.ndarray
    den_eval: jnp.ndarray        # B = count at probe, by evaluation (shares only)
    den_probe: jnp.ndarray
    eval_claim: jnp.ndarray      # per evaluation: its claim
    claim_points: jnp.ndarray    # per claim: its number of date points
    lower: jnp.ndarray           # per claim, log scale (-inf when open)
    upper: jnp.ndarray           # per claim, log scale (inf when open)
    exact: jnp.ndarray           # per claim: lower == upper
    bias: jnp.ndarray            # per claim: index into beta, or -1
    tau: jnp.ndarray             # per claim: extra noise sd
    claim_weight: jnp.ndarray    # per claim: 1 in the likelihood, 0 left out
    pen_plus_row: jnp.ndarray    # penalty rows: log1p(casualties) - log1p(deployed) at knots
    pen_plus_probe: jnp.ndarray
    pen_den_row: jnp.ndarray
    pen_den_probe: jnp.ndarray
    pen_weight: jnp.ndarray      # per penalty row: 1 applied, 0 left out
    prior_row: jnp.ndarray       # Gaussian prior rows over [theta, level], as entries
    prior_col: jnp.ndarray
    prior_value: jnp.ndarray
    prior_offset: jnp.ndarray    # per row
    prior_weight: jnp.ndarray    # per row: 1 applied, 0 left out
    bias_mean: jnp.ndarray
    bias_sd: jnp.ndarray
    drift_sd: jnp.ndarray        # per bias, the prior sd of its drift per year; empty without drift
    drift_time: jnp.ndarray      # per claim: years from its subject's start to the date it speaks of
    spread_sd: jnp.ndarray       # the prior sd of lambda, the log factor on every bias's sd; empty with the spread fixed
    unused: jnp.ndarray          # per parameter: 1 if it only carries a standard normal
    shape_mean: jnp.ndarray      # the shape prior's mean, and a root of its covariance (see whitened)
    shape_root: jnp.ndarray
    rho_mean: jnp.ndarray
    rho_sd: jnp.ndarray
    sigma_floor: jnp.ndarray
    outlier_share: jnp.ndarray
    outlier_scale: jnp.ndarray
    penalty_strength: jnp.ndarray
    penalty_softness: jnp.ndarray

    # Sizes, each read off an array with one entry per item (a NamedTuple's fields are its
    # arrays, so these are properties, not fields).
    n_theta = property(lambda self: self.theta_knot.shape[0], doc="curve increments, all curves")
    n_curves = property(lambda self: self.curve_first.shape[0])
    n_claims = property(lambda self: self.lower.shape[0])
    n_evaluations = property(lambda self: self.eval_claim.shape[0])
    n_shape = property(lambda self: self.n_theta + self.n_curves,
                       doc="theta and the curves' levels: the parameters the Gaussian shape prior covers")
    n_bias = property(lambda self: self.bias_mean.shape[0])
    n_drift = property(lambda self: self.drift_sd.shape[0])
    n_spread = property(lambda self: self.spread_sd.shape[0])
    n_params = property(lambda self: self.n_shape + self.n_bias + self.n_drift + self.n_spread + 1)


class Parameters(NamedTuple):
    """The parts of a parameter vector, by name: every other module reads them so, never by
    offset. The parameters are the last axis, so the same names serve a vector and draws."""

    theta: jnp.ndarray   # each curve's increments before the softplus, curve after curve
    shape: jnp.ndarray   # theta and the curves' levels: what the Gaussian shape prior covers
    beta: jnp.ndarray    # each claimant bias's log factor, in the layout's bias_keys order
    drift: jnp.ndarray   # each bias's drift per year, in the same order (none without drift)
    spread: jnp.ndarray  # lambda: the log factor on the biases' prior sd (none with the spread fixed)
    rho: jnp.ndarray     # the log of the noise scale above its floor


def unpack(design: Design, x: jnp.ndarray) -> Parameters:
    bias_end = design.n_shape + design.n_bias
    drift_end = bias_end + design.n_drift
    return Parameters(x[..., :design.n_theta], x[..., :design.n_shape], x[..., design.n_shape:bias_end],
                      x[..., bias_end:drift_end], x[..., drift_end:-1], x[..., -1])


# ---------------------------------------------------------------- curves

def knot_values(design: Design, theta: jnp.ndarray) -> jnp.ndarray:
    """Knot values of every curve (each curve's zero knot included): cumulative softplus
    increments within each curve."""
    steps = jax.nn.softplus(theta)
    totals = jnp.cumsum(steps)
    within = totals - totals[design.theta_first] + steps[design.theta_first]
    return jnp.zeros_like(design.knot_zeros).at[design.theta_knot].set(within)


def knot_counts(knots, xp=jnp):
    """Counts at knots, capped where counts stop meaning anything; ``xp`` is jax.numpy in the
    density and numpy where draws are summarised, whose results must not depend on XLA's
    kernels for this CPU."""
    return xp.expm1(xp.minimum(knots, MAX_LOG_COUNT))


def counts_at(design: Design, x: jnp.ndarray) -> jnp.ndarray:
    """Counts at every probe for one parameter vector: linear between the knots around it."""
    counts = knot_counts(knot_values(design, unpack(design, x).theta))
    w = design.probe_weight
    return (1 - w) * counts[design.probe_knot] + w * counts[design.probe_knot + 1]


def ratio(n_rows: int, plus_row, plus_probe, plus_sign, den_row, den_probe, counts):
    """log1p(A) - log1p(B) per row, A a signed sum of counts (floored at 0), B a sum."""
    a = jnp.zeros(n_rows).at[plus_row].add(plus_sign * counts[plus_probe])
    b = jnp.zeros(n_rows).at[den_row].add(counts[den_probe])
    return jnp.log1p(jnp.maximum(a, 0.0)) - jnp.log1p(b)


def measured(design: Design, x: jnp.ndarray) -> jnp.ndarray:
    """m per evaluation: what each claim measures at each of its date points."""
    counts = counts_at(design, x)
    return ratio(design.n_evaluations, design.plus_eval, design.plus_probe, design.plus_sign,
                 design.den_eval, design.den_probe, counts)


# ---------------------------------------------------------------- likelihood pieces

def log1mexp(x: jnp.ndarray) -> jnp.ndarray:
    """log(1 - exp(x)) for x < 0, accurate at both ends (each branch fed only values it
    takes, so that neither puts a NaN into the derivative)."""
    near = x > -LOG_2
    return jnp.where(near, jnp.log(-jnp.expm1(jnp.where(near, x, -1.0))),
                     jnp.log1p(-jnp.exp(jnp.where(near, -1.0, x))))


def log_mass(za: jnp.ndarray, zb: jnp.ndarray) -> jnp.ndarray:
    """log(Phi(zb) - Phi(za)) for za < zb, from the tail the interval lies in: an interval
    above 0 is mirrored (Phi(zb) - Phi(za) = Phi(-za) - Phi(-zb)), so the difference is
    always of the smaller tail, where log_ndtr keeps its precision, and two tails are
    evaluated per interval, not four (the likelihood is most of a gradient's cost)."""
    upper = za > 0
    a, b = jnp.where(upper, -zb, za), jnp.where(upper, -za, zb)
    log_b = log_ndtr(b)
    return log_b + log1mexp(log_ndtr(a) - log_b)


def component(lower, upper, exact, mu, s):
    """log P of a claim's interval (or log density of an exact figure) under N(mu, s^2).

    An open side is left out of the formula, not stood in for by a far bound: a bound
    that looks far to one draw is near to another, and log(Phi(b) - Phi(a)) of two far
    bounds is where precision runs out. Each branch is fed only finite values it takes.
    """
    lower_open, upper_open = ~jnp.isfinite(lower), ~jnp.isfinite(upper)
    za = (jnp.where(lower_open, 0.0, lower) - mu) / s
    zb = (jnp.where(upper_open, 0.0, upper) - mu) / s
    za = jnp.where(lower_open, zb - 1.0, za)
    zb = jnp.where(upper_open | exact, za + 1.0, zb)
    density = -0.5 * za**2 - jnp.log(s) - LOG_SQRT_2PI
    one_sided = log_ndtr(jnp.where(upper_open, -za, zb))
    return jnp.where(exact, density, jnp.where(upper_open | lower_open, one_sided, log_mass(za, zb)))


def mixture(design: Design, mu, lower, upper, exact, s):
    """log P under the 95/5 noise mixture, and the outlier component's share of it."""
    share, scale = design.outlier_share, design.outlier_scale
    inlier = jnp.log1p(-share) + component(lower, upper, exact, mu, s)
    outlier = jnp.log(share) + component(lower, upper, exact, mu, scale * s)
    log_g = jnp.logaddexp(inlier, outlier)
    return log_g, jnp.exp(outlier - log_g)


class Evaluated(NamedTuple):
    log_p: jnp.ndarray        # per claim: log P of its wording
    outlier: jnp.ndarray      # per claim: the outlier component's share of it
    centre: jnp.ndarray       # per claim: m averaged over its date points, before bias
    bias: jnp.ndarray         # per claim
    s: jnp.ndarray            # per claim: the inlier noise scale, its date's uncertainty included


def noise_scale(design: Design, rho: jnp.ndarray) -> jnp.ndarray:
    sigma = design.sigma_floor + jnp.exp(jnp.minimum(rho, MAX_RHO))
    return jnp.sqrt(sigma**2 + design.tau**2)


def claim_bias(design: Design, p: Parameters) -> jnp.ndarray:
    """Per claim: its claimant's bias at the date it speaks of (0 for an unattributed claim)."""
    if p.beta.shape[0] == 0:
        return jnp.zeros(design.n_claims)
    k = jnp.maximum(design.bias, 0)
    at_date = p.beta[k] + (p.drift[k] * design.drift_time if design.n_drift else 0.0)
    return jnp.where(design.bias >= 0, at_date, 0.0)


def over_dates(design: Design, m: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray]:
    """Per claim: the mean and the variance of m over its evenly spaced date points.

    A claim dated only to a span speaks of the curve at some day in it. Rather than a
    mixture over separate days — whose likelihood has one narrow bump per day wherever
    the curve moves across the span, a surface NUTS cannot cross without divergences —
    the claim is compared with the curve's mean over the span, with the curve's spread
    over the span added to the noise (moment matching: for a curve linear over the span
    the points' variance is 96% of a uniform day's). A precise date has one point and
    no spread.
    """
    n, claim = design.n_claims, design.eval_claim
    mean = jnp.zeros(n).at[claim].add(m) / design.claim_points
    variance = jnp.zeros(n).at[claim].add((m - mean[claim]) ** 2) / design.claim_points
    return mean, variance


def evaluate(design: Design, x: jnp.ndarray) -> Evaluated:
    p = unpack(design, x)
    centre, spread = over_dates(design, measured(design, x))
    bias = claim_bias(design, p)
    s = jnp.sqrt(noise_scale(design, p.rho) ** 2 + spread)
    # A claim left out (weight 0) is read at its own bound instead: unconstrained, the curve
    # can sit so far from it that its log P has no finite derivative, and 0 x NaN is NaN.
    at_bound = jnp.where(jnp.isfinite(design.lower), design.lower, design.upper)
    mu = jnp.where(design.claim_weight > 0, centre + bias, at_bound)
    log_p, outlier = mixture(design, mu, design.lower, design.upper, design.exact, s)
    return Evaluated(log_p, outlier, centre, bias, s)


def penalty(design: Design, x: jnp.ndarray) -> jnp.ndarray:
    """The soft casualties <= deployed penalty, summed over the rows applied."""
    counts = counts_at(design, x)
    excess = ratio(design.pen_weight.shape[0], design.pen_plus_row, design.pen_plus_probe,
                   jnp.ones(design.pen_plus_row.shape[0]), design.pen_den_row, design.pen_den_probe, counts)
    softness = design.penalty_softness
    return design.penalty_strength * softness * jnp.sum(design.pen_weight * jax.nn.softplus(excess / softness))


# ---------------------------------------------------------------- the prior, whitened

def whitened(design: Design) -> Design:
    """The design with its Gaussian prior turned into a change of variables (numpy, once per design).

    The shape prior is Gaussian with precision Q = R'WR + U (R its rows, W their weights,
    U a unit diagonal on the unused parameters) and mean Q^-1 R'W offset. NUTS samples z
    with shape = mean + L^-T z (Q = LL'), beta = bias_mean + bias_sd e^lambda z and gamma, lambda and rho
    likewise, so that every z is standard normal before the claims are seen: the prior's strong
    correlations between neighbouring increments are gone from the sampler's view, and
    with them most of its integration steps. The change is linear, so the posterior is
    the same, exactly.
    """
    n = design.n_shape
    rows = np.zeros((design.prior_offset.shape[0], n))
    np.add.at(rows, (np.asarray(design.prior_row), np.asarray(design.prior_col)), np.asarray(design.prior_value))
    weight = np.asarray(design.prior_weight)
    precision = rows.T @ (weight[:, None] * rows) + np.diag(np.asarray(design.unused)[:n])
    factor = np.linalg.cholesky(precision)
    mean = np.linalg.solve(precision, rows.T @ (weight * np.asarray(design.prior_offset)))
    root = np.linalg.solve(factor.T, np.eye(n))
    return design._replace(shape_mean=mean, shape_root=root)


def position(design: Design, z: jnp.ndarray) -> jnp.ndarray:
    """The parameter vector x of a whitened point z (whose parts are laid out as x's)."""
    w = unpack(design, z)
    shape = design.shape_mean + design.shape_root @ w.shape
    spread = design.spread_sd * w.spread
    return jnp.concatenate([shape, design.bias_mean + bias_scale(design, spread) * w.beta, design.drift_sd * w.drift,
                            spread, (design.rho_mean + design.rho_sd * w.rho)[None]])


def bias_scale(design: Design, spread, xp=jnp):
    """Each bias's sd: its prior's, times e^lambda where the spread is learnt (the biases are
    non-centred, beta = mean + this z, so that NUTS meets no funnel where lambda is low)."""
    return design.bias_sd * xp.exp(spread[0]) if design.n_spread else design.bias_sd


def whitened_point(design: Design, x: np.ndarray) -> np.ndarray:
    """z of a parameter vector x (numpy): the inverse of position."""
    p = unpack(design, x)
    shape = np.linalg.solve(np.asarray(design.shape_root), np.asarray(p.shape) - np.asarray(design.shape_mean))
    return np.concatenate([shape, (p.beta - design.bias_mean) / bias_scale(design, p.spread, np), p.drift / design.drift_sd,
                           p.spread / design.spread_sd, [(p.rho - design.rho_mean) / design.rho_sd]])


def potential(design: Design, z: jnp.ndarray) -> jnp.ndarray:
    """Negative log posterior of the whitened point z: what NUTS samples, with exact
    derivatives by JAX. Every parameter's prior is in the change of variables and the
    standard normal term; unused ones (weight 0 everywhere) carry only that term."""
    x = position(design, z)
    return -jnp.sum(design.claim_weight * evaluate(design, x).log_p) + penalty(design, x) + 0.5 * jnp.sum(z**2)


# ---------------------------------------------------------------- what each draw says of each claim

def interval_probability(design: Design, mu, s, lower, upper):
    """P(lower <= y <= upper) for y ~ the noise mixture around mu (an open bound is infinite)."""
    share, scale = design.outlier_share, design.outlier_scale

    def mass(sd):
        return ndtr((upper - mu) / sd) - ndtr((lower - mu) / sd)
    return (1 - share) * mass(s) + share * mass(scale * s)


def tail_probability(design: Design, mu, s, lower, upper):
    """The noise mixture's mass on each side beyond the claim: P(y >= lower), P(y <= upper)."""
    share, scale = design.outlier_share, design.outlier_scale

    def tails(sd):
        return 1 - ndtr((lower - mu) / sd), ndtr((upper - mu) / sd)
    above_in, below_in = tails(s)
    above_out, below_out = tails(scale * s)
    return ((1 - share) * above_in + share * above_out, (1 - share) * below_in + share * below_out)
