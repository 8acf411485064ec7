"""Helpers shared by the tests: random models, small checkpoints in each official layout written to disk, an
independent numpy reference for the statistics of c, a loopback HTTP server, read-only folders, and the book driver
on throw-away notebooks. (Tests import from here, never from each other.)"""
from argparse import Namespace
import builtins
import contextlib
from dataclasses import asdict
import errno
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import io
import json
import os
import pathlib
import threading

import numpy as np
import pytest
from safetensors.torch import save_file
import torch

from semantic_bottleneck.nets import vavae
from semantic_bottleneck.nets.dit import DiT, DiTConfig
from semantic_bottleneck.nets.lightningdit import LightningDiT, LightningDiTConfig


# ----------------------------------------------------------------------------- random models

def randomize(build, seed=0, std=0.3):
    """`build()` after seeding torch, in eval mode, every parameter redrawn from N(0, std^2); buffers kept."""
    torch.manual_seed(seed)
    model = build().eval()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, std)
    return model


def random_dit(config, seed=0, std=0.3):
    """A random `nets.dit.DiT` of `config`."""
    return randomize(lambda: DiT(config), seed, std)


SMALL_LIGHTNING = LightningDiTConfig(image_size=4, patch_size=1, in_channels=6, hidden_size=32, depth=2, num_heads=2,
                                     num_classes=5)
SMALL_DECODER = vavae.DecoderConfig(z_channels=6, base_channels=32, channel_mult=(1, 2), num_res_blocks=1,
                                    attention_levels=(1,))


def random_lightningdit(config=SMALL_LIGHTNING, seed=0, std=0.2):
    """A LightningDiT with every parameter random (adaLN-Zero would make c irrelevant); RoPE buffers kept."""
    return randomize(lambda: LightningDiT(config), seed, std)


def random_decoder(config=SMALL_DECODER, seed=0):
    """A small LDM decoder with every parameter random."""
    return randomize(lambda: vavae.Decoder(config), seed, 0.1)


def write_vavae(folder, seed=0, stats=None):
    """A small VA-VAE tokenizer file in its training layout (encoder, loss, decoder) and a latents_stats.pt."""
    decoder = random_decoder(seed=seed)
    torch.manual_seed(seed)
    post = torch.nn.Conv2d(6, 6, 1)
    state = {"encoder.conv_in.weight": torch.randn(32, 3, 3, 3), "loss.logvar": torch.zeros(()),
             "post_quant_conv.weight": post.weight.detach(), "post_quant_conv.bias": post.bias.detach(),
             **{"decoder." + k: v for k, v in decoder.state_dict().items()}}
    folder.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": state, "global_step": 10}, folder / "vavae.pt")
    stats = stats if stats is not None else {"mean": torch.randn(1, 6, 1, 1), "std": torch.rand(1, 6, 1, 1) + 0.5}
    torch.save(stats, folder / "latents_stats.pt")
    return folder / "vavae.pt", folder / "latents_stats.pt", decoder, post, stats


# ----------------------------------------------------------------------------- checkpoints in official layouts

D, K, F = 32, 11, 256  # width of c, real classes (the table has K + 1 rows), sinusoid width
TAUS = (0.01, 0.02, 0.05, 0.1)
EMBEDDER = ("y_embedder.embedding_table.weight", "t_embedder.mlp.0.weight", "t_embedder.mlp.0.bias",
            "t_embedder.mlp.2.weight", "t_embedder.mlp.2.bias")
T0 = {"dit": 999, "sit": 0.0, "repa": 1.0, "mg": 1.0, "mdt": 999, "lightningdit": 0.0, "diffusers-dit": 999,
      "tiny": 999}


# ----------------------------------------------------------------------------- independent numpy reference

def np_time(tensors, t):
    """t_emb(t) with DiT's formula: [cos, sin] of t * 10000^(-i/128), Linear, SiLU, Linear (float64)."""
    w1, b1, w2, b2 = (tensors[k].double().numpy() for k in EMBEDDER[1:])
    args = t * np.exp(-np.log(10000.0) * np.arange(F // 2) / (F // 2))
    h = w1 @ np.concatenate([np.cos(args), np.sin(args)]) + b1
    return w2 @ (h / (1.0 + np.exp(-h))) + b2


def np_vector_stats(v, taus=TAUS):
    """Cosine mean/min over distinct pairs, nPR averaged over rows, nPR of the mean row, sparsity of the mean."""
    unit = v / np.linalg.norm(v, axis=1, keepdims=True)
    cos = (unit @ unit.T)[~np.eye(len(v), dtype=bool)]
    a = np.abs(v)
    npr = (a.sum(1) ** 2 / (a**2).sum(1)) / v.shape[1]
    m = np.abs(v.mean(0))
    return {"cosine_mean": cos.mean(), "cosine_min": cos.min(), "npr": npr.mean(),
            "npr_of_mean": m.sum() ** 2 / (m**2).sum() / v.shape[1],
            "sparsity": {format(tau, "g"): float((m < tau).mean()) for tau in taus}}


def np_stats(tensors, t, taus=TAUS):
    """Every statistic of the stats command for y + t, y alone and t alone, from the raw tensors."""
    y = tensors[EMBEDDER[0]].double().numpy()[:K]  # the null row (last) excluded
    temb = np_time(tensors, t)
    a = np.abs(temb)
    return {"y_plus_t": np_vector_stats(y + temb, taus), "y_only": np_vector_stats(y, taus),
            "t_only": {"npr": a.sum() ** 2 / (a**2).sum() / D}}


def assert_stats_match(got, expected):
    """Compare a checkpoint_stats / --json dict with np_stats."""
    for part in ("y_plus_t", "y_only"):
        for key in ("cosine_mean", "cosine_min", "npr", "npr_of_mean"):
            assert got[part][key] == pytest.approx(expected[part][key], abs=2e-5), (part, key)
        assert got[part]["sparsity"] == expected[part]["sparsity"], part
    assert got["t_only"]["npr"] == pytest.approx(expected["t_only"]["npr"], abs=2e-5)


# ----------------------------------------------------------------------------- checkpoints in official layouts

def embedder(seed):
    """The five embedder tensors; the null row is large so that counting it would change every statistic."""
    g = torch.Generator().manual_seed(seed)
    table = 0.02 * torch.randn(K + 1, D, generator=g)
    table[K] = 3.0 * torch.randn(D, generator=g)
    return {EMBEDDER[0]: table, EMBEDDER[1]: 0.02 * torch.randn(D, F, generator=g),
            EMBEDDER[2]: 0.01 * torch.randn(D, generator=g), EMBEDDER[3]: 0.1 * torch.randn(D, D, generator=g),
            EMBEDDER[4]: 0.01 * torch.randn(D, generator=g)}


def blocks(prefix, n, d=D):
    """Per-block DiT tensors (attention, MLP, adaLN) under `prefix.i.`."""
    out = {}
    for i in range(n):
        b = f"{prefix}.{i}."
        out.update({b + "attn.qkv.weight": torch.randn(3 * d, d), b + "attn.qkv.bias": torch.randn(3 * d),
                    b + "attn.proj.weight": torch.randn(d, d), b + "mlp.fc1.weight": torch.randn(4 * d, d),
                    b + "mlp.fc2.weight": torch.randn(d, 4 * d), b + "adaLN_modulation.1.weight": torch.randn(6 * d, d),
                    b + "adaLN_modulation.1.bias": torch.randn(6 * d)})
    return out


def dit_state(seed, out_channels=8):
    """A DiT/SiT-layout state dict: embedder, patch embed, pos_embed, 2 blocks, final layer."""
    return {**embedder(seed), "x_embedder.proj.weight": torch.randn(D, 4, 2, 2), "x_embedder.proj.bias": torch.randn(D),
            "pos_embed": torch.randn(1, 16, D), **blocks("blocks", 2),
            "final_layer.linear.weight": torch.randn(4 * out_channels, D),
            "final_layer.adaLN_modulation.1.weight": torch.randn(2 * D, D)}


def mdt_state(seed, version):
    """An MDT v1 (blocks + sideblocks) or v2 (en_inblocks/en_outblocks/de_blocks + sideblocks) state dict."""
    base = {k: v for k, v in dit_state(seed).items() if not k.startswith("blocks.")}
    extra = {"decoder_pos_embed": torch.randn(1, 16, D), "mask_token": torch.randn(1, 1, D), **blocks("sideblocks", 1)}
    if version == "v1":
        return {**base, **extra, **blocks("blocks", 2), "blocks.0.attn.rel_pos_bias.relative_position_bias_table":
                torch.randn(52, 2)}
    return {**base, **extra, **blocks("en_inblocks", 1), **blocks("en_outblocks", 1), **blocks("de_blocks", 1),
            "en_outblocks.0.skip_linear.weight": torch.randn(D, 2 * D)}


def lightningdit_state(seed):
    """A LightningDiT-layout state dict: RMSNorm weights, SwiGLU w12/w3, RoPE buffers, 32-channel patch 1."""
    state = {k: v for k, v in dit_state(seed, out_channels=32).items() if ".mlp.fc" not in k}
    for i in range(2):
        state.update({f"blocks.{i}.norm1.weight": torch.ones(D), f"blocks.{i}.norm2.weight": torch.ones(D),
                      f"blocks.{i}.mlp.w12.weight": torch.randn(4 * D, D), f"blocks.{i}.mlp.w3.weight": torch.randn(D, 2 * D)})
    state.update({"x_embedder.proj.weight": torch.randn(D, 32, 1, 1), "feat_rope.freqs_cos": torch.randn(256, 8),
                  "feat_rope.freqs_sin": torch.randn(256, 8), "final_layer.norm_final.weight": torch.ones(D)})
    return state


def perturbed(state):
    """Another weight set of the same keys (the raw "model" beside "ema")."""
    return {k: v + 1.0 for k, v in state.items()}


def write_checkpoint(family, folder, seed=0):
    """Write a small checkpoint of `family` in its official layout; returns (source, embedder tensors, weights)."""
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{family}.pt"
    if family in ("dit", "sit"):
        state = dit_state(seed)
        torch.save(state, path)
        return path, state, "state dict"
    if family == "repa":  # trainer checkpoint: model/ema/opt/args/steps; projectors after block 8 in the real one
        state = {k: v for k, v in dit_state(seed, out_channels=4).items()}
        state.update({"projectors.0.0.weight": torch.randn(64, D), "projectors.0.2.weight": torch.randn(64, 64),
                      "projectors.0.4.weight": torch.randn(24, 64)})
        torch.save({"model": perturbed(state), "ema": state, "opt": {"state": {}, "param_groups": [{"lr": 1e-4}]},
                    "args": Namespace(model="SiT-XL/2", encoder_depth=8), "steps": 4000000}, path)
        return path, state, "ema"
    if family == "mg":  # EMA weights as saved from a DDP-wrapped model ("module." prefix)
        state = dit_state(seed, out_channels=4)
        torch.save({"ema": {"module." + k: v for k, v in state.items()}, "args": Namespace(cfg_scale=1.0)}, path)
        return path, state, "ema"
    if family in ("mdt", "mdt-v1"):
        state = mdt_state(seed, "v2" if family == "mdt" else "v1")
        torch.save(state, path)
        return path, state, "state dict"
    if family == "lightningdit":
        state = lightningdit_state(seed)
        torch.save({"model": perturbed(state), "ema": state, "opt": {},
                    "config": {"model": {"model_type": "LightningDiT-XL/1"}, "transport": {"timestep_shift": 0.3}}},
                   path)
        return path, state, "ema"
    if family == "diffusers-dit":  # weights file alone: the embedder copied into each block
        state = embedder(seed)
        names = ("class_embedder.embedding_table.weight", "timestep_embedder.linear_1.weight",
                 "timestep_embedder.linear_1.bias", "timestep_embedder.linear_2.weight", "timestep_embedder.linear_2.bias")
        flat = {f"transformer_blocks.{i}.norm1.emb.{n}": state[k].clone() for i in range(2) for n, k in zip(names, EMBEDDER)}
        flat.update({"transformer_blocks.0.norm1.linear.weight": torch.randn(6 * D, D), "proj_out_1.weight": torch.randn(2 * D, D)})
        path = folder / "diffusion_pytorch_model.safetensors"
        save_file(flat, str(path))
        return path, state, "state dict"
    if family == "tiny":  # this project's cache folder: model.pt + config.json
        torch.manual_seed(seed)
        config = DiTConfig(image_size=8, patch_size=2, hidden_size=D, depth=2, num_heads=2, num_classes=K)
        state = DiT(config).state_dict()
        state["y_embedder.embedding_table.weight"] = embedder(seed)[EMBEDDER[0]]
        torch.save(state, folder / "model.pt")
        (folder / "config.json").write_text(json.dumps({"model": asdict(config), "steps": 10}))
        return folder, state, "state dict"
    raise AssertionError(family)


# ----------------------------------------------------------------------------- executing a notebook

def execute_under_ci(name):
    """Execute notebook `name` under the `ci` profile through the book's driver (its folders: the `build_dirs`
    fixture); check it ran and that every number of its results table is a `ci` number. Returns that table."""
    import pandas as pd
    from semantic_bottleneck.book import driver as book

    outcome = book.execute(name, "ci", force=True)
    assert outcome.status == "executed", outcome.error
    results = pd.read_csv(book.RESULTS / f"{name}.csv")
    assert set(results["profile"]) == {"ci"} and results["value"].notna().all()
    return results


# ----------------------------------------------------------------------------- a notebook's parameters

def study_params(**values):
    """The pruning chapter's settings a study test reads (`study.protocol.run_study`, `chapters.pruning.rows`)."""
    from semantic_bottleneck.settings import SETTINGS

    defaults = dict(profile="paper", samples_per_seed=10, seeds=2, batch_size=256, device="cpu", last_k=1,
                    other_reading_rows=False, branch_rows=False, sweep_tail_fractions=[], sweep_head_dims=[], sweep_k=[],
                    rankings=[], ranking_rows=[])
    return SETTINGS["03_pruning"](**{**defaults, **values})


def small_judge(num_classes=5, image_size=16, references=40, kid_subsets=5, kid_subset_size=10):
    """A judge on a small random evaluation classifier against random reference images (for protocol tests)."""
    from semantic_bottleneck.judge.features import ClassifierAgreement, ClassifierFeatures
    from semantic_bottleneck.judge.metrics import Judge, Reference
    from semantic_bottleneck.tiny.classes.classifier import ClassifierConfig, EvalClassifier

    torch.manual_seed(0)
    extractor = ClassifierFeatures(EvalClassifier(ClassifierConfig(width=4, num_classes=num_classes)).eval())
    reference = Reference.from_features(extractor(torch.rand(references, 3, image_size, image_size) * 2 - 1)[0], "random")
    return Judge(extractor, ClassifierAgreement(), reference, kid_subsets=kid_subsets, kid_subset_size=kid_subset_size)


# ----------------------------------------------------------------------------- a local HTTP server (127.0.0.1 only)

HTML_PAGE = b"<!DOCTYPE html><html><head><title>Google Drive - Quota exceeded</title></head><body>...</body></html>"


def checkpoint_bytes():
    """A small zip-format torch checkpoint, as bytes."""
    buffer = io.BytesIO()
    torch.save({"y_embedder.embedding_table.weight": torch.randn(12, 8), "t_embedder.mlp.0.weight": torch.randn(8, 256)},
               buffer)
    return buffer.getvalue()


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        self.server.hits.append(self.path)
        body = self.server.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html" if body.startswith(b"<") else "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        held = self.server.hold.get(self.path)
        if held is None:
            self.wfile.write(body)
            return
        self.wfile.write(body[: len(body) // 2])  # then stall until the test releases the event
        self.wfile.flush()
        held.wait(10)
        try:
            self.wfile.write(body[len(body) // 2:])
        except OSError:
            pass  # the client is gone

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def local_server(files):
    """A loopback HTTP server serving `files` (path -> bytes): `server.hits` lists the requested paths,
    `server.url(path)` builds a URL, `server.hold[path] = threading.Event()` stalls that response halfway until set."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.files, httpd.hits, httpd.hold = dict(files), [], {}
    httpd.url = lambda path: f"http://127.0.0.1:{httpd.server_address[1]}{path}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        for event in httpd.hold.values():
            event.set()
        httpd.shutdown()
        httpd.server_close()


# ----------------------------------------------------------------------------- faults: read-only folders, one-line errors

def read_only_mount(monkeypatch):
    """A function `freeze(folder)` that makes a folder behave like a read-only mount: every create, write, rename or
    delete under it fails with EROFS (root ignores permission bits, so chmod cannot show this)."""
    frozen = []
    real_open, real_os_open = io.open, os.open

    def blocked(*paths):
        full = [os.path.abspath(os.fsdecode(p)) for p in paths]
        return any(p == f or p.startswith(f + os.sep) for p in full for f in frozen)

    def refuse(path):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fsdecode(path))

    def os_open(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND) and blocked(path):
            refuse(path)
        return real_os_open(path, flags, *args, **kwargs)

    def any_open(file, mode="r", *args, **kwargs):
        if isinstance(file, (str, bytes, os.PathLike)) and set(mode) & set("wax+") and blocked(file):
            refuse(file)
        return real_open(file, mode, *args, **kwargs)

    def one_path(real, refused_if_present):
        """`real` refused under a frozen folder, except where the real call fails anyway (a folder that exists
        for mkdir, a file that is absent for unlink), as on a read-only mount."""
        def guarded(path, *args, **kwargs):
            if blocked(path) and os.path.lexists(path) == refused_if_present:
                refuse(path)
            return real(path, *args, **kwargs)
        return guarded

    def two_paths(real):
        def guarded(src, dst, *args, **kwargs):
            if blocked(src, dst):
                refuse(dst)
            return real(src, dst, *args, **kwargs)
        return guarded

    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(io, "open", any_open)
    monkeypatch.setattr(builtins, "open", any_open)
    monkeypatch.setattr(os, "mkdir", one_path(os.mkdir, refused_if_present=False))
    for name in ("unlink", "remove"):
        monkeypatch.setattr(os, name, one_path(getattr(os, name), refused_if_present=True))
    for name in ("replace", "rename"):
        monkeypatch.setattr(os, name, two_paths(getattr(os, name)))
    return lambda folder: frozen.append(os.path.abspath(folder))


def files_under(folder):
    """Every file under a folder, relative names (a left-over `.part` or `.tmp` shows up here)."""
    return sorted(str(p.relative_to(folder)) for p in pathlib.Path(folder).rglob("*") if p.is_file())


def one_error_line(capsys, status, expected_status, *fragments):
    """Assert a command ended with `expected_status` and one `error: ...` line holding every fragment."""
    captured = capsys.readouterr()
    err_lines = [line for line in captured.err.splitlines() if not line.startswith("warning: ")]
    assert status == expected_status, captured.err
    assert "Traceback" not in captured.err and len(err_lines) == 1 and err_lines[0].startswith("error: "), captured.err
    for fragment in fragments:
        assert fragment in err_lines[0], (fragment, err_lines[0])
    return captured


# ----------------------------------------------------------------------------- the book driver on throw-away notebooks

def write_notebook(path, code_cells=("pass",)):
    """A small notebook: a `parameters` cell (profile, output_dir, value = 1), then one code cell per string."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    params = nbformat.v4.new_code_cell('profile = "tiny"\noutput_dir = "results"\nvalue = 1')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params] + [nbformat.v4.new_code_cell(c) for c in code_cells]
    nbformat.write(nb, path)


def book_sandbox(folder, monkeypatch, params_yaml):
    """Point the book driver at empty notebooks/ and book/ folders under `folder`, and params/ci.yaml = `params_yaml`."""
    from semantic_bottleneck.book import driver as book
    from semantic_bottleneck.profiles import PARAMS_ENV

    folder = pathlib.Path(folder)
    for name in ("notebooks", "params"):
        (folder / name).mkdir()
    (folder / "params" / "ci.yaml").write_text(params_yaml)
    monkeypatch.setattr(book, "NOTEBOOKS", folder / "notebooks")
    monkeypatch.setenv(PARAMS_ENV, str(folder / "params"))
    for attr, sub in [("EXECUTED", "book/executed"), ("RESULTS", "book/executed/results"),
                      ("STAMPS", "book/executed/stamps"), ("FAILED", "book/_build/failed")]:
        monkeypatch.setattr(book, attr, folder / sub)
    return folder


# ----------------------------------------------------------------------------- video to audio: stand-ins in official layouts

def hf_snapshot_folder(root, repo):
    """The snapshot folder an offline Hugging Face cache under `root` resolves `repo` at revision main to."""
    folder = pathlib.Path(root) / "hub" / f"models--{repo.replace('/', '--')}"
    revision = "0" * 40
    (folder / "refs").mkdir(parents=True, exist_ok=True)
    (folder / "refs" / "main").write_text(revision)
    snapshot = folder / "snapshots" / revision
    snapshot.mkdir(parents=True, exist_ok=True)
    return snapshot


def random_mdsgen(hidden=32, depth=2, heads=2, decode_layer=1, seed=0):
    """An MDSGen with the official token grid (102 x 8) and conditioning path but a small width, all weights random."""
    from semantic_bottleneck.nets.mdsgen import MDSGen, MDSGenConfig

    config = MDSGenConfig(hidden_size=hidden, depth=depth, num_heads=heads, decode_layer=decode_layer)
    return randomize(lambda: MDSGen(config), seed, 0.05)


def write_cavp(folder, count, frames=40, seed=0):
    """`count` CAVP feature files in Diff-Foley's layout (`arr_0`: frames x 512 float32); returns their paths."""
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(count):
        paths.append(folder / f"clip{i:02d}.npz")
        np.savez(paths[-1], rng.normal(size=(frames, 512)).astype(np.float32))
    return paths


def write_audioldm(snapshot, seed=0):
    """AudioLDM's two parts as small random stand-ins of the same classes: `vae/` (1 -> 8 channels, factor 4) and
    `vocoder/` (SpeechT5HifiGan, 64 mel bands, 160 samples per frame, AudioLDM's kernel sizes)."""
    from diffusers import AutoencoderKL
    from transformers import SpeechT5HifiGan, SpeechT5HifiGanConfig

    torch.manual_seed(seed)
    AutoencoderKL(in_channels=1, out_channels=1, down_block_types=("DownEncoderBlock2D",) * 3,
                  up_block_types=("UpDecoderBlock2D",) * 3, block_out_channels=(8, 8, 8), layers_per_block=1,
                  latent_channels=8, norm_num_groups=4, sample_size=64).save_pretrained(pathlib.Path(snapshot) / "vae")
    config = SpeechT5HifiGanConfig(model_in_dim=64, sampling_rate=16000, upsample_initial_channel=32,
                                   upsample_rates=[5, 4, 2, 2, 2], upsample_kernel_sizes=[16, 16, 8, 4, 4],
                                   resblock_kernel_sizes=[3], resblock_dilation_sizes=[[1, 3]], normalize_before=False)
    SpeechT5HifiGan(config).save_pretrained(pathlib.Path(snapshot) / "vocoder")


def write_ast(snapshot, seed=0):
    """A small random AST audio classifier (527 AudioSet classes) and the default AST feature extractor."""
    from transformers import ASTConfig, ASTFeatureExtractor, ASTForAudioClassification

    torch.manual_seed(seed)
    ASTForAudioClassification(ASTConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                                        intermediate_size=64, num_labels=527)).save_pretrained(snapshot)
    ASTFeatureExtractor().save_pretrained(snapshot)


# ----------------------------------------------------------------------------- pose-guided (X-MDPT) condition batches

def random_pose_batch(config, n, seed=0):
    """A random X-MDPT condition batch for a `nets.xmdpt` config: pose and source tokens, source latent, keep = 1."""
    g = torch.Generator().manual_seed(seed)
    side = config.image_size
    return {"pose_tokens": torch.randn(n, config.pose_token_count, config.pose_token_width, generator=g),
            "source_tokens": torch.randn(n, config.source_token_count, config.source_token_width, generator=g),
            "source_latent": torch.randn(n, config.in_channels, side, side, generator=g), "keep": torch.ones(n)}


# ----------------------------------------------------------------------------- several processes (torch.distributed)

def on_gloo(fn, size, *args):
    """Run `fn(team, *args)` in `size` spawned processes joined by gloo on this machine, each given its
    `study.distributed.Team` (`fn` at module level, so that it pickles); an exception in any of them is raised here."""
    import socket

    import torch.multiprocessing as mp

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mp.spawn(_gloo_process, args=(size, port, fn, args), nprocs=size)


def _gloo_process(rank, size, port, fn, args):
    """One process of `on_gloo`: join the group on one thread, run `fn`, leave the group."""
    import torch.distributed as dist

    from semantic_bottleneck.study.distributed import Team

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=size)
    try:
        fn(Team(size, rank), *args)
    finally:
        dist.destroy_process_group()


def execute_under_paper_profile(tmp_path, monkeypatch, notebook, section):
    """Execute `notebook` under the `paper` profile offline, with `section` as its paper.yaml parameters, the weights
    cache in tmp_path/weights and the Hugging Face cache in tmp_path/hf; its results table (asserts it executed)."""
    import pandas as pd
    import yaml
    from semantic_bottleneck.book import driver as book
    from semantic_bottleneck.checkpoints.download import CACHE_ENV
    from semantic_bottleneck.profiles import PARAMS_ENV

    params = tmp_path / "params"
    params.mkdir()
    (params / "paper.yaml").write_text(yaml.safe_dump({notebook: section}))
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "weights"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv(PARAMS_ENV, str(params))
    outcome = book.execute(notebook, "paper", force=True)
    assert outcome.status == "executed", outcome.error
    return pd.read_csv(book.RESULTS / f"{notebook}.csv")


class Answers:
    """A pose pair source whose answers are given images, and whose pairs are the test split's."""

    def __init__(self, answers, split="test"):
        self.stored, self.split = answers, split

    def answers(self, indices):
        return self.stored[list(indices)]

    def pairs(self, indices):
        from semantic_bottleneck.tiny.people import bodies

        return bodies.split_pairs(self.split, indices)
