"""The model's log density: the JAX code against a plain reference, and masks against the
smaller design they stand for."""

from datetime import date

import numpy as np
import pytest
from scipy.stats import norm

from conftest import REPO
from estimate.model import equations, fit
from estimate.package.tables import load

CONFIG = fit.load_config()
# The revision-aware variant make bench compared on seeds 200 and 300: every claimant bias drifts over time.
DRIFTING = CONFIG | {"drift": CONFIG["drift"] | {"sd": CONFIG["drift"]["variant_sd"]}}
# The variant it compares now: the claimants' bias spread learnt from the claims.
SPREAD = CONFIG | {"bias_spread": CONFIG["bias_spread"] | {"sd": CONFIG["bias_spread"]["variant_sd"]}}
VARIANTS = {"constant biases": CONFIG, "drifting biases": DRIFTING, "learnt bias spread": SPREAD}


@pytest.fixture(scope="module")
def package():
    loaded, _ = load(REPO)
    return loaded


@pytest.fixture(scope="module", params=list(VARIANTS))
def config(request):
    return VARIANTS[request.param]


@pytest.fixture(scope="module")
def full(package, config):
    built = fit.built_for(package, config)
    assert built.design.n_drift == (len(built.layout.bias_keys) if config is DRIFTING else 0)
    assert built.design.n_spread == (config is SPREAD)
    return built


def reference_potential(built: fit.Built, x: np.ndarray, z: np.ndarray) -> float:
    """The model of estimate/model/equations.py's docstring, written out claim by claim with scipy."""
    d, layout = built.design, built.layout
    knots, t = np.zeros(layout.n_knots), 0
    for c, curve in enumerate(layout.curves):
        total = 0.0
        for j in range(layout.knots[curve]):
            total += np.log1p(np.exp(x[t]))
            knots[layout.offsets[c] + 1 + j] = total
            t += 1
    at_knots = np.expm1(np.minimum(knots, equations.MAX_LOG_COUNT))
    counts = [(1 - w) * at_knots[k] + w * at_knots[k + 1] for k, w in layout.probe_rows]
    named = equations.unpack(d, x)
    sigma = CONFIG["noise"]["sigma_floor"] + np.exp(min(named.rho, equations.MAX_RHO))
    share, scale = CONFIG["noise"]["outlier_share"], CONFIG["noise"]["outlier_scale"]
    log_lik = 0.0
    for i, o in enumerate(built.obs):
        ms = []
        for e in np.flatnonzero(np.asarray(d.eval_claim) == i):
            a = sum(s * counts[p] for r, p, s in zip(d.plus_eval, d.plus_probe, d.plus_sign) if r == e)
            b = sum(counts[p] for r, p in zip(d.den_eval, d.den_probe) if r == e)
            ms.append(np.log1p(max(a, 0.0)) - np.log1p(b))
        bias = 0.0
        if d.bias[i] >= 0:
            years = (o.middle - date.fromisoformat(CONFIG["start"][o.subject_id]["date"])).days / 365.25
            bias = named.beta[d.bias[i]] + (named.drift[d.bias[i]] * years if built.layout.drift else 0.0)
        s = np.sqrt(sigma**2 + d.tau[i] ** 2 + np.var(ms))
        mu = np.mean(ms) + bias

        def p(sd):
            if o.exact:
                return norm.pdf(o.lower, mu, sd)
            return norm.cdf(o.upper, mu, sd) - norm.cdf(o.lower, mu, sd)
        log_lik += np.log((1 - share) * p(s) + share * p(scale * s))
    penalty = 0.0
    softness, strength = CONFIG["penalty"]["softness"], CONFIG["penalty"]["strength"]
    for row in range(len(layout.penalty_keys)):
        a = sum(counts[p] for r, p in zip(d.pen_plus_row, d.pen_plus_probe) if r == row)
        b = sum(counts[p] for r, p in zip(d.pen_den_row, d.pen_den_probe) if r == row)
        penalty += strength * softness * np.log1p(np.exp((np.log1p(a) - np.log1p(b)) / softness))
    return -log_lik + penalty + 0.5 * np.sum(z**2)


def test_the_density_is_the_model_written_out_claim_by_claim(full):
    rng = np.random.default_rng(1)
    start = equations.whitened_point(full.design, fit.starting_point(full, CONFIG))
    for _ in range(5):
        z = start + 0.3 * rng.standard_normal(len(start))
        x = np.asarray(equations.position(full.design, z))
        assert float(equations.potential(full.design, z)) == pytest.approx(reference_potential(full, x, z), rel=1e-9)


@pytest.mark.parametrize("za, zb", [(-1.0, 2.0), (0.5, 0.7), (8.0, 9.0), (-9.0, -8.0), (30.0, 31.0), (-31.0, -30.0),
                                     (-0.01, 0.01), (1e-3, 40.0)])
def test_the_mass_of_an_interval_is_the_normal_mass_in_either_tail(za, zb):
    """Mirrored or not, log(Phi(zb) - Phi(za)) keeps its precision far out in either tail."""
    from scipy.special import log_ndtr
    expected = log_ndtr(-za) + np.log(-np.expm1(log_ndtr(-zb) - log_ndtr(-za))) if za > 0 else \
        log_ndtr(zb) + np.log(-np.expm1(log_ndtr(za) - log_ndtr(zb)))
    assert float(equations.log_mass(np.array(za), np.array(zb))) == pytest.approx(expected, rel=1e-12)


def test_whitening_is_a_change_of_variables_and_back(full):
    start = fit.starting_point(full, CONFIG)
    x = start + 0.3 * np.random.default_rng(3).standard_normal(len(start))
    z = equations.whitened_point(full.design, x)
    assert np.allclose(np.asarray(equations.position(full.design, z)), x, atol=1e-10)


def test_a_learnt_spread_multiplies_every_bias_sd_by_one_factor(package):
    """beta = mean + sd e^lambda z, lambda = spread_sd z': the biases' prior, written out."""
    d = fit.built_for(package, SPREAD).design
    z = np.random.default_rng(4).standard_normal(d.n_params)
    w, p = equations.unpack(d, z), equations.unpack(d, np.asarray(equations.position(d, z)))
    factor = np.exp(SPREAD["bias_spread"]["sd"] * w.spread[0])
    assert p.spread[0] == pytest.approx(np.log(factor))
    assert np.allclose(p.beta, np.asarray(d.bias_mean) + np.asarray(d.bias_sd) * factor * w.beta, rtol=1e-12)
    assert set(np.asarray(d.bias_sd)) <= {prior["sd"] for prior in CONFIG["bias"]["neutral"].values()}


def test_the_derivatives_are_finite_far_from_every_claim(full):
    """Far out in a tail, a formula chosen by jnp.where must not leak its neighbour's NaN."""
    import jax
    gradient = jax.jit(jax.grad(equations.potential, argnums=1))
    rng = np.random.default_rng(0)
    start = equations.whitened_point(full.design, fit.starting_point(full, CONFIG))
    for _ in range(100):
        assert np.all(np.isfinite(gradient(full.design, start + 3 * rng.standard_normal(len(start)))))


def test_a_masked_design_is_the_smaller_design_exactly(package, config, full):
    """As of a date, the full design with later claims, knots and rows left out has the
    smaller design's posterior: log density differences between two points agree."""
    obs, unused = fit.observations(package, config, "main", date(2025, 4, 26))
    part = fit.build_design(obs, unused, config, "neutral")
    masked = fit.restricted(full, part)
    index = {k: i for i, k in enumerate(full.layout.parameter_keys())}
    columns = [index[k] for k in part.layout.parameter_keys()]
    rng = np.random.default_rng(2)
    start = fit.starting_point(part, CONFIG)
    points = [start + 0.3 * rng.standard_normal(len(start)) for _ in range(3)]

    def full_point(x_part):
        # The parameters the part lacks at their whitened zero: with a learnt spread, a bias
        # fixed in x would move in z as the spread moves.
        x = np.array(equations.position(masked, np.zeros(full.design.n_params)))
        x[columns] = x_part
        return equations.whitened_point(masked, x)
    smaller = [float(equations.potential(part.design, equations.whitened_point(part.design, x))) for x in points]
    larger = [float(equations.potential(masked, full_point(x))) for x in points]
    assert np.allclose(np.diff(larger), np.diff(smaller), rtol=1e-9, atol=1e-9)
