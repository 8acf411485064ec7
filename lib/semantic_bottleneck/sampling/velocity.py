"""The velocity loops of linear-path models: Euler (ODE) and Euler-Maruyama (SDE, REPA's and MG's sampler).

`noise_at` says which end of t in [0, 1] is noise (REPA/MG: 1, SiT and LightningDiT: 0); `time_shift` s maps
the uniform grid t to s t / (1 + (s - 1) t) (LightningDiT: 0.3, more steps near the noise end). The state
is integrated (and recorded for restarts) in float64; the network runs in float32.
"""
import math

import torch

from .noise import step_noise


def velocity_timesteps(config):
    """The float timestep in [0, 1] each step feeds the model, in order."""
    if config.solver == "euler":
        grid = torch.linspace(config.noise_at, 1 - config.noise_at, config.num_steps + 1, dtype=torch.float64)[:-1]
        s = config.time_shift
        return (s * grid / (1 + (s - 1) * grid)).tolist()
    return torch.linspace(1.0, 0.04, config.num_steps, dtype=torch.float64).tolist()


@torch.no_grad()
def velocity_loop(guided, x, conditions, indices, seed, config, first_step, callback, record, bar):
    """Run one batch from step `first_step`; fills `record` {step: x before that step}; returns the final x."""
    channels = x.shape[1]
    grid = velocity_timesteps(config) + [0.0 if config.solver == "euler_maruyama" else 1 - config.noise_at]
    x = x.double()
    for i in range(first_step, config.num_steps):
        t, t_next = grid[i], grid[i + 1]
        if i in record:
            record[i].append(x.cpu())  # float64, so that a run resumed from it is exactly the full run
        if callback is not None:
            callback(i, t)
        v = guided(x.float(), t, conditions)[:, :channels].double()
        dt = t_next - t
        if config.solver == "euler":
            x = x + dt * v
        else:  # linear path x_t = (1 - t) x0 + t eps: score = -(x + (1 - t) v) / t, diffusion w(t) = 2t
            drift = x + (2 - t) * v  # = v - w(t)/2 * score
            x = x + dt * drift
            if i < config.num_steps - 1:
                noise = step_noise(indices, x.shape[1:], seed, i).to(x.device, torch.float64)
                x = x + math.sqrt(2 * t) * math.sqrt(abs(dt)) * noise
        bar.update(1)
    return x.float()
