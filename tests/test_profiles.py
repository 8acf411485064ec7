"""Profiles and their parameter files, as the book driver and a Colab session read them."""
import pytest

from semantic_bottleneck import profiles


def test_paper_profile_parameters_of_the_pruning_chapter():
    params = profiles.profile_parameters("paper", "03_pruning")
    assert params["profile"] == "paper" and params["samples_per_seed"] == 5000
    assert params["models"] == ["repa-xl", "mg-xl", "lightningdit-xl"]
    assert params["samplers"]["lightningdit-xl"] == "lightningdit-euler-250"


def test_apply_profile_sets_the_notebooks_globals_and_says_what_it_set(capsys):
    namespace = {"profile": "paper", "samples_per_seed": 100, "seed": 7}
    profiles.apply_profile("paper", "03_pruning", namespace)
    assert namespace["samples_per_seed"] == 5000 and namespace["seed"] == 7  # unset parameters keep their value
    assert capsys.readouterr().out.startswith("paper profile: models=['repa-xl', 'mg-xl', 'lightningdit-xl']")


def test_bad_profile_names_the_allowed_ones(tmp_path):
    with pytest.raises(ValueError, match="profile must be one of tiny, ci, paper; got 'gpu'"):
        profiles.profile_parameters("gpu", "03_pruning")
    with pytest.raises(FileNotFoundError, match="has no parameter file"):
        profiles.profile_parameters("ci", "03_pruning", folder=tmp_path)
