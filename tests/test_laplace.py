"""The Laplace approximation that fits packages too large for NUTS: its curvature is the
potential's, its draws follow it, the fit switches to it at the configured size and says
so, a mode it does not reach is refused, and a curvature that is not positive definite is
never drawn from."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import REPO
from estimate.model import equations, fit, laplace, sampler
from estimate.package.outputs import UsageError
from estimate.package.tables import load

CONFIG = fit.load_config()


@pytest.fixture(scope="module")
def full():
    return fit.built_for(load(REPO)[0], CONFIG)


@pytest.fixture(scope="module")
def start(full):
    return equations.whitened_point(full.design, fit.starting_point(full, CONFIG))


def test_the_hessian_is_the_curvature_of_the_potential(full, start):
    design = jax.tree.map(jnp.asarray, full.design)
    exact = np.asarray(laplace.hessian(design, jnp.asarray(start), 4))
    step = 1e-5
    for j in range(0, len(start), max(len(start) // 12, 1)):
        shift = np.zeros(len(start))
        shift[j] = step
        numeric = (laplace.gradient_at(design, start + shift) - laplace.gradient_at(design, start - shift)) / (2 * step)
        assert np.allclose(exact[:, j], numeric, rtol=1e-4, atol=1e-4 * (1 + np.abs(numeric).max())), j


def test_the_draws_are_normal_around_the_mode_with_the_inverse_hessian_as_covariance(full, start):
    design = jax.tree.map(jnp.asarray, full.design)
    a = laplace.settings(CONFIG)
    centre, factor = laplace.mode(design, start, a)
    scaled = np.linalg.solve(factor, laplace.gradient_at(design, centre))
    assert np.sqrt(scaled @ scaled) <= a.mode_distance   # the Newton decrement: how far the mode still is
    chains = laplace.run(full.design, start, np.random.SeedSequence(3), sampler.settings(CONFIG), a)
    assert chains.method == laplace.METHOD and chains.draws.shape[:2] == (CONFIG["sampler"]["chains"], CONFIG["sampler"]["samples"])
    z = np.array([equations.whitened_point(full.design, x) for x in chains.pooled])
    standard = (z - centre) @ factor   # standard normal if the covariance is the Hessian's inverse
    n = len(standard)
    assert np.max(np.abs(standard.mean(axis=0))) < 5 / np.sqrt(n)
    assert np.max(np.abs(np.cov(standard.T) - np.eye(standard.shape[1]))) < 0.1


def test_from_claims_from_claims_on_the_fit_is_the_approximation_and_says_so(full):
    n = len(full.obs)
    at = CONFIG | {"approximation": CONFIG["approximation"] | {"claims_from": n}}
    below = CONFIG | {"approximation": CONFIG["approximation"] | {"claims_from": n + 1}}
    assert laplace.applies(full.design, at) and not laplace.applies(full.design, below)
    approximated = fit.posterior(full, at)
    assert approximated.chains.method == laplace.METHOD
    rows = fit.estimate_rows(approximated, [], at, None).rows
    assert {r["method"] for r in rows} == {laplace.METHOD}
    record = fit.checked_fit("main", approximated, at).record
    assert record["method"] == laplace.METHOD and "integration_steps_per_draw" not in record


def test_a_mode_that_is_not_reached_is_refused_with_what_to_do(full, start):
    design = jax.tree.map(jnp.asarray, full.design)
    impossible = laplace.Settings(**CONFIG["approximation"] | {"mode_distance": 1e-300, "hessians_max": 1})
    with pytest.raises(UsageError) as refused:
        laplace.mode(design, start, impossible)
    assert refused.value.code == "approximation-mode-not-reached"


def test_a_hessian_that_is_not_positive_definite_sends_lbfgs_on_and_never_draws_from_it(full, start, monkeypatch):
    design = jax.tree.map(jnp.asarray, full.design)
    a = laplace.settings(CONFIG)
    real, calls = laplace.precision_factor, []

    def first_is_not_positive_definite(*args):
        calls.append(args[1])
        return None if len(calls) == 1 else real(*args)
    monkeypatch.setattr(laplace, "precision_factor", first_is_not_positive_definite)
    centre, factor = laplace.mode(design, start, a)
    assert len(calls) >= 2
    scaled = np.linalg.solve(factor, laplace.gradient_at(design, centre))
    assert np.sqrt(scaled @ scaled) <= a.mode_distance
    monkeypatch.setattr(laplace, "precision_factor", lambda *args: None)
    with pytest.raises(UsageError) as refused:
        laplace.mode(design, start, a)
    assert refused.value.code == "approximation-curvature-not-positive"


@pytest.mark.refit
def test_nuts_in_the_coordinates_the_hessian_whitens_samples_the_same_posterior(full):
    """The benchmark's reference (metric "hessian") is exact NUTS of the same posterior: the
    mean of every published quantity agrees with the default metric's within Monte Carlo error."""
    by_metric = {}
    for metric in ("prior", "hessian"):
        config = CONFIG | {"sampler": CONFIG["sampler"] | {"metric": metric}}
        x, _ = fit.watched(fit.posterior(full, config), config)
        by_metric[metric] = (x.mean(axis=(0, 1)), sampler.mean_mcse(x))
    (mean_p, error_p), (mean_h, error_h) = by_metric["prior"], by_metric["hessian"]
    varies = (error_p > 0) & (error_h > 0)
    z = np.abs(mean_h - mean_p)[varies] / np.hypot(error_p, error_h)[varies]
    assert varies.sum() > 50 and z.max() < 4.5, z.max()


@pytest.mark.parametrize("section, change, refused", [
    ("sampler", {"metric": "hesian"}, "model-metric-unknown"),
    ("sampler", {"chain": 4}, "model-settings-incomplete"),
    ("approximation", {"claims_form": 2000}, "model-settings-incomplete"),
])
def test_a_misspelt_setting_is_a_sentence_not_a_default(section, change, refused):
    """A metric the sampler does not know once meant "prior" without a word."""
    config = CONFIG | {section: CONFIG[section] | change}
    with pytest.raises(UsageError) as caught:
        (sampler.settings if section == "sampler" else laplace.settings)(config)
    assert caught.value.code == refused and f"[{section}]" in caught.value.message
