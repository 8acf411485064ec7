"""Every setting is checked before any compute (issue 29, item 3): ranges, seeds, the device, models that fit the
chapter, sampler steps, writable folders; and a closed output pipe ends the command quietly."""
import os
import re
import subprocess
import sys

import pytest
import torch

from semantic_bottleneck.__main__ import main
from semantic_bottleneck.book.provenance import start_run
from semantic_bottleneck.cache import CACHE_ENV
from semantic_bottleneck.commands import prune_command
from semantic_bottleneck.condition.reach import RANKINGS
from semantic_bottleneck.settings import SETTINGS, chapters, core, resolve, settings_class
from semantic_bottleneck.study.settings_checks import check_settings
from helpers import dit_state, one_error_line, read_only_mount


def _resolve(notebook, **values):
    return resolve(settings_class(notebook), {"profile": "tiny", **values})[0]


@pytest.mark.parametrize("profile", ["tiny", "ci", "paper"])
def test_every_profile_passes_every_check(profile):
    for cls in SETTINGS.values():
        check_settings(resolve(cls, {"profile": profile})[0])


def test_the_rankings_allowed_are_the_ones_condition_reach_knows():
    assert chapters.RANKINGS == RANKINGS


@pytest.mark.parametrize("notebook,values,message", [
    ("02_sparsity", {"head_fraction": 0.0}, "02_sparsity setting head_fraction must be > 0 and <= 1; got 0.0"),
    ("02_sparsity", {"head_fraction": 1.5}, "02_sparsity setting head_fraction must be > 0 and <= 1; got 1.5"),
    ("05_video_to_audio", {"tail_shares": [0.5, 1.2]}, "setting tail_shares must be >= 0 and <= 1; got [0.5, 1.2]"),
    ("07_mechanisms", {"taus": [float("nan")]}, "07_mechanisms setting taus must be > 0; got [nan]"),
    ("03_pruning", {"last_k": 0}, "03_pruning setting last_k must be >= 1; got 0"),
    ("04_pose_guided", {"shares": [-0.1]}, "04_pose_guided setting shares must be >= 0 and <= 1"),
    ("04_pose_guided", {"parts": ["tail", "middle"]}, "parts must be one of tail, head; got ['tail', 'middle']"),
    ("03_pruning", {"rankings": ["silu", "gain"]}, "setting rankings must be one of magnitude, silu, contribution"),
    ("03_pruning", {"mask_reading": "local"}, "setting mask_reading must be one of per_sample, global; got 'local'"),
    ("06_compute", {"timing_repeats": 0}, "06_compute setting timing_repeats must be >= 1; got 0"),
    ("03_pruning", {"seeds": 1}, "03_pruning setting seeds must be >= 2; got 1 (the noise floor and the 95% "
                                 "intervals of every verdict need two or more seeds)"),
])
def test_a_value_out_of_range_fails_in_one_line_naming_the_setting(notebook, values, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        _resolve(notebook, **values)


def test_device_cuda_without_cuda_names_what_to_use(monkeypatch):
    monkeypatch.setattr(core, "cuda_visible", lambda: False)
    with pytest.raises(ValueError, match="03_pruning setting device is cuda, but no CUDA device is visible; "
                                         "use auto or cpu"):
        _resolve("03_pruning", device="cuda")
    monkeypatch.setattr(core, "cuda_visible", lambda: True)
    assert _resolve("03_pruning", device="cuda").device == "cuda"


@pytest.mark.parametrize("notebook,values,message", [
    ("03_pruning", {"models": ["tiny-pose"]},
     "03_pruning setting models: tiny-pose is conditioned on person pairs; this chapter takes models conditioned on "
     "imagenet classes or shape classes"),
    ("03_pruning", {"models": ["uvit-h"]}, "03_pruning setting models: uvit-h is read for its statistics only"),
    ("03_pruning", {"models": ["tiny-class", "tiny-class"]}, "setting models: tiny-class is named twice"),
    ("03_pruning", {"models": ["tiny-klass"]}, "03_pruning setting models: model must be one of tiny-class,"),
    ("05_video_to_audio", {"model": "tiny-class"}, "05_video_to_audio setting model: tiny-class is conditioned on"),
    ("04_pose_guided", {"presets": ["tiny-pose-ddim-11"]}, "04_pose_guided setting presets: sampler must be one of"),
    ("03_pruning", {"samplers": {"tiny-class": "nope"}}, "03_pruning setting samplers: sampler must be one of"),
    ("03_pruning", {"last_k": 11}, "03_pruning setting last_k must be at most the 10 steps of tiny-class's sampler; "
                                   "got 11"),
    ("03_pruning", {"sweep_k": [1, 12]}, "03_pruning setting sweep_k must be at most the 10 steps"),
])
def test_a_model_or_sampler_that_does_not_fit_the_chapter_fails_in_one_line(notebook, values, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        check_settings(_resolve(notebook, **values))


def test_a_notebook_run_refuses_a_model_that_does_not_fit_before_any_compute():
    with pytest.raises(ValueError, match="03_pruning setting models: tiny-pose is conditioned on person pairs"):
        start_run("03_pruning", {"profile": "tiny", "models": ["tiny-pose"]})


@pytest.fixture
def read_only(monkeypatch):
    return read_only_mount(monkeypatch)


def test_every_output_and_cache_folder_is_checked_writable_first(tmp_path, read_only, monkeypatch):
    frozen = tmp_path / "frozen"
    frozen.mkdir()
    read_only(frozen)
    for name in ("output_dir", "resume_dir", "home"):
        with pytest.raises(ValueError, match=f"03_pruning setting {name}: .* is not writable"):
            _resolve("03_pruning", **{name: str(frozen / "new" / "deeper")})
    (tmp_path / "a-file").write_text("")
    with pytest.raises(ValueError, match="setting output_dir: .*a-file is a file, not a folder"):
        _resolve("03_pruning", output_dir=str(tmp_path / "a-file"))
    monkeypatch.setenv(CACHE_ENV, str(frozen / "cache"))
    with pytest.raises(ValueError, match=re.escape(f"the model cache (${CACHE_ENV}, else .cache in a checkout): ")):
        _resolve("01_similarity")
    assert _resolve("01_similarity", home=str(tmp_path / "home")).home  # a home folder takes the model cache


@pytest.fixture
def nothing_computes(monkeypatch):
    """The prune command fails loudly if it gets as far as starting its process team."""
    def refuse():
        raise AssertionError("the prune command started computing")
    monkeypatch.setattr(prune_command, "join_team", refuse)


@pytest.mark.parametrize("arguments,fragments", [
    (["--model", "tiny-class", "--model", "tiny-class"], ["--model: tiny-class is named twice"]),
    (["--model", "uvit-h"], ["--model: uvit-h is read for its statistics only"]),
    (["--model", "tiny-pose"], ["--model: tiny-pose is conditioned on person pairs"]),
    (["--notebook", "04_pose_guided", "--model", "tiny-class"], ["--model: tiny-class is conditioned on shape"]),
])
def test_prune_refuses_models_that_do_not_fit_before_anything_loads(arguments, fragments, tmp_path, capsys,
                                                                     nothing_computes):
    status = main(["prune", *arguments, "--resume-dir", str(tmp_path / "rows")])
    one_error_line(capsys, status, 2, *fragments)


def test_prune_checks_its_out_folder_and_row_store_before_any_compute(tmp_path, capsys, read_only, nothing_computes):
    frozen = tmp_path / "frozen"
    frozen.mkdir()
    read_only(frozen)
    status = main(["prune", "--resume-dir", str(tmp_path / "rows"), "--out", str(frozen / "rows.csv")])
    one_error_line(capsys, status, 2, "out: ", "is not writable")
    status = main(["prune", "--resume-dir", str(frozen / "rows")])
    one_error_line(capsys, status, 2, "03_pruning setting resume_dir: ", "is not writable")


def test_a_closed_output_pipe_ends_quietly(tmp_path):
    checkpoint = tmp_path / "dit.pt"
    torch.save(dit_state(0), checkpoint)
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the command writes a byte (`... | head -0`)
    try:
        done = subprocess.run([sys.executable, "-m", "semantic_bottleneck", "stats", str(checkpoint), "--family",
                               "dit"], stdout=write, stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write)
    assert done.returncode == 141 and done.stderr == "", done.stderr
