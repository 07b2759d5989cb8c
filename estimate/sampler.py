"""Posterior draws by NUTS (NumPyro on JAX), and the convergence diagnostics they must pass.

One chain is one compiled function of (design, start, key): every posterior of the same
design shape — the main fit, the sensitivity runs, each as-of date and each claim left
out — reuses the same compiled code and differs only in the arrays it is given. The
chains run one after another; each is a pure function of its key, so the same seed gives
the same draws on the same machine.

Diagnostics follow Vehtari, Gelman, Simpson, Carpenter and Bürkner (2021), "Rank-
normalization, folding, and localization: an improved R-hat": split chains, rank-
normalised R-hat and bulk effective sample size, tail effective sample size from the
5% and 95% indicators, and the Monte Carlo standard error of a quantile from the
effective sample size of its indicator.
"""

from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from numpyro.diagnostics import effective_sample_size
from numpyro.infer.hmc import hmc
from scipy.special import ndtri
from scipy.stats import rankdata

from estimate import model


@dataclass(frozen=True)
class Settings:
    """How NUTS is run (model.toml, [sampler])."""

    chains: int
    warmup: int
    samples: int
    target_accept: float
    max_tree_depth: int
    start_spread: float      # each chain starts this far (uniformly, per parameter) around the starting point


@dataclass(frozen=True)
class Chains:
    draws: np.ndarray        # chains x samples x parameters
    divergent: int           # divergent transitions after warm-up, all chains
    steps: np.ndarray        # integration steps of each transition, chains x samples
    step_sizes: np.ndarray   # the adapted step size of each chain

    @property
    def pooled(self) -> np.ndarray:
        """Every draw, chain after chain (draws x parameters)."""
        return self.draws.reshape(-1, self.draws.shape[-1])


def settings(config: dict) -> Settings:
    return Settings(**config["sampler"])


def _chain(design: model.Design, start: jnp.ndarray, key: jnp.ndarray, warmup: int, samples: int,
           target_accept: float, max_tree_depth: int):
    init_kernel, sample_kernel = hmc(potential_fn_gen=lambda d: partial(model.potential, d), algo="NUTS")
    state = init_kernel(start, warmup, target_accept_prob=target_accept, max_tree_depth=max_tree_depth,
                        model_args=(design,), rng_key=key)

    def transition(state, _):
        state = sample_kernel(state, model_args=(design,))
        return state, (state.z, state.diverging, state.num_steps)

    state, _ = jax.lax.scan(transition, state, None, length=warmup)
    state, (z, diverging, steps) = jax.lax.scan(transition, state, None, length=samples)
    return jax.vmap(partial(model.position, design))(z), diverging, steps, state.adapt_state.step_size


# Compiled once per design shape and settings, whatever the arrays hold.
chain = jax.jit(_chain, static_argnames=("warmup", "samples", "target_accept", "max_tree_depth"))


def run(design: model.Design, starts: np.ndarray, seed_key: np.random.SeedSequence, s: Settings) -> Chains:
    """s.chains chains, each from its own whitened start (model.whitened), with keys drawn from
    the seed sequence; the draws come back as parameter vectors."""
    keys = seed_key.generate_state(2 * s.chains, dtype=np.uint32).reshape(s.chains, 2)
    results = [chain(design, jnp.asarray(start), jnp.asarray(key), warmup=s.warmup, samples=s.samples,
                     target_accept=s.target_accept, max_tree_depth=s.max_tree_depth)
               for start, key in zip(starts, keys)]
    z, diverging, steps, step_size = (np.stack([np.asarray(r[i]) for r in results]) for i in range(4))
    return Chains(z, int(diverging.sum()), steps, step_size)


# ---------------------------------------------------------------- diagnostics

def split(x: np.ndarray) -> np.ndarray:
    """Each chain cut in two halves, as twice the chains (chains x draws x ...)."""
    half = x.shape[1] // 2
    return np.concatenate([x[:, :half], x[:, -half:]], axis=0)


def rank_normalised(x: np.ndarray) -> np.ndarray:
    """Normal scores of the ranks over all chains and draws (ties averaged), per quantity."""
    flat = x.reshape(-1, *x.shape[2:])
    ranks = rankdata(flat, axis=0)
    return ndtri((ranks - 0.375) / (flat.shape[0] + 0.25)).reshape(x.shape)


def varies(x: np.ndarray) -> np.ndarray:
    """Quantities that are not one constant over every draw (a count before its onset is 0)."""
    return np.ptp(x.reshape(-1, *x.shape[2:]), axis=0) > 0


def ess(x: np.ndarray) -> np.ndarray:
    """Effective sample size over split chains; infinite for a constant."""
    moving = varies(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        result = effective_sample_size(split(np.where(moving, x, 0.0) + 0.0))
    return np.where(moving, result, np.inf)


def rhat(x: np.ndarray) -> np.ndarray:
    """Rank-normalised split R-hat (the larger of the bulk's and the folded tails'); 1 for a constant."""
    moving = varies(x)

    def one(y):
        y = split(rank_normalised(y))
        n = y.shape[1]
        within = y.var(axis=1, ddof=1).mean(axis=0)
        between = n * y.mean(axis=1).var(axis=0, ddof=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.sqrt(((n - 1) / n * within + between / n) / within)
    folded = np.abs(x - np.median(x.reshape(-1, *x.shape[2:]), axis=0))
    with np.errstate(invalid="ignore"):
        result = np.maximum(one(x), np.where(varies(folded), one(folded), 1.0))
    return np.where(moving, result, 1.0)


def bulk_ess(x: np.ndarray) -> np.ndarray:
    return np.where(varies(x), ess(rank_normalised(x)), np.inf)


def indicator_ess(x: np.ndarray, p: float) -> np.ndarray:
    """Effective sample size of the indicator of being at or below the p-quantile."""
    q = np.quantile(x.reshape(-1, *x.shape[2:]), p, axis=0)
    return ess((x <= q).astype(float))


def tail_ess(x: np.ndarray) -> np.ndarray:
    return np.minimum(indicator_ess(x, 0.05), indicator_ess(x, 0.95))


def quantile_mcse(x: np.ndarray, p: float) -> np.ndarray:
    """Monte Carlo standard error of the p-quantile, on x's scale: the indicator's standard
    error sqrt(p(1 - p) / ESS), carried through the draws' own quantile function."""
    flat = np.sort(x.reshape(-1, *x.shape[2:]), axis=0)
    n = flat.shape[0]
    with np.errstate(divide="ignore"):
        se = np.sqrt(p * (1 - p) / indicator_ess(x, p))
    lo = np.clip(np.floor((p - se) * n).astype(int), 0, n - 1)
    hi = np.clip(np.ceil((p + se) * n).astype(int), 0, n - 1)
    take = lambda i: np.take_along_axis(flat, i[None, ...], axis=0)[0]
    return (take(hi) - take(lo)) / 2


def mean_mcse(x: np.ndarray) -> np.ndarray:
    """Monte Carlo standard error of the mean over all draws."""
    sd = x.reshape(-1, *x.shape[2:]).std(axis=0)
    return np.where(varies(x), sd / np.sqrt(ess(x)), 0.0)
