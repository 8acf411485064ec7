"""DDPM's noise schedule (1000 linear betas) and DiT's respacing of it for fewer sampling steps."""
import torch


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


def dit_respacing(num_steps, train_steps=1000):
    """DiT's respaced timesteps for `num_steps` steps, descending: round(i (T-1)/(n-1)) for i = n-1 .. 0."""
    if num_steps == 1:
        return [train_steps - 1]
    return [round(i * (train_steps - 1) / (num_steps - 1)) for i in range(num_steps)][::-1]
