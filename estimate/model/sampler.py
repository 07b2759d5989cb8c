"""Posterior draws by NUTS (NumPyro on JAX), and the convergence diagnostics they must pass.

One chain is one compiled function of (design, start, key): every posterior of the same
design shape — the main fit, the sensitivity runs, each as-of date and each claim left
out — reuses the same compiled code and differs only in the arrays it is given (a run
resumed from another's tuning is a second compiled function). Each chain is a pure
function of its start, key and tuning, so the same seed gives the same draws on the same
machine.

Diagnostics are ArviZ's (arviz-stats), after Vehtari, Gelman, Simpson, Carpenter and
Bürkner (2021), "Rank-normalization, folding, and localization: an improved R-hat":
rank-normalised split R-hat, bulk and tail effective sample sizes, and the Monte Carlo
standard error of a quantile or a mean.
"""

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from arviz_stats.base import array_stats
from numpyro.infer.hmc import hmc

from estimate.model import equations
from estimate.package.outputs import UsageError

METHOD = "nuts_posterior"

# Compiling a chain takes about 25 s: the compiled code is kept in the virtual environment
# (never in the package), so later runs on this machine start at once. The cache is keyed
# by the code, the shapes, JAX's version and this machine's CPU, and holds code, not results.
if sys.prefix != sys.base_prefix:
    jax.config.update("jax_compilation_cache_dir", os.path.join(sys.prefix, "jax-cache"))


@dataclass(frozen=True)
class Settings:
    """How NUTS is run (model.toml, [sampler])."""

    chains: int
    warmup: int
    samples: int
    target_accept: float
    max_tree_depth: int
    start_spread: float      # each chain starts this far (uniformly, per parameter) around the starting point
    metric: str              # "prior": sample the prior-whitened point; "hessian": also whiten by the curvature at the mode
    resumed_warmup: int      # warm-up of a run resumed from another's tuning (Tuning)


class Metric(NamedTuple):
    """A linear change of variables z = centre + factor^-T u, with factor a lower Cholesky
    factor of the potential's Hessian at its mode (centre): NUTS then samples u, in which
    the posterior is close to a standard normal. The draws are still exact NUTS draws of
    the same posterior; only the geometry the integrator sees changes."""

    centre: np.ndarray
    factor: np.ndarray


class Tuning(NamedTuple):
    """What a run's warm-up learnt, chain by chain, and where each chain ended: a posterior
    close to it (the same design with another lexicon or bias prior, or one claim left out)
    is sampled by resuming each chain from here, with the metric
    kept and only the step size re-tuned in a short warm-up. The kept draws are still exact
    NUTS draws of that posterior; only the burn-in and the mass matrix's estimation are saved."""

    position: np.ndarray             # chains x parameters, in the coordinates NUTS samples
    step_size: np.ndarray            # chains
    inverse_mass_matrix: np.ndarray  # chains x parameters (diagonal)
    metric: Metric | None


@dataclass(frozen=True)
class Chains:
    draws: np.ndarray        # chains x samples x parameters
    divergent: int           # divergent transitions after warm-up, all chains
    steps: np.ndarray        # integration steps of each transition, chains x samples
    step_sizes: np.ndarray   # the adapted step size of each chain
    method: str              # what made the draws: METHOD, or another method's name (estimate.model.laplace)
    tuning: Tuning | None = None   # how to resume these chains on a nearby posterior (NUTS only)

    @property
    def pooled(self) -> np.ndarray:
        """Every draw, chain after chain (draws x parameters)."""
        return self.draws.reshape(-1, self.draws.shape[-1])


METRICS = ("prior", "hessian")


def section(record, config: dict, name: str):
    """A section of estimate/model/model.toml as its record: a key misspelt, missing or added is
    a sentence, never a default silently taken instead."""
    given, wanted = config.get(name), [f.name for f in fields(record)]
    if not isinstance(given, dict) or sorted(given) != sorted(wanted):
        raise UsageError(f"estimate/model/model.toml [{name}] must set exactly {', '.join(wanted)} — restore it from git", code="model-settings-incomplete")
    return record(**given)


def settings(config: dict) -> Settings:
    chosen = section(Settings, config, "sampler")
    if chosen.metric not in METRICS:
        raise UsageError(f"estimate/model/model.toml [sampler] metric {chosen.metric!r} is not one of {', '.join(METRICS)} — "
                         "write one of these", code="model-metric-unknown")
    return chosen


def _chain(design: equations.Design, metric: Metric | None, start: jnp.ndarray, key: jnp.ndarray, warmup: int,
           samples: int, target_accept: float, max_tree_depth: int, step_size=1.0, inverse_mass_matrix=None):
    def to_z(u):
        if metric is None:
            return u
        return metric.centre + jax.scipy.linalg.solve_triangular(metric.factor.T, u, lower=False)

    init_kernel, sample_kernel = hmc(potential_fn_gen=lambda d: lambda u: equations.potential(d, to_z(u)), algo="NUTS")
    # Given a mass matrix (a resumed run), only the step size is tuned.
    state = init_kernel(start, warmup, step_size=step_size, inverse_mass_matrix=inverse_mass_matrix,
                        adapt_mass_matrix=inverse_mass_matrix is None, target_accept_prob=target_accept,
                        max_tree_depth=max_tree_depth, model_args=(design,), rng_key=key)

    def transition(state, _):
        state = sample_kernel(state, model_args=(design,))
        return state, (state.z, state.diverging, state.num_steps)

    state, _ = jax.lax.scan(transition, state, None, length=warmup)
    state, (u, diverging, steps) = jax.lax.scan(transition, state, None, length=samples)
    adapted = state.adapt_state
    return (jax.vmap(lambda one: equations.position(design, to_z(one)))(u), diverging, steps, adapted.step_size,
            state.z, adapted.inverse_mass_matrix)


# Compiled once per design shape, kind of metric, settings and whether the run is resumed,
# whatever the arrays hold.
chain = jax.jit(_chain, static_argnames=("warmup", "samples", "target_accept", "max_tree_depth"))


def run(design: equations.Design, starts: np.ndarray, seed_key: np.random.SeedSequence, s: Settings,
        metric: Metric | None = None) -> Chains:
    """s.chains chains, each from its own whitened start (equations.whitened; with a metric, in
    its coordinates u), with keys drawn from the seed sequence; the draws come back as
    parameter vectors."""
    return _chains(design, starts, seed_key, s, metric, s.warmup, [{}] * s.chains)


def resumed(design: equations.Design, tuning: Tuning, seed_key: np.random.SeedSequence, s: Settings) -> Chains:
    """The chains of ``tuning``'s run carried on, on ``design`` (of the same shape): each
    from where it ended, with its mass matrix, and s.resumed_warmup transitions re-tuning
    its step size before the kept draws."""
    tuned = [dict(step_size=jnp.asarray(size), inverse_mass_matrix=jnp.asarray(inverse))
             for size, inverse in zip(tuning.step_size, tuning.inverse_mass_matrix)]
    return _chains(design, tuning.position, seed_key, s, tuning.metric, s.resumed_warmup, tuned)


def _chains(design: equations.Design, starts: np.ndarray, seed_key: np.random.SeedSequence, s: Settings,
            metric: Metric | None, warmup: int, tuned: list[dict]) -> Chains:
    keys = seed_key.generate_state(2 * s.chains, dtype=np.uint32).reshape(s.chains, 2)
    design = jax.tree.map(jnp.asarray, design)
    metric = None if metric is None else jax.tree.map(jnp.asarray, metric)

    def one(start, key, tuning):
        return chain(design, metric, jnp.asarray(start), jnp.asarray(key), warmup=warmup, samples=s.samples,
                     target_accept=s.target_accept, max_tree_depth=s.max_tree_depth, **tuning)
    # Chains are independent and JAX releases the interpreter while one runs: one thread
    # per core. The draws do not depend on which thread ran which chain.
    with ThreadPoolExecutor(max_workers=min(s.chains, os.cpu_count() or 1)) as pool:
        results = list(pool.map(one, starts, keys, tuned))
    z, diverging, steps, step_size, last, inverse = (np.stack([np.asarray(r[i]) for r in results]) for i in range(6))
    return Chains(z, int(diverging.sum()), steps, step_size, METHOD, Tuning(last, step_size, inverse, metric))


# ---------------------------------------------------------------- diagnostics
# Arrays are chains x draws x quantities. A quantity that is one constant over every
# draw (a count before its onset is 0) has no Monte Carlo error: R-hat 1.

AXES = dict(chain_axis=0, draw_axis=1)


def rhat(x: np.ndarray) -> np.ndarray:
    """Rank-normalised split R-hat (the larger of the bulk's and the folded tails')."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.nan_to_num(array_stats.rhat(x, **AXES, method="rank"), nan=1.0)


def bulk_ess(x: np.ndarray) -> np.ndarray:
    return array_stats.ess(x, **AXES, method="bulk")


def tail_ess(x: np.ndarray) -> np.ndarray:
    """The smaller of the effective sample sizes of the 5% and 95% quantiles."""
    return array_stats.ess(x, **AXES, method="tail", prob=(0.05, 0.95))


def quantile_mcse(x: np.ndarray, p: float) -> np.ndarray:
    """Monte Carlo standard error of the p-quantile, on x's scale."""
    return array_stats.mcse(x, **AXES, method="quantile", prob=p)


def mean_mcse(x: np.ndarray) -> np.ndarray:
    """Monte Carlo standard error of the mean over all draws."""
    return array_stats.mcse(x, **AXES, method="mean")


def leave_one_out_weights(log_lik: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pareto-smoothed log importance weights (claims x draws) that make the posterior's draws
    stand for the posterior without each claim, and each claim's Pareto k.

    The weights are 1 / the claim's likelihood: arviz_stats' psislw takes the
    log-likelihood itself (draws x claims here) and negates it inside."""
    return array_stats.psislw(log_lik.T, r_eff=1.0, axis=-1)


def relative_ess(x: np.ndarray) -> np.ndarray:
    """Effective sample size of the mean, as a share of the draws."""
    return array_stats.ess(x, **AXES, method="mean", relative=True)
