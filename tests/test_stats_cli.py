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
        "unknown family": ([good, "--family", "pixart"], "family must be one of dit, sit, repa"),
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
