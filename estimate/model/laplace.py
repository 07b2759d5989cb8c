"""Approximate posterior draws for packages too large for NUTS: a Laplace approximation.

NUTS's cost grows faster than the number of claims: as claims pile up, the posterior
narrows in directions the prior's change of variables does not know, and each draw needs
more integration steps (here, 127 per draw at 250 generated claims, over 20 minutes for
2,000). From [approximation] claims_from claims on (model.toml), the fit instead

1. finds the posterior mode of the same density NUTS samples (in the same whitened
   coordinates): L-BFGS on JAX's exact gradient, then Newton steps and L-BFGS in the
   coordinates the exact Hessian whitens;
2. takes the exact Hessian by automatic differentiation (one Hessian-vector product per
   parameter, in batches, so memory stays bounded), once or a few times near the mode;
3. draws from the normal distribution with that mean and precision, as many draws as
   NUTS would keep, and maps them back to parameters exactly as NUTS's draws are.

Every later step (quantiles, gates, tables) reads these draws as it reads NUTS's; each
estimate row says which method made it. The draws are independent, so the convergence
gates pass by construction: what this method must pass instead is a mode that was truly
reached and a Hessian that is positive definite. How far its quantiles fall from NUTS's,
on packages small enough for both, is measured by ``make bench`` (benchmarks/scale.md).
"""

import math
from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg
import scipy.optimize

from estimate.model import equations, sampler
from estimate.package.outputs import UsageError

METHOD = "laplace_approximation"


@dataclass(frozen=True)
class Settings:
    """When and how the approximation runs (model.toml, [approximation])."""

    claims_from: int         # a design with at least this many claims in its likelihood is approximated
    lbfgs_ftol: float        # L-BFGS stops when a step improves the log density by less than this, relatively
    mode_distance: float     # the mode is reached when the Newton decrement is at most this
    hessians_max: int        # Newton steps may take this many fresh Hessians
    hessian_batch: int       # Hessian-vector products computed at once: memory grows with it


def settings(config: dict) -> Settings:
    return sampler.section(Settings, config, "approximation")


def applies(design: equations.Design, config: dict) -> bool:
    return float(np.sum(design.claim_weight)) >= settings(config).claims_from


value_and_gradient = jax.jit(jax.value_and_grad(equations.potential, argnums=1))


@partial(jax.jit, static_argnames="batch")
def hessian(design: equations.Design, z: jnp.ndarray, batch: int) -> jnp.ndarray:
    """The Hessian of the potential at z, column by column (forward over reverse mode)."""
    gradient = jax.grad(equations.potential, argnums=1)

    def column(v):
        return jax.jvp(lambda point: gradient(design, point), (z,), (v,))[1]
    return jax.lax.map(column, jnp.eye(z.shape[0]), batch_size=batch)


def precision_factor(design: equations.Design, z: np.ndarray, s: Settings) -> np.ndarray | None:
    """A lower Cholesky factor of the exact Hessian of the potential at ``z``, or None where
    the Hessian is not positive definite (far from the mode, the posterior need not be convex)."""
    curvature = np.asarray(hessian(design, jnp.asarray(z), s.hessian_batch))
    try:
        return np.linalg.cholesky((curvature + curvature.T) / 2)
    except np.linalg.LinAlgError:
        return None


def gradient_at(design: equations.Design, z: np.ndarray) -> np.ndarray:
    return np.asarray(value_and_gradient(design, jnp.asarray(z))[1])


def minimised(design: equations.Design, z: np.ndarray, factor: np.ndarray | None, ftol: float, gtol: float) -> np.ndarray:
    """L-BFGS from z, in the coordinates u of z + factor^-T u (in z itself without a factor).
    A factor of the Hessian near the mode makes the posterior there close to a standard
    normal in u, where L-BFGS needs tens of steps instead of thousands."""
    def to_z(u):
        return z + (u if factor is None else scipy.linalg.solve_triangular(factor.T, u, lower=False))

    def objective(u):
        value, gradient = value_and_gradient(design, jnp.asarray(to_z(u)))
        gradient = np.asarray(gradient)
        return float(value), (gradient if factor is None else scipy.linalg.solve_triangular(factor, gradient, lower=True))
    found = scipy.optimize.minimize(objective, np.zeros(len(z)), jac=True, method="L-BFGS-B",
                                    options={"maxiter": 100_000, "maxfun": 200_000, "ftol": ftol, "gtol": gtol})
    return to_z(found.x)


def mode(design: equations.Design, start: np.ndarray, s: Settings) -> tuple[np.ndarray, np.ndarray]:
    """The whitened posterior mode, and a Cholesky factor of the exact Hessian next to it.

    In the prior's coordinates the posterior of many claims is narrow and badly scaled:
    L-BFGS needed over 2,000 steps to come within a few standard deviations of the mode at
    100,000 generated claims. So it only comes near ([approximation] lbfgs_ftol); then each
    round takes the exact Hessian there and takes Newton steps with it as long as the
    Newton decrement (the distance to the mode, in posterior standard deviations) at least
    halves; if that is not enough, L-BFGS goes on in the coordinates this Hessian whitens,
    and the next round takes a fresh Hessian where it stopped. Where a Hessian is not
    positive definite (still too far from the mode), L-BFGS goes on a hundred times more
    strictly before the next round."""
    z = minimised(design, start, None, s.lbfgs_ftol, 0.0)
    decrement, ftol = math.inf, s.lbfgs_ftol
    for _ in range(s.hessians_max):
        factor, previous = precision_factor(design, z, s), math.inf
        if factor is None:
            ftol /= 100
            z = minimised(design, z, None, ftol, 0.0)
            continue
        while True:
            scaled = scipy.linalg.solve_triangular(factor, gradient_at(design, z), lower=True)
            decrement = float(np.sqrt(scaled @ scaled))
            if not math.isfinite(decrement) or decrement <= s.mode_distance or decrement > previous / 2:
                break
            z, previous = z - scipy.linalg.solve_triangular(factor.T, scaled, lower=False), decrement
        if decrement <= s.mode_distance:
            return z, factor
        z = minimised(design, z, factor, 0.0, s.mode_distance)
    if factor is None:
        raise UsageError("the posterior's curvature near its mode is not positive definite, so its approximation "
                         "would be wrong and nothing was written — raise [approximation] claims_from in "
                         "estimate/model/model.toml to sample this package by NUTS.", code="approximation-curvature-not-positive")
    raise UsageError(f"the fit did not reach the posterior mode for its approximation, so nothing was written: it "
                     f"stayed {decrement:.2g} standard deviations away (at most {s.mode_distance}) after "
                     f"{s.hessians_max} Hessian(s) — look for claims that contradict each other in data/claims.csv, "
                     "or raise [approximation] claims_from in estimate/model/model.toml to sample this package by NUTS.", code="approximation-mode-not-reached")


def run(design: equations.Design, start: np.ndarray, seed_key: np.random.SeedSequence, s: sampler.Settings,
        a: Settings) -> sampler.Chains:
    """Independent draws from the Laplace approximation, shaped as NUTS's chains (chains x
    samples x parameters), from ``start`` (a whitened point) and the seed sequence."""
    design = jax.tree.map(jnp.asarray, design)
    centre, factor = mode(design, np.asarray(start, dtype=float), a)
    noise = np.random.default_rng(seed_key).standard_normal((s.chains * s.samples, len(centre)))
    z = centre + scipy.linalg.solve_triangular(factor.T, noise.T, lower=False).T
    draws = np.asarray(jax.vmap(equations.position, in_axes=(None, 0))(design, jnp.asarray(z)))
    shape = (s.chains, s.samples)
    return sampler.Chains(draws.reshape(*shape, -1), 0, np.zeros(shape), np.zeros(s.chains), METHOD)
