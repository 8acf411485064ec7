"""The `paper` profile of the video-to-audio chapter, end to end on stand-ins in the official layouts, offline.

An MDSGen checkpoint in the official layout (random, small width, the official 102 x 8 token grid) sits where the
weights registry caches `mdsgen-b`; three CAVP feature files in Diff-Foley's layout are the conditions; AudioLDM's VAE
and vocoder and the AST classifier are small random models of the same classes in an offline Hugging Face cache.
The notebook then runs the code it runs in Colab, with MDSGen's own sampler preset (DPM-Solver++, 50 steps, CFG 5),
so a Colab user never loses a GPU run to a crash in a table or a player at the end.
"""
import pytest
import torch

from semantic_bottleneck import registry
from semantic_bottleneck.book import driver as book
from semantic_bottleneck.checkpoints.mdsgen import AST_MODEL
from semantic_bottleneck.chapters.audio import tables as audio_tables
import helpers

pytestmark = [pytest.mark.usefixtures("one_thread"), pytest.mark.slow]

PARAMS = {"model": "mdsgen-b", "judge": "ast", "stat_clips": 3, "samples_per_seed": 4, "seeds": 2,
          "tail_shares": [0.5], "head_dims": [2], "tail_taus": [0.01], "head_taus": [], "reference_size": 4,
          "kid_subset_size": 2, "batch_size": 4, "grid_samples": 2, "players": 2,
          "grid_rows": ["tail_share0.5", "head_dims2"], "player_rows": ["tail_share0.5"],
          "table_metrics": ["fid", "is", "audioset_agreement"], "sweep_metrics": ["fid", "audioset_agreement"]}


def test_the_chapter_runs_under_the_paper_profile_on_stand_ins(tmp_path, monkeypatch, build_dirs):
    weights = tmp_path / "weights" / "mdsgen-b" / registry.model("mdsgen-b").source.weights.mirrors[0].filename
    weights.parent.mkdir(parents=True)
    torch.save(helpers.random_mdsgen(decode_layer=4).state_dict(), weights)  # inference.py's decode_layer
    helpers.write_cavp(tmp_path / "cavp", 3)
    helpers.write_audioldm(helpers.hf_snapshot_folder(tmp_path / "hf", "cvssp/audioldm-s-full-v2"))
    helpers.write_ast(helpers.hf_snapshot_folder(tmp_path / "hf", AST_MODEL))
    results = helpers.execute_under_paper_profile(tmp_path, monkeypatch, "05_video_to_audio", {
        **PARAMS, "cavp_features": str(tmp_path / "cavp"), "resume_dir": str(tmp_path / "runs")})
    assert set(results["profile"]) == {"paper"} and set(results["model"]) == {"mdsgen-b"}
    cells = set(zip(results["table"], results["row"], results["column"]))
    assert {("T1", "cosine", "MDSGen"), ("T5", "cosine_y_only", "MDSGen"),
            (audio_tables.NEW_TABLE, "with guidance/tail_share0.5", "audioset_agreement"),
            (audio_tables.NEW_TABLE, "without guidance/head_dims2", "fid")} <= cells
    text = (book.EXECUTED / "05_video_to_audio.ipynb").read_text()
    assert "mdsgen-dpmpp-50: dpmsolver++ 50 steps" in text and "3 CAVP feature file(s)" in text
    assert "data:audio/wav;base64," in text  # the players of the generated sound
