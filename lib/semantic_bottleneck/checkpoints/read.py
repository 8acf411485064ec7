"""Read the class table and timestep MLP of a released checkpoint into a `ConditionEmbedding`.

One reader per family. Each opens the file lazily (`files.open_checkpoint`) and copies out only the five
embedder tensors, so a multi-GB checkpoint costs a few MB. Every family's table has a last row for the
null (CFG) class. The five tensors are checked where they enter (`checked_embedder`): tensors, floating point,
finite, shapes that fit together, no all-zero class row; so no statistic downstream is computed from nonsense.
"""
import json
from pathlib import Path

import torch

from ..condition.embedding import ConditionEmbedding
from .families import DIFFUSERS_DIT, DIT, LIGHTNINGDIT, MDT, MG, REPA, SIT, TINY
from .files import CheckpointError, open_checkpoint, require_file

ORIGINAL_KEYS = ("y_embedder.embedding_table.weight", "t_embedder.mlp.0.weight", "t_embedder.mlp.0.bias",
                 "t_embedder.mlp.2.weight", "t_embedder.mlp.2.bias")
_EMB = "transformer_blocks.{}.norm1.emb."
_DIFFUSERS_PARTS = ("class_embedder.embedding_table.weight", "timestep_embedder.linear_1.weight",
                    "timestep_embedder.linear_1.bias", "timestep_embedder.linear_2.weight",
                    "timestep_embedder.linear_2.bias")
DIFFUSERS_KEYS = tuple(_EMB.format(0) + part for part in _DIFFUSERS_PARTS)
_PARTS = ("table", "mlp.0 weight", "mlp.0 bias", "mlp.2 weight", "mlp.2 bias")  # the five tensors, as messages name them


def _layout_hint(keys):
    if DIFFUSERS_KEYS[0] in keys:
        return "it is in the diffusers layout: use family 'diffusers-dit'"
    if ORIGINAL_KEYS[0] in keys:
        return "it is in the original DiT layout: use family dit, sit, repa, mg, mdt or lightningdit"
    return "its first keys are " + ", ".join(list(keys)[:3])


def checked_embedder(path, keys, tensors):
    """The five embedder tensors (table, mlp.0 weight/bias, mlp.2 weight/bias) if c can be formed from them.

    Each must be a floating-point tensor with finite values; the shapes must be (K+1, D) with K >= 2, (D, F),
    (D,), (D, D), (D,); no real class's row may be all zero (its cosine and nPR would be undefined).
    CheckpointError naming the tensor otherwise.
    """
    for key, x in zip(keys, tensors):
        if not isinstance(x, torch.Tensor):
            raise CheckpointError(f"{path}: {key} is a {type(x).__name__}, not a tensor")
        if not x.is_floating_point():
            raise CheckpointError(f"{path}: {key} has dtype {str(x.dtype).replace('torch.', '')}; expected a real "
                                  "floating-point tensor (float16, bfloat16, float32 or float64)")
    table, w1 = tensors[:2]
    rows, d = table.shape if table.ndim == 2 else (0, 0)
    f = w1.shape[1] if w1.ndim == 2 else 0
    shapes = [tuple(x.shape) for x in tensors]
    if rows < 3 or d < 1 or f < 2 or shapes[1:] != [(d, f), (d,), (d, d), (d,)]:
        named = ", ".join(f"{part} {shape}" for part, shape in zip(_PARTS, shapes))
        raise CheckpointError(f"{path} has embedder shapes {named}; expected (K+1, D) with K >= 2, (D, F), (D,), "
                              "(D, D), (D,)")
    for key, x in zip(keys, tensors):
        bad = int((~torch.isfinite(x.float())).sum())  # c is computed in float32
        if bad:
            raise CheckpointError(f"{path}: {key} has {bad} of {x.numel()} values that are not finite in float32 "
                                  "(NaN, inf, or beyond 3.4e38)")
    zero = (table[:-1] == 0).all(dim=1).nonzero().flatten().tolist()  # real classes only: the null row may be 0
    if zero:
        raise CheckpointError(f"{path}: the class table's rows {', '.join(map(str, zero[:5]))}"
                              f"{' ...' if len(zero) > 5 else ''} ({len(zero)} of {table.shape[0] - 1} classes) are "
                              "all zero; cosine and nPR are undefined for them")
    return tensors


def _embedding(opened, keys, family, **extra):
    """Copy the five embedder tensors named by `keys` out of `opened` into a ConditionEmbedding; `family` is the
    layout's `families.Family` record (its name, t0 and time convention go into `info`)."""
    state = opened.tensors
    if keys[0] not in state:
        raise CheckpointError(f"{opened.path} has no class table ({keys[0]}); {_layout_hint(state)}")
    missing = [k for k in keys[1:] if k not in state]
    if missing:
        raise CheckpointError(f"{opened.path} has a class table but no timestep MLP ({missing[0]})")
    tensors = checked_embedder(opened.path, keys, [state[k] for k in keys])
    tensors = [x.detach().clone() for x in tensors]  # copies, so the mmap can close
    info = {"family": family.name, "t0": family.t0, "time_convention": family.time_convention,
            "source": str(opened.path), "weights": opened.weights, "format": opened.fmt,
            "dtype": str(tensors[0].dtype).replace("torch.", ""), **extra}
    return ConditionEmbedding(*[x.float() for x in tensors], freq_shift=0.0, has_null_row=True, info=info)


def _read_original(source, family, **extra):
    return _embedding(open_checkpoint(source), ORIGINAL_KEYS, family, **extra)


def read_dit(source):
    """Read an original DiT checkpoint (`.pt` plain state dict, or under "ema"/"model"; or safetensors)."""
    return _read_original(source, DIT)


def read_sit(source):
    """Read a SiT checkpoint (DiT's key layout; t continuous, 0 = noise)."""
    return _read_original(source, SIT)


def read_repa(source):
    """Read a REPA `last.pt` (SiT layout plus `projectors.*`, maybe under "ema"; t = 1 is noise)."""
    opened = open_checkpoint(source)
    projectors = sum(k.startswith("projectors.") for k in opened.tensors)
    return _embedding(opened, ORIGINAL_KEYS, REPA, projector_tensors=projectors)


def read_mg(source):
    """Read a Model-Guidance SiT checkpoint (`SiT-XL-2-MG.pt`, weights under "ema"; t = 1 is noise)."""
    return _read_original(source, MG)


def _mdt_version(keys):
    if any(k.startswith("en_inblocks.") for k in keys):
        return "v2"
    return "v1" if any(k.startswith("sideblocks.") for k in keys) else "unknown"


def read_mdt(source):
    """Read an MDT v1 or MDTv2 checkpoint (same embedder keys; the version is recorded in `info`)."""
    opened = open_checkpoint(source)
    return _embedding(opened, ORIGINAL_KEYS, MDT, mdt_version=_mdt_version(opened.tensors))


def read_lightningdit(source):
    """Read a LightningDiT checkpoint's tensors (never instantiating its torch.compile'd model)."""
    return _read_original(source, LIGHTNINGDIT)


def _diffusers_file(source):
    """The weights file of a diffusers DiT: a pipeline folder, its `transformer/` folder, or the file."""
    source = Path(source)
    if not source.is_dir():
        return require_file(source)
    folder = source / "transformer" if (source / "transformer").is_dir() else source
    for pattern in ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin",
                    "diffusion_pytorch_model*.safetensors", "diffusion_pytorch_model*.bin"):
        found = sorted(folder.glob(pattern))
        if found:
            return found[0]
    raise CheckpointError(f"{source} has no diffusion_pytorch_model.safetensors or .bin "
                          "(expected a diffusers DiT pipeline or transformer folder)")


def _copies_equal(tensors, keys):
    """Whether the last block's embedder copy equals block 0's (every copy must match; models.md 3.2)."""
    numbers = (k.split(".")[1] for k in tensors if k.startswith("transformer_blocks."))
    last = max(int(n) for n in numbers if n.isdecimal())  # block 0 holds the class table that was read
    other = [k.replace(_EMB.format(0), _EMB.format(last)) for k in keys]
    return all(o in tensors and isinstance(tensors[o], torch.Tensor) and torch.equal(tensors[k], tensors[o])
               for k, o in zip(keys, other))


def read_diffusers_dit(source):
    """Read a diffusers `DiTTransformer2DModel` (folder or its weights file) through block 0's embedder copy.

    diffusers copies the embedder into every block and runs its sinusoid with `downscale_freq_shift=1`
    (frequencies over half-1); c here uses the original DiT formulation (freq_shift 0), which is what the
    converted DiT weights were trained with (models.md section 6.1).
    """
    opened = open_checkpoint(_diffusers_file(source))
    embedding = _embedding(opened, DIFFUSERS_KEYS, DIFFUSERS_DIT)
    embedding.info["embedder_copies_equal"] = _copies_equal(opened.tensors, DIFFUSERS_KEYS)
    return embedding


def _tiny_config(folder):
    """The tiny model configuration stored in `config.json` beside `model.pt`, or None."""
    path = Path(folder) / "config.json"
    if not path.is_file():
        return None
    try:
        config = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError):
        return None
    model = config.get("model") if isinstance(config, dict) else None
    return model if isinstance(model, dict) and "hidden_size" in model and "num_classes" in model else None


def read_tiny(source):
    """Read this project's tiny checkpoint: its cache folder (`model.pt` + `config.json`) or `model.pt`."""
    source = Path(source)
    path = source / "model.pt" if source.is_dir() else source
    return _read_original(path, TINY, config=_tiny_config(path.parent))


READERS = {"dit": read_dit, "sit": read_sit, "repa": read_repa, "mg": read_mg, "mdt": read_mdt,
           "lightningdit": read_lightningdit, "diffusers-dit": read_diffusers_dit, "tiny": read_tiny}


def _family_from_keys(keys, path):
    if DIFFUSERS_KEYS[0] in keys:
        return "diffusers-dit"
    if ORIGINAL_KEYS[0] not in keys:
        raise CheckpointError(f"{path} has no class table ({ORIGINAL_KEYS[0]}); {_layout_hint(keys)}")
    if any(k.startswith("projectors.") for k in keys):
        return "repa"
    if any(k.startswith(("en_inblocks.", "sideblocks.", "decoder_pos_embed")) for k in keys):
        return "mdt"
    if any(k.startswith(("feat_rope.", "blocks.0.mlp.w12.", "blocks.0.norm1.weight")) for k in keys):
        return "lightningdit"
    raise CheckpointError(f"{path} has the plain DiT key layout shared by dit, sit and mg, which differ in time "
                          "convention; pass the family (--family on the command line)")


def detect_family(source):
    """Name of the family a checkpoint file or folder belongs to, from its layout and keys."""
    source = Path(source)
    if not source.exists():
        raise CheckpointError(f"checkpoint {source} does not exist")
    if source.is_dir():
        if (source / "model.pt").is_file() and _tiny_config(source):
            return "tiny"
        _diffusers_file(source)
        return "diffusers-dit"
    if source.name == "model.pt" and _tiny_config(source.parent):
        return "tiny"
    opened = open_checkpoint(source)
    return _family_from_keys(opened.tensors, source)


def read_condition_embedding(source, family=None):
    """Read c's class table and timestep MLP from any supported checkpoint; detect the family if not given."""
    if family is not None and family not in READERS:
        raise CheckpointError(f"family must be one of {', '.join(READERS)} to read c from a file (other families "
                              f"form c by running the network: condition.hooks.CaptureC); got {family!r}")
    return READERS[family or detect_family(source)](source)
