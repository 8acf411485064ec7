"""Read the gain of each coordinate of c (`condition.reach`) from a released checkpoint's modulation weights alone.

c reaches every modulation layer as Linear(SiLU(c)); the gain of coordinate i is the root-sum-square, over those
Linears, of the norm of weight column i (`condition.reach.gains_from_weights`). The keys of those weights, per family
(`MODULATION_KEYS`), are the Linears `condition.reach.modulation_gains` finds in the same network once loaded: every
`adaLN_modulation` that runs at inference (not the training-only side blocks), or in diffusers' DiT every
block's `norm1.linear` and the final `proj_out_1`. The file is opened lazily as the embedding reader opens it
(`files.open_checkpoint`: zip `.pt` memory-mapped, safetensors one tensor at a time) and each weight is reduced to
its column norms (1, D) as it is read, so at most one weight is held in memory, not the network.
"""
from dataclasses import dataclass
from pathlib import Path
import re

import torch

from ..condition.reach import gains_from_weights
from .files import CheckpointError, open_checkpoint
from .read import _diffusers_file, detect_family


@dataclass(frozen=True)
class ModulationKeys:
    """Where a family's modulation weights sit: the blocks' keys and the final layer's key, as patterns."""

    blocks: str  # a key template: {i} a block number, {a,b} one of the block lists
    final: str


def _adaln(*prefixes):
    """The adaLN keys under the block lists `prefixes` and the final layer."""
    joined = prefixes[0] if len(prefixes) == 1 else "{" + ",".join(prefixes) + "}"
    return ModulationKeys(f"{joined}.{{i}}.adaLN_modulation.1.weight", "final_layer.adaLN_modulation.1.weight")


_DIT = _adaln("blocks")
_MDT = _adaln("blocks", "en_inblocks", "en_outblocks", "de_blocks")  # MDT v1, and MDTv2's U-shape
MODULATION_KEYS = {"dit": _DIT, "sit": _DIT, "repa": _DIT, "mg": _DIT, "lightningdit": _DIT, "tiny": _DIT,
                   "mdt": _MDT, "mdsgen": _adaln("blocks"), "xmdpt": _adaln("blocks"),
                   "diffusers-dit": ModulationKeys("transformer_blocks.{i}.norm1.linear.weight", "proj_out_1.weight")}
NO_GAINS = {
    "uvit": "its t and y enter as tokens before the patch tokens, with no modulation Linear",
    "sd3": "its adaLN Linears (norm1.linear, norm1_context.linear, norm_out.linear) are not read by this project",
    "audioldm": "its [t; y] reaches every ResNet's time_emb_proj, which this project does not read",
}


def _pattern(template):
    """A regular expression of a key template: {i} a block number, {a,b} one of the block lists."""
    parts = re.split(r"(\{i\}|\{[^{}]+\})", template)
    out = []
    for part in parts:
        if part == "{i}":
            out.append(r"\d+")
        elif part.startswith("{") and part.endswith("}"):
            out.append("(?:" + "|".join(re.escape(p) for p in part[1:-1].split(",")) + ")")
        else:
            out.append(re.escape(part))
    return re.compile("".join(out) + r"\Z")


def check_family(family):
    """Refuse, with one line, a family whose modulation weights are not read from its file."""
    if family in NO_GAINS:
        raise CheckpointError(f"family {family} has no SiLU-aware gains here: {NO_GAINS[family]}")
    if family not in MODULATION_KEYS:
        raise CheckpointError(f"family must be one of {', '.join(MODULATION_KEYS)} to read modulation gains from its "
                              f"file (models trained here are loaded instead: registry.load_gains); got {family!r}")


def modulation_keys(keys, family, path="the checkpoint"):
    """The keys of a family's modulation weights among `keys` (block weights, then the final layer's), in order.

    CheckpointError naming `path` and the missing pattern when there is no block weight or no final-layer weight.
    """
    check_family(family)
    wanted = MODULATION_KEYS[family]
    blocks = [k for k in keys if _pattern(wanted.blocks).match(k)]
    for pattern, found in ((wanted.blocks, blocks), (wanted.final, [k for k in keys if k == wanted.final])):
        if not found:
            raise CheckpointError(f"{path} has no modulation weight {pattern} (family {family}): the SiLU-aware "
                                  "gains need every modulation Linear's weight")
    return blocks + [wanted.final]


def _column_norms(path, key, weight):
    """The norm of each column of one modulation weight (1, D) in float64; CheckpointError for a damaged one."""
    if not isinstance(weight, torch.Tensor) or not weight.is_floating_point() or weight.ndim != 2:
        kind = f"{weight.dtype} {tuple(weight.shape)}" if isinstance(weight, torch.Tensor) else type(weight).__name__
        raise CheckpointError(f"{path}: {key} is a {kind}; expected a floating-point weight (out, D)")
    norms = weight.double().pow(2).sum(0).sqrt().unsqueeze(0)  # (1, D)
    if not torch.isfinite(norms).all():
        raise CheckpointError(f"{path}: {key} has values that are not finite")
    return norms


def _checkpoint_file(source, family):
    """The weights file of a source: a diffusers folder's or a tiny cache folder's file, or the file itself."""
    if family == "diffusers-dit":
        return _diffusers_file(source)
    if family == "tiny" and source.is_dir():
        return source / "model.pt"
    return source


def read_gains(source, family=None):
    """The gain of each coordinate of c (D,) from a checkpoint's modulation weights (file or folder), read lazily.

    `family` is detected from the keys where the file allows (`read.detect_family`). CheckpointError (one line) for a
    file without the family's modulation weights, a damaged weight, or weights of different input widths.
    """
    source = Path(source)
    family = family or detect_family(source)
    check_family(family)
    opened = open_checkpoint(_checkpoint_file(source, family))
    keys = modulation_keys(list(opened.tensors), family, opened.path)
    norms = [_column_norms(opened.path, key, opened.tensors[key]) for key in keys]  # one weight read at a time
    try:
        return gains_from_weights(norms)  # the norm over several weights of column i: the root-sum-square of its norms
    except ValueError as err:
        raise CheckpointError(f"{opened.path}: modulation weights of family {family}: {err}") from None
