"""The epsilon-prediction loop (DiT, the tiny DiT): DDIM or DDPM steps through diffusers' schedulers.

1000 linear betas; DDIM uses "trailing" spacing (first step t = 999, the scheduler's own previous-timestep
arithmetic stays exact), DDPM uses DiT's respacing (evenly spaced, 999 ... 0) and its learned variance.
`dpmsolver++` is DPM-Solver++(2M) as MDSGen's inference runs it (dpm_solver_pytorch: discrete schedule, data
prediction, multistep order 2, "time_uniform" steps from t = 999 to 0, no final denoising step), through diffusers'
`DPMSolverMultistepScheduler`; that scheduler feeds integer timesteps, so the official grid 999 - 19.98 k (50 steps)
is rounded to the nearest integer here.
"""
import torch

from .noise import step_seed
from .schedule import dit_respacing


def scheduler(config):
    """The diffusers scheduler of an epsilon-prediction preset, with its timesteps set."""
    from diffusers import DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler

    if config.solver == "dpmsolver++":  # the official sampler lowers the last step's order only below 10 steps
        scheduler = DPMSolverMultistepScheduler(num_train_timesteps=1000, beta_schedule="linear", solver_order=2,
                                                prediction_type="epsilon", algorithm_type="dpmsolver++",
                                                solver_type="midpoint", lower_order_final=config.num_steps < 10,
                                                final_sigmas_type="sigma_min", timestep_spacing="linspace",
                                                thresholding=config.clip_sample, sample_max_value=1.0)  # = clamp x0
        scheduler.set_timesteps(config.num_steps)
        return scheduler
    common = dict(num_train_timesteps=1000, beta_schedule="linear", prediction_type="epsilon",
                  clip_sample=config.clip_sample)
    if config.solver == "ddim":
        scheduler = DDIMScheduler(**common, timestep_spacing="trailing", set_alpha_to_one=True)
        scheduler.set_timesteps(config.num_steps)
    else:
        variance = "learned_range" if config.learned_sigma else "fixed_small"
        scheduler = DDPMScheduler(**common, variance_type=variance)
        scheduler.set_timesteps(timesteps=dit_respacing(config.num_steps))
    return scheduler


def epsilon_timesteps(config):
    """The integer timestep each step feeds the model, in order."""
    return [int(t) for t in scheduler(config).timesteps]


@torch.no_grad()
def epsilon_loop(guided, x, conditions, indices, seed, config, first_step, callback, record, bar):
    """Run one batch from step `first_step`; fills `record` {step: x before that step}; returns the final x."""
    channels = x.shape[1]
    steps = scheduler(config)
    for i, t in enumerate(steps.timesteps):
        if i < first_step:
            continue
        if i in record:
            record[i].append(x.cpu())
        if callback is not None:
            callback(i, int(t))
        out = guided(x, int(t), conditions)
        out = out if config.solver == "ddpm" and config.learned_sigma else out[:, :channels]
        kwargs = {"eta": 0.0, "use_clipped_model_output": config.clip_sample} if config.solver == "ddim" else {
            "generator": [torch.Generator().manual_seed(step_seed(seed, j, i)) for j in indices]}
        kwargs = {} if config.solver == "dpmsolver++" else kwargs  # deterministic: no noise after the first
        x = steps.step(out, t, x, **kwargs).prev_sample
        bar.update(1)
    return x
