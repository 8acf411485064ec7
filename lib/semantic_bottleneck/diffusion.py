"""DDPM with 1000 linear-beta steps and epsilon prediction: the training loss and per-sample noise.

Sampling (DDIM/DDPM and velocity samplers, with guidance) lives in `sample`.
"""
import torch
import torch.nn.functional as F


class LinearSchedule:
    """DDPM's linear beta schedule (beta from 1e-4 to 0.02 over `num_timesteps` steps)."""

    def __init__(self, num_timesteps=1000, beta_start=1e-4, beta_end=0.02):
        self.num_timesteps = num_timesteps
        self.betas = torch.linspace(beta_start, beta_end, num_timesteps, dtype=torch.float64)
        self.alphas_cumprod = torch.cumprod(1 - self.betas, dim=0)

    def add_noise(self, x0, noise, t):
        """Sample x_t ~ q(x_t | x_0) for integer timesteps t (N,)."""
        a = self.alphas_cumprod.to(x0.device)[t].float().view(-1, 1, 1, 1)  # (N, 1, 1, 1)
        return a.sqrt() * x0 + (1 - a).sqrt() * noise


def training_loss(model, x0, labels, schedule, generator, timestep_pool=None):
    """Epsilon-prediction MSE at uniformly drawn timesteps (from `timestep_pool` when given)."""
    n = x0.shape[0]
    if timestep_pool is None:
        t = torch.randint(0, schedule.num_timesteps, (n,), generator=generator)
    else:
        t = timestep_pool[torch.randint(0, len(timestep_pool), (n,), generator=generator)]
    noise = torch.randn(x0.shape, generator=generator)
    x_t = schedule.add_noise(x0, noise, t)
    return F.mse_loss(model(x_t, t, labels), noise)


def sample_noise(indices, shape, seed):
    """Initial noise (N, *shape), each sample's drawn from its own CPU generator seeded by (seed, index).

    So a sample's noise depends on its global index only: not on the batch size, the number of
    processes or which run (pruned or not) asks for it.
    """
    out = []
    for index in indices:
        g = torch.Generator().manual_seed(int(seed) * 1_000_003 + int(index))
        out.append(torch.randn(shape, generator=g))
    return torch.stack(out)
