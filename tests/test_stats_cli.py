"""`python -m semantic_bottleneck stats`: JSON keys and values, the table, and one-line errors with exit code 2."""
import json
import os
from pathlib import Path
import subprocess
import sys

import pytest
import torch

from semantic_bottleneck.__main__ import main
from semantic_bottleneck.commands.stats_command import DEFAULT_TAUS
from helpers import T0, assert_stats_match, dit_state, np_stats, write_checkpoint

PART_KEYS = {"cosine_mean", "cosine_min", "npr", "npr_of_mean", "sparsity"}


def run_json(capsys, *argv):
    """Run the stats command in-process with --json; returns the parsed object."""
    assert main(["stats", *map(str, argv), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("family", ["dit", "sit", "repa", "mg", "mdt", "lightningdit", "diffusers-dit", "tiny"])
def test_json_keys_and_values_at_the_family_t0(family, tmp_path, capsys):
    source, state, _ = write_checkpoint(family, tmp_path, seed=7)
    out = run_json(capsys, source, "--family", family, "--tau", 0.01, 0.02, 0.05, 0.1)
    assert {"family", "t", "dim", "num_classes", "y_plus_t", "y_only", "t_only"} <= set(out)
    assert (out["family"], out["t"], out["dim"], out["num_classes"]) == (family, T0[family], 32, 11)
    assert set(out["y_plus_t"]) == set(out["y_only"]) == PART_KEYS
    assert set(out["y_plus_t"]["sparsity"]) == {"0.01", "0.02", "0.05", "0.1"}
    assert_stats_match(out, np_stats(state, T0[family]))


def test_t_and_default_taus(tmp_path, capsys):
    source, state, _ = write_checkpoint("repa", tmp_path)
    out = run_json(capsys, source, "--t", 0.25)  # family detected from projectors.*
    assert out["family"] == "repa" and out["t"] == 0.25 and out["weights"] == "ema"
    assert set(out["y_only"]["sparsity"]) == {"0.01", "0.02", "0.05"}
    assert_stats_match(out, np_stats(state, 0.25, DEFAULT_TAUS))


def test_registry_name_reads_the_cached_file(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SEMANTIC_BOTTLENECK_WEIGHTS", str(tmp_path))
    (tmp_path / "sit-xl").mkdir()
    torch.save(dit_state(1), tmp_path / "sit-xl" / "SiT-XL-2-256.pt")
    out = run_json(capsys, "sit-xl")
    assert (out["family"], out["model"], out["t"]) == ("sit", "sit-xl", 0.0)


def test_table_output(tmp_path, capsys):
    source, _, _ = write_checkpoint("tiny", tmp_path)
    assert main(["stats", str(source)]) == 0
    out = capsys.readouterr().out
    assert "family   tiny" in out and "y only" in out and "cosine, mean over class pairs" in out
    assert "share of |mean c_i| < 0.05" in out and "nPR of |t_emb| alone" in out


def _bad_cases(tmp):
    good, _, _ = write_checkpoint("dit", tmp)
    (tmp / "noise.pt").write_bytes(os.urandom(300))
    (tmp / "page.pt").write_text("<html><body>Too many users have viewed or downloaded this file</body></html>")
    torch.save({"blocks.0.attn.qkv.weight": torch.zeros(3, 3)}, tmp / "notable.pt")
    return {
        "unknown family": ([good, "--family", "pixart"], "family must be one of tiny, dit, sit, repa"),
        "not a checkpoint": ([tmp / "noise.pt", "--family", "dit"], "not a checkpoint"),
        "html page": ([tmp / "page.pt", "--family", "dit"], "HTML page"),
        "no class table": ([tmp / "notable.pt", "--family", "dit"], "no class table"),
        "tau zero": ([good, "--family", "dit", "--tau", "0"], "tau must be finite and > 0"),
        "tau negative": ([good, "--family", "dit", "--tau", "0.01", "-1"], "tau must be finite and > 0"),
        "missing file": ([tmp / "absent.pt"], "must be an existing checkpoint path or one of tiny-class, "),
        "ambiguous layout": ([good], "pass the family"),
        "not finite t": ([good, "--family", "dit", "--t", "nan"], "t must be an integer in [0, 999] for family dit"),
    }


def test_bad_input_exits_2_with_one_line(tmp_path, capsys):
    for name, (argv, message) in _bad_cases(tmp_path).items():
        assert main(["stats", *map(str, argv)]) == 2, name
        captured = capsys.readouterr()
        assert captured.out == "" and "Traceback" not in captured.err, name
        assert captured.err.count("\n") == 1 and captured.err.startswith("error: ") and message in captured.err, name


def test_command_line_end_to_end(tmp_path):
    good, state, _ = write_checkpoint("mdt", tmp_path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[1] / "lib"), os.environ.get("PYTHONPATH")]))}
    cmd = [sys.executable, "-m", "semantic_bottleneck", "stats"]
    ok = subprocess.run([*cmd, str(good), "--json"], capture_output=True, text=True, env=env, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert_stats_match(json.loads(ok.stdout), np_stats(state, 999, DEFAULT_TAUS))
    bad = subprocess.run([*cmd, str(good), "--family", "dit", "--tau", "-0.5"], capture_output=True, text=True, env=env,
                         timeout=120)
    assert bad.returncode == 2 and bad.stdout == "" and "Traceback" not in bad.stderr
    assert bad.stderr.strip().count("\n") == 0 and "tau must be finite and > 0" in bad.stderr


# ------------------------------------------------------------------------- the SiLU-aware reading beside the paper's

READING_KEYS = {"head_fraction", "inert_below", "head_dims", "npr_magnitude", "npr_silu", "npr_contribution",
                "head_share_magnitude", "head_share_silu", "head_share_contribution", "contribution_head_share",
                "head_overlap", "inert_head"}


@pytest.mark.parametrize("family", ["dit", "mdt", "lightningdit", "diffusers-dit", "repa"])
def test_json_gains_the_silu_aware_reading_of_c_at_t0_with_the_files_gains(family, tmp_path, capsys):
    from semantic_bottleneck.checkpoints.gains import read_gains
    from semantic_bottleneck.condition.reach import reach_summary
    from semantic_bottleneck.registry import load_embedding

    source, state, _ = write_checkpoint(family, tmp_path, seed=5)
    out = run_json(capsys, source, "--family", family, "--head-fraction", 0.25)
    reading = out["silu_reading"]
    assert set(reading) == READING_KEYS and reading["head_fraction"] == 0.25 and reading["head_dims"] == 8
    assert reading["npr_magnitude"] == pytest.approx(out["y_plus_t"]["npr"], abs=1e-6)  # the paper's nPR, same c
    c = load_embedding(source, family=family).c(T0[family])
    expected = reach_summary(c, read_gains(source, family), 0.25)
    assert {k: reading[k] for k in expected} == pytest.approx(expected, abs=1e-6)
    assert_stats_match(out, np_stats(state, T0[family], DEFAULT_TAUS))  # the paper's statistics are unchanged


def test_the_default_head_fraction_is_the_paper_profiles_sparsity_chapters(tmp_path, capsys):
    from semantic_bottleneck.profiles import profile_parameters

    source, _, _ = write_checkpoint("dit", tmp_path)
    reading = run_json(capsys, source, "--family", "dit")["silu_reading"]
    assert reading["head_fraction"] == profile_parameters("paper", "02_sparsity")["head_fraction"]


def test_table_adds_the_silu_aware_lines_after_the_paper_statistics(tmp_path, capsys):
    source, _, _ = write_checkpoint("mg", tmp_path)
    assert main(["stats", str(source), "--family", "mg", "--head-fraction", "0.1"]) == 0
    out = capsys.readouterr().out
    paper, silu = out.split("SiLU-aware reading")
    assert "nPR of |t_emb| alone" in paper and "cosine, mean over class pairs" in paper
    assert "head fraction 0.1" in silu and "k = 4" in silu and "|SiLU(c)|" in silu and "inert |c|-head" in silu


def test_untrained_adaln_zero_gains_give_null_not_nan(tmp_path, capsys):
    source, _, _ = write_checkpoint("tiny", tmp_path)  # DiT's adaLN-Zero init: every modulation weight is 0
    reading = run_json(capsys, source)["silu_reading"]
    assert reading["npr_contribution"] is None and reading["contribution_head_share"] is None
    assert reading["head_overlap"] is None and reading["npr_silu"] > 0


def test_a_file_without_modulation_weights_keeps_the_paper_statistics_and_says_why(tmp_path, capsys):
    state = {k: v for k, v in dit_state(2).items() if "adaLN" not in k}  # an extract of the embedder and blocks
    torch.save(state, tmp_path / "extract.pt")
    out = run_json(capsys, tmp_path / "extract.pt", "--family", "sit")
    assert "blocks.{i}.adaLN_modulation.1.weight" in out["silu_reading"]["unavailable"]
    assert_stats_match(out, np_stats(state, T0["sit"], DEFAULT_TAUS))
    assert main(["stats", str(tmp_path / "extract.pt"), "--family", "sit"]) == 0
    assert "not available: " in capsys.readouterr().out


@pytest.mark.parametrize("value", ["0", "1.5", "nan", "-0.1"])
def test_a_bad_head_fraction_exits_2_with_one_line(value, tmp_path, capsys):
    source, _, _ = write_checkpoint("dit", tmp_path)
    assert main(["stats", str(source), "--family", "dit", "--head-fraction", value]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert captured.err.startswith("error: head fraction (--head-fraction) must be a number in (0, 1]")
