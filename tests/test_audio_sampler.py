"""DPM-Solver++ as MDSGen's inference runs it: the time grid, one step and two by hand, and a whole run against an
independent implementation of the official solver (fractional times, interpolated schedule) on an exact denoiser."""
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from semantic_bottleneck.sampling.epsilon import epsilon_loop, epsilon_timesteps, scheduler
from semantic_bottleneck.sampling.presets import PRESETS, preset

BETAS = np.linspace(1e-4, 0.02, 1000)  # get_named_beta_schedule("linear", 1000)
LOG_ALPHA = 0.5 * np.cumsum(np.log(1 - BETAS))  # log alpha_n of the discrete schedule (alpha_n^2 = alpha-bar_n)


def official_grid(steps):
    """The model input times of the official solver: t in linspace(1, 1/N, steps + 1) -> (t - 1/N) * 1000."""
    return (np.linspace(1.0, 1e-3, steps + 1) - 1e-3) * 1000


def coefficients(n):
    """(alpha, sigma, lambda) at a discrete time n (fractional: log alpha interpolated linearly, as the official)."""
    log_alpha = np.interp(n, np.arange(1000), LOG_ALPHA)
    sigma = np.sqrt(1 - np.exp(2 * log_alpha))
    return np.exp(log_alpha), sigma, log_alpha - np.log(sigma)


def exact_eps(x, n, mean=0.5, scale=0.3):
    """The exact noise prediction for data x0 ~ N(mean, scale^2) per coordinate at discrete time n."""
    alpha, sigma, _ = coefficients(n)
    return sigma * (x - alpha * mean) / (alpha**2 * scale**2 + sigma**2)


def official_dpm_solver_pp(x, steps):
    """DPM-Solver++, multistep, order 2, 'dpmsolver' update, data prediction, time-uniform grid (dpm_solver_pytorch)."""
    grid = official_grid(steps)
    predictions, x = [], np.asarray(x, dtype=np.float64)
    for k in range(steps):
        s, t = grid[k], grid[k + 1]
        alpha_s, sigma_s, lambda_s = coefficients(s)
        alpha_t, sigma_t, lambda_t = coefficients(t)
        predictions.append((x - sigma_s * exact_eps(x, s)) / alpha_s)  # x0 prediction at s
        h = lambda_t - lambda_s
        update = predictions[-1]
        if k > 0:  # second order from the second step on: D1 = (m0 - m1) / r0
            r0 = (lambda_s - coefficients(grid[k - 1])[2]) / h
            update = predictions[-1] + 0.5 * (predictions[-1] - predictions[-2]) / r0
        x = sigma_t / sigma_s * x - alpha_t * np.expm1(-h) * update
    return x


def test_the_grid_is_the_official_one_rounded_to_integer_timesteps():
    config = preset("mdsgen-dpmpp-50")
    ours = np.array(epsilon_timesteps(config))
    assert len(ours) == 50 and ours[0] == 999 and ours[1] == 979
    assert np.abs(ours - official_grid(50)[:-1]).max() <= 0.5 + 1e-9
    assert float(scheduler(config).sigmas[-1]) == pytest.approx(np.sqrt(BETAS[0] / (1 - BETAS[0])), rel=1e-4)  # ends at t=0


def test_the_first_two_steps_are_the_official_formulas():
    config = preset("mdsgen-dpmpp-50")
    steps = scheduler(config)
    x = torch.randn(2, 8, 4, 4, dtype=torch.float64)
    (n0, n1, n2) = [int(t) for t in steps.timesteps[:3]]
    eps0 = torch.as_tensor(exact_eps(x.numpy(), n0))
    x1 = steps.step(eps0, n0, x.float()).prev_sample.double()
    a0, s0, l0 = coefficients(n0)
    a1, s1, l1 = coefficients(n1)
    m0 = (x - s0 * eps0) / a0
    by_hand = s1 / s0 * x - a1 * np.expm1(-(l1 - l0)) * m0  # DPM-Solver-1 (first order), data prediction
    torch.testing.assert_close(x1, by_hand, rtol=1e-4, atol=1e-5)
    eps1 = torch.as_tensor(exact_eps(x1.numpy(), n1))
    x2 = steps.step(eps1, n1, x1.float()).prev_sample.double()
    a2, s2, l2 = coefficients(n2)
    m1 = (x1 - s1 * eps1) / a1
    h, r0 = l2 - l1, (l1 - l0) / (l2 - l1)
    by_hand = s2 / s1 * x1 - a2 * np.expm1(-h) * m1 - 0.5 * a2 * np.expm1(-h) * (m1 - m0) / r0  # 2M, 'dpmsolver'
    torch.testing.assert_close(x2, by_hand, rtol=1e-4, atol=1e-5)


def test_a_whole_run_matches_the_official_solver_up_to_the_rounded_grid():
    config = preset("mdsgen-dpmpp-50")
    x = torch.randn(64, 8, 2, 2, generator=torch.Generator().manual_seed(0))
    guided = lambda x, t, conditions: torch.as_tensor(exact_eps(x.double().numpy(), t), dtype=torch.float32)
    ours = epsilon_loop(guided, x, None, list(range(64)), 0, config, 0, None, {}, SimpleNamespace(update=lambda n: None))
    official = official_dpm_solver_pp(x.numpy(), 50)
    np.testing.assert_allclose(ours.numpy(), official, atol=1e-3)  # measured 2e-4: the grids differ by <= 0.5 step
    assert abs(ours.mean().item() - 0.5) < 0.05 and abs(ours.std().item() - 0.3) < 0.05  # the data distribution


def test_the_video_to_audio_presets():
    mdsgen = PRESETS["mdsgen-dpmpp-50"]
    assert (mdsgen.solver, mdsgen.num_steps, mdsgen.guidance_scale, mdsgen.scale_pow) == ("dpmsolver++", 50, 5.0, 0.01)
    assert mdsgen.scale_at(0) == pytest.approx(5.0) and 4.9 < mdsgen.scale_at(999) < 5.0  # pow 0.01: nearly constant
    for name in ("mdsgen-dpmpp-50", "tiny-v2a-dpmpp-20", "tiny-v2a-dpmpp-10"):
        twin = PRESETS[f"{name}-no-cfg"]
        assert twin.guidance_scale == 1.0 and twin.num_steps == PRESETS[name].num_steps
    assert "dpmsolver++ 50 steps" in mdsgen.describe() and "power-cosine" in mdsgen.describe()
    assert epsilon_timesteps(preset("tiny-v2a-dpmpp-10"))[-1] == 100  # round(999 * 1 / 10)
