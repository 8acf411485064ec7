"""Profiles and their parameter files, as the book driver and a Colab session read them."""
import re

import pytest

from semantic_bottleneck import profiles


def test_paper_profile_parameters_of_the_pruning_chapter():
    params = profiles.profile_parameters("paper", "03_pruning")
    assert params["profile"] == "paper" and params["samples_per_seed"] == 5000
    assert params["models"] == ["repa-xl", "mg-xl", "lightningdit-xl"]
    assert params["samplers"]["lightningdit-xl"] == "lightningdit-euler-250"


def test_one_rule_wherever_a_notebook_runs_defaults_then_profile_then_overrides():
    from semantic_bottleneck.settings import resolve, settings_class

    settings, sources = resolve(settings_class("03_pruning"), {"profile": "paper", "samples_per_seed": 300, "seed": 7})
    assert settings.samples_per_seed == 5000 and sources["samples_per_seed"] == "profile"  # left at its default
    assert settings.seed == 7 and sources["seed"] == "override" and sources["mask_reading"] == "default"
    assert settings.models == ["repa-xl", "mg-xl", "lightningdit-xl"] and settings.total_samples == 15000
    ci, _ = resolve(settings_class("01_similarity"), {"profile": "ci"})
    assert ci.timestep_points == 6  # `papermill -p profile ci` alone computes with the ci settings


@pytest.mark.parametrize("values,message", [
    ({"sampels_per_seed": 40}, "03_pruning has no setting sampels_per_seed (did you mean samples_per_seed?)"),
    ({"samples_per_seed": "forty"}, "03_pruning setting samples_per_seed must be an integer; got 'forty'"),
    ({"samples_per_seed": 0}, "03_pruning setting samples_per_seed must be >= 1; got 0"),
    ({"device": "gpu"}, "03_pruning setting device must be one of auto, cpu, cuda; got 'gpu'"),
    ({"sweep_k": [1, "2"]}, "03_pruning setting sweep_k must be a list of an integer"),
])
def test_a_bad_setting_fails_before_any_compute_naming_it(values, message):
    from semantic_bottleneck.settings import resolve, settings_class

    with pytest.raises(ValueError, match=re.escape(message)):
        resolve(settings_class("03_pruning"), {"profile": "tiny", **values})


def test_a_typo_in_a_profile_file_names_the_nearest_setting(tmp_path, monkeypatch):
    from semantic_bottleneck.settings import core, settings_class

    (tmp_path / "ci.yaml").write_text("03_pruning:\n  sampels_per_seed: 40\n")
    monkeypatch.setattr(core, "profile_parameters", lambda profile, notebook: profiles.profile_parameters(
        profile, notebook, folder=tmp_path))
    with pytest.raises(ValueError, match="params/ci.yaml section 03_pruning: no setting sampels_per_seed "
                                         r"\(did you mean samples_per_seed\?\)"):
        core.resolve(settings_class("03_pruning"), {"profile": "ci"})


def test_bad_profile_names_the_allowed_ones(tmp_path):
    with pytest.raises(ValueError, match="profile must be one of tiny, ci, paper; got 'gpu'"):
        profiles.profile_parameters("gpu", "03_pruning")
    with pytest.raises(FileNotFoundError, match="has no parameter file"):
        profiles.profile_parameters("ci", "03_pruning", folder=tmp_path)


def test_a_misspelt_section_or_a_key_given_twice_fails_naming_it(tmp_path, monkeypatch):
    from semantic_bottleneck.settings import core, settings_class

    monkeypatch.setattr(core, "profile_sections", lambda profile: profiles.profile_sections(profile, folder=tmp_path))
    (tmp_path / "ci.yaml").write_text("03_prunning:\n  seeds: 2\n")
    with pytest.raises(ValueError, match=re.escape("section 03_prunning that names no chapter (did you mean "
                                                   "03_pruning?)")):
        core.resolve(settings_class("03_pruning"), {"profile": "ci"})
    (tmp_path / "ci.yaml").write_text("03_pruning:\n  seeds: 2\n  seeds: 3\n")
    with pytest.raises(ValueError, match="line 3, column 3: not valid YAML \\(key 'seeds' is given twice\\)"):
        profiles.profile_sections("ci", folder=tmp_path)
