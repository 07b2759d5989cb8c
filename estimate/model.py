"""The latent-curve model: negative log posterior with its gradient, MAP fit and Laplace draws.

For each curve c (one subject's base quantity) with knots t_0 < t_1 < ... every
``knot_days`` from the subject's start date, where its count is zero,

    f_c(t_k) = sum_{j <= k} softplus(theta_{c,j}),   f_c(t_0) = 0,

on the log1p scale, linear between knots, so that N_c(t) = expm1(f_c(t)) never falls.
Claim i is compared through m_i = log1p(A_i) - log1p(B_i), where A_i is a signed sum of
counts (a count at the as-of date; the counts of killed and wounded for casualties; a
difference across the window for an increment) and B_i is zero, or the deployed count
for a share. With its interval [a_i, b_i] on the same scale,

    y_i = m_i + beta_{claimant, class} + eps_i,
    eps_i ~ (1 - w) N(0, s_i^2) + w N(0, (k s_i)^2),   s_i^2 = sigma^2 + tau_i^2,
    P(claim i) = mean over its date points of P(a_i <= y_i <= b_i)   (a density if a_i = b_i),

with priors theta_{c,1} ~ N(mu0, sd0) (the first rise), and for j >= 2
theta_{c,j} ~ N(level_c, level_sd) and theta_{c,j} - theta_{c,j-1} ~ N(0, walk_sd), where
each curve's typical increment level_c ~ N(level_mean, level_mean_sd) is a parameter too;
beta ~ N(mean, sd) by relation to the counted force, sigma = floor + exp(rho) with
rho ~ N(log(median - floor), log_sd), and casualties <= deployed as a soft penalty.
Only relative biases are identifiable: the priors pin their common level.

Parameters are one vector: [theta (all curves), level (one per curve), beta, rho].
"""

from dataclasses import dataclass

import numpy as np
from scipy import linalg, optimize, sparse
from scipy.special import expit, log_ndtr

LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)
# Bounds that keep a line search's trial steps finite: e^40 people and a noise scale of
# e^5 are far past anything the data can support, so the optimum never touches them.
MAX_LOG_COUNT = 40.0
MAX_RHO = 5.0


@dataclass(frozen=True)
class Design:
    """Everything the likelihood needs, as arrays; built by estimate.fit from claims.

    ``interp`` maps knot values (each curve's zero knot included) to f at probe points;
    ``plus`` and ``den`` map counts at probes to A and B of each evaluation (one claim at
    one of its date points); ``group_starts`` delimits each claim's evaluations, which
    are contiguous. ``pen_plus``/``pen_den`` give log1p(casualties) - log1p(deployed) at
    the knots where the penalty applies.
    """

    curve_lengths: np.ndarray   # theta count per curve
    interp: sparse.csr_matrix   # probes x knots
    plus: sparse.csr_matrix     # evaluations x probes, entries +1 / -1
    den: sparse.csr_matrix      # evaluations x probes
    group_starts: np.ndarray    # first evaluation of each claim
    lower: np.ndarray           # per claim, log scale (-inf allowed)
    upper: np.ndarray           # per claim, log scale (inf when open)
    exact: np.ndarray           # per claim: lower == upper
    bias: np.ndarray            # per claim: index into beta, or -1
    tau: np.ndarray             # per claim: extra noise sd
    pen_plus: sparse.csr_matrix
    pen_den: sparse.csr_matrix
    theta_prior: sparse.csr_matrix  # Gaussian prior rows over [theta, level]
    theta_prior_offset: np.ndarray
    bias_mean: np.ndarray
    bias_sd: np.ndarray
    rho_mean: float
    rho_sd: float
    sigma_floor: float
    outlier_share: float
    outlier_scale: float
    penalty_strength: float
    penalty_softness: float

    @property
    def n_theta(self) -> int:
        return int(self.curve_lengths.sum())

    @property
    def n_curves(self) -> int:
        return len(self.curve_lengths)

    @property
    def n_shape(self) -> int:
        """theta and the curves' levels: the parameters the Gaussian shape prior covers."""
        return self.n_theta + self.n_curves

    @property
    def n_params(self) -> int:
        return self.n_shape + len(self.bias_mean) + 1

    @property
    def n_claims(self) -> int:
        return len(self.lower)

    @property
    def evaluation_claim(self) -> np.ndarray:
        counts = np.diff(np.append(self.group_starts, self.plus.shape[0]))
        return np.repeat(np.arange(self.n_claims), counts)


# ---------------------------------------------------------------- curves

def knot_values(design: Design, theta: np.ndarray) -> np.ndarray:
    """Knot values of every curve, each curve's zero knot first; works on a batch (rows)."""
    theta = np.atleast_2d(theta)
    steps = np.logaddexp(0.0, theta)
    totals = np.cumsum(steps, axis=1)
    ends = np.cumsum(design.curve_lengths)
    before = np.concatenate([np.zeros((theta.shape[0], 1)), totals[:, ends[:-1] - 1]], axis=1)
    within = totals - np.repeat(before, design.curve_lengths, axis=1)
    curve_starts = np.concatenate([[0], ends[:-1]])
    return np.insert(within, curve_starts, 0.0, axis=1)


def theta_gradient(design: Design, theta: np.ndarray, knot_gradient: np.ndarray) -> np.ndarray:
    """Back from d/d(knot values) to d/d(theta): suffix sums within each curve, times softplus'."""
    ends = np.cumsum(design.curve_lengths)
    zero_positions = np.concatenate([[0], ends[:-1]]) + np.arange(len(ends))
    g = np.delete(knot_gradient, zero_positions)
    suffix = np.cumsum(g[::-1])[::-1]
    after = np.append(suffix[ends[:-1]], 0.0)
    within = suffix - np.repeat(after, design.curve_lengths)
    return within * expit(theta)


# ---------------------------------------------------------------- likelihood pieces

def log1mexp(x: np.ndarray) -> np.ndarray:
    """log(1 - exp(x)) for x <= 0, accurate at both ends."""
    with np.errstate(divide="ignore"):
        return np.where(x > -np.log(2), np.log(-np.expm1(x)), np.log1p(-np.exp(x)))


def log_mass(za: np.ndarray, zb: np.ndarray) -> np.ndarray:
    """log(Phi(zb) - Phi(za)), za < zb, stable in both tails."""
    with np.errstate(invalid="ignore", divide="ignore"):
        upper_tail = log_ndtr(-za) + log1mexp(log_ndtr(-zb) - log_ndtr(-za))
        lower_tail = log_ndtr(zb) + log1mexp(log_ndtr(za) - log_ndtr(zb))
    return np.where(za > 0, upper_tail, lower_tail)


def component(lower, upper, exact, mu, s):
    """log P under one normal component, and its derivatives by mu and by s."""
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        za, zb = (lower - mu) / s, (upper - mu) / s
        log_g = np.where(exact, -0.5 * za**2 - np.log(s) - LOG_SQRT_2PI, log_mass(za, np.where(exact, za + 1, zb)))
        density_a = np.where(np.isfinite(za), np.exp(-0.5 * za**2 - LOG_SQRT_2PI - log_g), 0.0)
        density_b = np.where(np.isfinite(zb), np.exp(-0.5 * zb**2 - LOG_SQRT_2PI - log_g), 0.0)
        za_density = np.where(np.isfinite(za), za * density_a, 0.0)
        zb_density = np.where(np.isfinite(zb), zb * density_b, 0.0)
    d_mu = np.where(exact, za / s, (density_a - density_b) / s)
    d_s = np.where(exact, (za**2 - 1) / s, (za_density - zb_density) / s)
    return log_g, d_mu, d_s


def mixture(design: Design, mu, lower, upper, exact, s_in):
    """log P of the 95/5 noise mixture, the outlier responsibility, and derivatives."""
    share, scale = design.outlier_share, design.outlier_scale
    log_in, dmu_in, ds_in = component(lower, upper, exact, mu, s_in)
    log_out, dmu_out, ds_out = component(lower, upper, exact, mu, scale * s_in)
    a, b = np.log1p(-share) + log_in, np.log(share) + log_out
    log_g = np.logaddexp(a, b)
    r_out = np.exp(b - log_g)
    d_mu = (1 - r_out) * dmu_in + r_out * dmu_out
    d_s = (1 - r_out) * ds_in + r_out * ds_out * scale
    return log_g, r_out, d_mu, d_s


def log_ratio(plus, den, counts):
    """log1p(A) - log1p(B) with A = plus @ counts (floored at 0) and B = den @ counts."""
    a = np.maximum(plus @ counts, 0.0)
    b = den @ counts
    return np.log1p(a) - np.log1p(b), a, b


# ---------------------------------------------------------------- posterior

def unpack(design: Design, x: np.ndarray):
    """theta, the shape block (theta and levels), beta, rho."""
    return x[:design.n_theta], x[:design.n_shape], x[design.n_shape:-1], x[-1]


def evaluate(design: Design, x: np.ndarray):
    """Per-evaluation quantities at x, shared by the objective and the diagnostics."""
    theta, shape, beta, rho = unpack(design, x)
    rho = min(rho, MAX_RHO)
    knots = knot_values(design, theta)[0]
    f = np.minimum(design.interp @ knots, MAX_LOG_COUNT)
    counts = np.expm1(f)
    m, a, b = log_ratio(design.plus, design.den, counts)
    claim = design.evaluation_claim
    bias = np.where(design.bias >= 0, beta[np.maximum(design.bias, 0)], 0.0) if len(beta) else np.zeros(design.n_claims)
    sigma = design.sigma_floor + np.exp(rho)
    s_in = np.sqrt(sigma**2 + design.tau**2)[claim]
    mu = m + bias[claim]
    log_g, r_out, d_mu, d_s = mixture(design, mu, design.lower[claim], design.upper[claim], design.exact[claim], s_in)
    return dict(theta=theta, shape=shape, beta=beta, rho=rho, sigma=sigma, knots=knots, f=f, counts=counts, m=m, a=a, b=b,
                claim=claim, bias=bias, s_in=s_in, mu=mu, log_g=log_g, r_out=r_out, d_mu=d_mu, d_s=d_s)


def claim_weights(design: Design, log_g: np.ndarray):
    """Per claim: log of the mean over its date points, and each point's share of it."""
    starts = design.group_starts
    peak = np.maximum.reduceat(log_g, starts)
    claim = design.evaluation_claim
    totals = np.add.reduceat(np.exp(log_g - peak[claim]), starts)
    sizes = np.diff(np.append(starts, len(log_g)))
    log_p = peak + np.log(totals) - np.log(sizes)
    weights = np.exp(log_g - peak[claim]) / totals[claim]
    return log_p, weights


def objective(x: np.ndarray, design: Design) -> tuple[float, np.ndarray]:
    """Negative log posterior and its gradient."""
    e = evaluate(design, x)
    log_p, weights = claim_weights(design, e["log_g"])
    d_mu = -weights * e["d_mu"]                        # d(-log lik)/d mu per evaluation
    claim = e["claim"]

    # Likelihood: back through m = log1p(A) - log1p(B) to the counts, f, knots, theta.
    d_counts = design.plus.T @ (d_mu / (1 + e["a"])) - design.den.T @ (d_mu / (1 + e["b"]))
    # Soft penalty casualties <= deployed at the knots.
    excess, pa, pb = log_ratio(design.pen_plus, design.pen_den, e["counts"])
    softness, strength = design.penalty_softness, design.penalty_strength
    penalty = strength * softness * np.logaddexp(0.0, excess / softness).sum()
    d_excess = strength * expit(excess / softness)
    d_counts = d_counts + design.pen_plus.T @ (d_excess / (1 + pa)) - design.pen_den.T @ (d_excess / (1 + pb))
    d_knots = design.interp.T @ (d_counts * np.exp(e["f"]))
    residual = design.theta_prior @ e["shape"] - design.theta_prior_offset
    d_shape = design.theta_prior.T @ residual
    d_shape[:design.n_theta] += theta_gradient(design, e["theta"], d_knots)

    beta = e["beta"]
    d_beta = (beta - design.bias_mean) / design.bias_sd**2
    if len(beta):
        has_bias = design.bias[claim] >= 0
        d_beta = d_beta + np.bincount(design.bias[claim][has_bias], weights=d_mu[has_bias], minlength=len(beta))

    sigma, rho = e["sigma"], e["rho"]
    d_sigma = np.sum(-weights * e["d_s"] * sigma / e["s_in"])
    d_rho = d_sigma * np.exp(rho) + (rho - design.rho_mean) / design.rho_sd**2

    value = (-log_p.sum() + penalty + 0.5 * residual @ residual
             + 0.5 * np.sum(((beta - design.bias_mean) / design.bias_sd) ** 2)
             + 0.5 * ((rho - design.rho_mean) / design.rho_sd) ** 2)
    return float(value), np.concatenate([d_shape, d_beta, [d_rho]])


# ---------------------------------------------------------------- fitting

@dataclass(frozen=True)
class MapFit:
    x: np.ndarray
    value: float
    converged: bool
    iterations: int         # L-BFGS-B iterations, then Newton steps
    message: str
    hessian: np.ndarray     # at x: the Laplace approximation reuses it


GRADIENT_TOLERANCE = 1e-4
RESTARTS = 20
# Newton steps polish the optimum until the largest gradient component is this small.
NEWTON_TOLERANCE = 1e-8
NEWTON_STEPS = 6


def fit_map(design: Design, start: np.ndarray, step: float, floor: float) -> MapFit:
    """Maximum a posteriori with L-BFGS-B and the analytic gradient, polished by Newton steps.

    L-BFGS-B can stall on a failed line search long before the optimum; it is restarted
    from where it stopped, with fresh curvature memory, until the gradient is small or a
    restart no longer improves the objective. It stops at a gradient of 1e-4, which in a
    flat direction leaves the optimum loose by far more than the last bits: another CPU or
    another start ends elsewhere, and the curves with it. Newton steps with the Hessian
    (floored like the Laplace approximation's) then pin the optimum down to a gradient of
    1e-8, wherever L-BFGS-B stopped.
    """
    x, value, iterations = start, objective(start, design)[0], 0
    for _ in range(RESTARTS):
        result = optimize.minimize(objective, x, args=(design,), jac=True, method="L-BFGS-B",
                                   options={"maxiter": 20000, "maxfun": 40000, "ftol": 0.0, "gtol": GRADIENT_TOLERANCE})
        iterations += int(result.nit)
        improved = result.fun < value - 1e-9
        if result.fun <= value:
            x, value = result.x, float(result.fun)
        if np.abs(objective(x, design)[1]).max() <= GRADIENT_TOLERANCE or not improved:
            break
    matrix = hessian(design, x, step)
    for _ in range(NEWTON_STEPS):
        gradient = objective(x, design)[1]
        if np.abs(gradient).max() <= NEWTON_TOLERANCE:
            break
        values, vectors = np.linalg.eigh(matrix)
        direction = vectors @ ((vectors.T @ gradient) / np.maximum(values, floor))
        for shrink in 0.5 ** np.arange(12):
            trial = x - shrink * direction
            trial_value, trial_gradient = objective(trial, design)
            if trial_value <= value + 1e-9 and np.abs(trial_gradient).max() < np.abs(gradient).max():
                break
        else:
            break
        x, value, iterations = trial, trial_value, iterations + 1
        matrix = hessian(design, x, step)
    converged = bool(np.abs(objective(x, design)[1]).max() <= 10 * GRADIENT_TOLERANCE)
    return MapFit(x, value, converged, iterations, str(result.message), matrix)


def hessian(design: Design, x: np.ndarray, step: float) -> np.ndarray:
    """The Hessian by central differences of the analytic gradient, symmetrised."""
    columns = []
    for j in range(len(x)):
        h = step * max(1.0, abs(x[j]))
        up, down = x.copy(), x.copy()
        up[j] += h
        down[j] -= h
        columns.append((objective(up, design)[1] - objective(down, design)[1]) / (2 * h))
    matrix = np.array(columns).T
    return (matrix + matrix.T) / 2


@dataclass(frozen=True)
class Laplace:
    """N(x, H^-1) with H the real Hessian at the MAP, its eigenvalues floored."""

    x: np.ndarray
    factor: np.ndarray   # lower Cholesky factor of the floored H
    floored: int         # eigenvalues raised to the floor


@dataclass(frozen=True)
class Draws:
    draws: np.ndarray    # draws x params
    effective: float     # effective share of draws kept by the penalty weights (1 = all)


def penalties(design: Design, draws: np.ndarray) -> np.ndarray:
    """The casualties <= deployed penalty of each draw."""
    if design.pen_plus.shape[0] == 0:
        return np.zeros(len(draws))
    # Only the probes the penalty reads: the others would multiply the cost for nothing.
    probes = np.unique(np.concatenate([design.pen_plus.indices, design.pen_den.indices]))
    knots = knot_values(design, draws[:, :design.n_theta])
    counts = np.expm1(np.minimum(knots @ design.interp[probes].T.toarray(), MAX_LOG_COUNT)).T
    excess = (np.log1p(np.maximum(design.pen_plus[:, probes] @ counts, 0.0)) - np.log1p(design.pen_den[:, probes] @ counts))
    return design.penalty_strength * design.penalty_softness * np.logaddexp(0.0, excess / design.penalty_softness).sum(axis=0)


def laplace(fitted: MapFit, floor: float) -> Laplace:
    """The Laplace approximation at the MAP, from the Hessian there.

    Draws go through a Cholesky factor of the floored Hessian, not through its
    eigenvectors: an eigenvector's sign (and, for close eigenvalues, its direction) can
    flip under a change of the optimum in its last bits, sending the same normals
    elsewhere, while the Cholesky factor moves only as much as the matrix does.
    """
    values, vectors = np.linalg.eigh(fitted.hessian)
    floored_hessian = (vectors * np.maximum(values, floor)) @ vectors.T
    factor = np.linalg.cholesky((floored_hessian + floored_hessian.T) / 2)
    return Laplace(fitted.x, factor, int(np.sum(values < floor)))


def laplace_draws(design: Design, approximation: Laplace, n: int, rng: np.random.Generator) -> Draws:
    """n draws from the Laplace approximation, resampled by the penalty it leaves out.

    At the MAP the casualties <= deployed penalty is inactive, so H carries none of it and
    some draws put more casualties than troops deployed. Each draw is weighted by
    exp(-(its penalty - the MAP's)), the factor the Gaussian left out, and the draws are
    resampled by those weights (systematic resampling, deterministic given the seed).
    """
    x = approximation.x
    z = rng.standard_normal((n, len(x)))
    draws = x + linalg.solve_triangular(approximation.factor, z.T, lower=True, trans="T").T
    weights = np.exp(-np.maximum(penalties(design, draws) - penalties(design, x[None, :])[0], 0.0))
    weights /= weights.sum()
    effective = float(1 / np.sum(weights**2) / n)
    picks = np.searchsorted(np.cumsum(weights), (rng.random() + np.arange(n)) / n)
    return Draws(draws[np.minimum(picks, n - 1)], effective)
