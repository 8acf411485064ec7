"""DDPM with 1000 linear-beta steps and epsilon prediction: training loss and a CFG sampler."""
import torch
import torch.nn.functional as F
from tqdm import tqdm


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


@torch.no_grad()
def sample_ddim(model, labels, seed, num_steps=50, guidance_scale=4.0, null_label=None,
                schedule=None, indices=None, progress=True, step_callback=None):
    """DDIM (eta=0) sampling with classifier-free guidance on all channels; images (N, C, H, W).

    `step_callback(i, t)` runs before step i with its timestep (used by pruning schedules).
    """
    schedule = schedule or LinearSchedule()
    device = next(model.parameters()).device
    cfg = model.config
    null_label = cfg.num_classes if null_label is None else null_label
    indices = range(len(labels)) if indices is None else indices
    x = sample_noise(indices, (cfg.in_channels, cfg.image_size, cfg.image_size), seed).to(device)
    labels = torch.as_tensor(labels, device=device)
    timesteps = torch.linspace(schedule.num_timesteps - 1, 0, num_steps).round().long()
    a_bar = schedule.alphas_cumprod.to(device)
    for i, t in enumerate(tqdm(timesteps, desc="sampling", disable=not progress, leave=False)):
        if step_callback is not None:
            step_callback(i, int(t))
        t_batch = torch.full((len(labels),), int(t), device=device)
        channels = x.shape[1]  # a learned-variance output's second half is ignored
        if guidance_scale == 1.0:
            eps = model(x, t_batch, labels)[:, :channels]
        else:
            both = model(torch.cat([x, x]), torch.cat([t_batch, t_batch]),
                         torch.cat([labels, torch.full_like(labels, null_label)]))[:, :channels]
            cond, uncond = both.chunk(2)
            eps = uncond + guidance_scale * (cond - uncond)
        a_t = a_bar[t].float()
        a_prev = a_bar[timesteps[i + 1]].float() if i + 1 < num_steps else torch.tensor(1.0, device=device)
        x0 = ((x - (1 - a_t).sqrt() * eps) / a_t.sqrt()).clamp(-1, 1)
        eps = (x - a_t.sqrt() * x0) / (1 - a_t).sqrt()
        x = a_prev.sqrt() * x0 + (1 - a_prev).sqrt() * eps
    return x
