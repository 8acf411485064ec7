"""Where a network's parameters and compute are, and what compressing its modulation layers saves, measured.

Parameters and FLOPs are counted from the module layout alone: the network is built on the meta device (no
weights, no memory) and one forward pass of one sample runs under `torch.utils.flop_counter.FlopCounterMode`
(FLOPs = 2 x multiply-adds of matrix products, convolutions and attention; element-wise operations are not
counted). Modules that never run in that pass (MDT's training-only side blocks) are counted apart. The official
X-MDPT forward (trungpx/xmdpt `XMDPT.forward`) also runs every block on the source image's latent tokens, under
`no_grad`, and discards the result at inference; this build's forward skips that pass, so its FLOPs (every block once
more, modulation included) are added to X-MDPT's counts and shown in their own column. Forward times are wall-clock
medians of interleaved repeats, dense and compressed networks taking turns; the time saved comes with the spread
of the paired per-turn savings.
Shapes: N batch, D width of c.
"""
import copy
import functools
import statistics
import time

import pandas as pd
import torch
from torch.utils.flop_counter import FlopCounterMode

from ...condition.compress import compress, compressed_index, modulation_layers
from ...devices import cpu_threads, resolve_device
from ...nets.architectures import build_network
from ...nets.mdsgen import VideoCondition
from ...nets.xmdpt import XMDPT, CrossViewConditioning
from ...registry import architectures
from ...sampling.generate import input_shape, model_output



def official_architectures():
    """The paper's architectures at their released sizes, as the registry's entries configure them: label ->
    network builder (`registry.architectures`)."""
    return {label: functools.partial(build_network, config) for label, config in architectures().items()}


def example_inputs(model, batch, device="meta", generator=None):
    """(x, t, y) for one forward pass: random latents of the model's input shape, timesteps and a condition batch
    of the kind the model reads (class labels, a pose-guided pair, video features)."""
    config, n = model.config, batch
    options = {"device": device} if device == "meta" else {"device": device, "generator": generator}
    x = torch.randn(n, *input_shape(model), **options)
    t = torch.full((n,), 500, device=device)
    if isinstance(model, CrossViewConditioning):
        y = {"pose_tokens": torch.randn(n, config.pose_token_count, config.pose_token_width, **options),
             "source_tokens": torch.randn(n, config.source_token_count, config.source_token_width, **options),
             "source_latent": torch.randn(n, *input_shape(model), **options), "keep": torch.ones(n, device=device)}
    elif isinstance(model, VideoCondition):
        y = {"frames": torch.randn(n, config.frames, config.feature_dim, **options), "keep": torch.ones(n, device=device)}
    else:
        classes = getattr(config, "num_classes", None) or config.num_embeds_ada_norm
        y = torch.randint(0, classes, (n,), device=device, generator=options.get("generator"))
    return x, t, y


def _parameters(modules):
    """Parameters owned directly by `modules` (each counted once)."""
    return sum(p.numel() for m in modules for p in m.parameters(recurse=False))


def layout_costs(build):
    """Parameters and FLOPs of one sample's forward pass of `build()`, built on the meta device: a dict."""
    with torch.device("meta"):
        model = build().eval()
    ran = set()
    handles = [m.register_forward_hook(lambda module, args, out: ran.add(module)) for m in model.modules()]
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model_output(model, *example_inputs(model, 1))
    for handle in handles:
        handle.remove()
    names = {m: name for name, m in model.named_modules()}
    counts = counter.get_flop_counts()
    flops = lambda module: sum(counts.get(f"{type(model).__name__}.{names[module]}", {}).values())  # noqa: E731
    layers = [linear for _, _, linear in modulation_layers(model) if linear in ran]
    source_pass = list(model.blocks) if isinstance(model, XMDPT) else []
    extra = sum(flops(block) for block in source_pass)
    extra_modulation = sum(flops(m) for m in layers if any(m in block.modules() for block in source_pass))
    modulation_flops = sum(flops(m) for m in layers) + extra_modulation
    total_flops = counter.get_total_flops() + extra
    total, modulation = sum(p.numel() for p in model.parameters()), _parameters(layers)
    return {"width D": layers[0].in_features, "modulation layers": len(layers), "parameters (M)": total / 1e6,
            "modulation parameters (M)": modulation / 1e6, "modulation share of parameters": modulation / total,
            "never run at inference (M)": _parameters([m for m in model.modules() if m not in ran]) / 1e6,
            "GFLOP per sample": total_flops / 1e9, "of which source-latent pass (GFLOP)": extra / 1e9,
            "modulation MFLOP per sample": modulation_flops / 1e6,
            "modulation share of FLOPs": modulation_flops / total_flops}


def costs_table(builders):
    """`layout_costs` of every architecture of `builders` (label -> builder), one row each."""
    return pd.DataFrame({label: layout_costs(build) for label, build in builders.items()}).T.rename_axis("architecture")


def skeleton(network):
    """A builder of `network`'s architecture (its class and configuration), for `layout_costs`."""
    return lambda: type(network)(network.config)


def state_bytes(network):
    """Bytes of a network's state dict: its checkpoint's size (a safetensors header adds a few kB)."""
    return sum(t.numel() * t.element_size() for t in network.state_dict().values())


def turn_times(calls, repeats, device="cpu"):
    """Wall times in ms of each call (name -> function of no arguments) in every repeat, after one warm-up: name ->
    list; the calls take turns in every repeat, so a busy machine slows them alike."""
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    times = {name: [] for name in calls}
    for repeat in range(repeats + 1):
        for name, call in calls.items():
            sync()
            start = time.perf_counter()
            call()
            sync()
            if repeat:
                times[name].append(1000 * (time.perf_counter() - start))
    return times


def median_times(calls, repeats, device="cpu"):
    """Median wall time in ms of each call of `turn_times`."""
    return {name: statistics.median(values) for name, values in turn_times(calls, repeats, device).items()}


def saving_quartiles(dense, small):
    """The 25th and 75th percentiles of the paired per-turn savings 1 - small_i / dense_i (lists of ms, same turns).

    Their spread is the time's noise: a network is faster beyond noise when the 25th percentile is above zero (at
    least three quarters of the turns saved time), slower when the 75th is below it."""
    if len(dense) != len(small) or not dense:
        raise ValueError(f"dense and small must hold the same number (>= 1) of turns; got {len(dense)} and "
                         f"{len(small)}")
    savings = sorted(1 - s / d for d, s in zip(dense, small))
    quartiles = statistics.quantiles(savings, n=4, method="inclusive") if len(savings) > 1 else savings * 3
    return quartiles[0], quartiles[2]


def _inputs(network, batch, device, seed):
    """`example_inputs` drawn on the CPU from `seed`, then moved to `device`."""
    inputs = example_inputs(network, batch, "cpu", torch.Generator().manual_seed(seed))
    return tuple({k: v.to(device) for k, v in y.items()} if isinstance(y, dict) else y.to(device) for y in inputs)


@torch.no_grad()
def forward_times(networks, batch, repeats, device="cpu", seed=0):
    """Wall times in ms of one forward pass of each network (name -> network) on the same inputs, per turn
    (`turn_times`)."""
    inputs = _inputs(next(iter(networks.values())), batch, device, seed)
    return turn_times({name: functools.partial(model_output, network, *inputs)
                       for name, network in networks.items()}, repeats, device)


def _modulate(layers, c):
    """Every modulation layer once on c: SiLU then each Linear."""
    return [linear(torch.nn.functional.silu(c)) for linear in layers]


@torch.no_grad()
def modulation_time(network, batches=(1, 8), repeats=20, device="auto", threads=0, seed=0):
    """How much of a forward pass's time the modulation layers take: per batch size N, the median time of the whole
    forward pass and of the modulation layers alone (each `SiLU -> Linear` once on a random c (N, D), as the forward
    pass runs them), timed in turns on `device` with `threads` CPU threads (0: torch's setting)."""
    device = resolve_device(device)
    network = _on(network, device)
    layers = [linear for _, _, linear in modulation_layers(network)]
    rows = {}
    with cpu_threads(threads):
        for batch in batches:
            inputs = _inputs(network, batch, device, seed)
            c = torch.randn(batch, layers[0].in_features, generator=torch.Generator().manual_seed(seed)).to(device)
            times = median_times({"forward": functools.partial(model_output, network, *inputs),
                                  "modulation": functools.partial(_modulate, layers, c)},
                                 repeats, device)
            rows[batch] = {"forward ms": times["forward"], "modulation layers ms": times["modulation"],
                           "modulation share of time": times["modulation"] / times["forward"]}
    return pd.DataFrame(rows).T.rename_axis("batch")


def _sizes(network, width):
    """Kept coordinates, parameters, modulation parameters and checkpoint size of a (compressed) network."""
    index = compressed_index(network)
    layers = [linear for _, _, linear in modulation_layers(network)]
    return {"kept coordinates r": width if index is None else len(index),
            "parameters (M)": sum(p.numel() for p in network.parameters()) / 1e6,
            "modulation parameters (M)": _parameters(layers) / 1e6, "checkpoint (MB)": state_bytes(network) / 1e6}


def _on(network, device):
    """The network itself if it is on `device`, else a copy moved there (a loaded model stays where it is)."""
    return network if next(network.parameters()).device.type == device else copy.deepcopy(network).to(device)


def compression_table(network, kept_masks, batches=(1, 8), repeats=20, device="auto", threads=0):
    """Dense against compressed: parameters, checkpoint size and forward time per batch size, for each kept mask
    (label -> boolean mask (D,)); the dense network is the first row.

    The dense network and every compressed one take turns in each repeat (`forward_times`), so the time saved is
    against the dense time of the same turns; q25 and q75 are the quartiles of the per-turn savings
    (`saving_quartiles`). On `device` (auto: cuda when visible) with `threads` CPU threads
    (0: torch's setting).
    """
    if not kept_masks:
        raise ValueError("kept_masks must hold at least one mask of kept coordinates")
    device = resolve_device(device)
    width = modulation_layers(network)[0][2].in_features
    rows, networks = {"dense": _sizes(network, width)}, {"dense": _on(network, device)}
    for label, kept in kept_masks.items():
        small = compress(network, kept).to(device)  # a fresh copy: moved, not copied again
        rows[label], networks[label] = _sizes(small, width), small
    with cpu_threads(threads):
        for batch in batches:
            turns = forward_times(networks, batch, repeats, device)
            dense = statistics.median(turns["dense"])
            for label, ms in turns.items():
                low, high = saving_quartiles(turns["dense"], ms)
                rows[label].update({f"ms, batch {batch}": statistics.median(ms),
                                    f"time saved, batch {batch}": 1 - statistics.median(ms) / dense,
                                    f"time saved q25, batch {batch}": low, f"time saved q75, batch {batch}": high})
    table = pd.DataFrame(rows).T.rename_axis("network")
    table.insert(4, "parameters saved", 1 - table["parameters (M)"] / table.loc["dense", "parameters (M)"])
    return table


def leading_masks(width, shares):
    """Kept masks (D,) of the first round(share D) coordinates (at least one), labelled like `study.kept_masks`:
    for timing networks with random weights, whose forward time depends on r only."""
    out = {}
    for share in shares:
        r = max(1, round(share * width))
        out[f"keep {100 * share:.3g}% (r = {r})"] = torch.arange(width) < r
    return out


def official_timings(label, shares, batches=(1,), repeats=3, device="auto", threads=0):
    """An official architecture (a label of `official_architectures`) with random weights (built on the CPU), timed:
    its `modulation_time` and its `compression_table` for the kept `shares` (the leading coordinates; the time
    depends on r only)."""
    builders = official_architectures()
    if label not in builders:
        raise ValueError(f"label must be one of {', '.join(builders)}; got {label!r}")
    network = builders[label]().eval()
    width = modulation_layers(network)[0][2].in_features
    times = modulation_time(network, batches, repeats, device, threads)
    return times, compression_table(network, leading_masks(width, shares), batches, repeats, device, threads)
