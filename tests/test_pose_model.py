"""The tiny pose model: its condition source, seed-determined cached training, and a pruning study with both readings."""
from types import SimpleNamespace

import pytest
import torch

from semantic_bottleneck.condition.prune import PruneSpec
from semantic_bottleneck.nets.xmdpt import PairEmbedding, TinyXMDPTConfig
from semantic_bottleneck.settings.chapters import PoseSettings
from semantic_bottleneck.sampling.presets import preset
from semantic_bottleneck.study.judges import build_judge
from semantic_bottleneck.study.protocol import Protocol, run_rows
from semantic_bottleneck.tiny.people import pose_model
from semantic_bottleneck.tiny.people.pose_encoders import EncoderConfig, TokenEncoder
from semantic_bottleneck.tiny.people.pose_vae import AutoencoderConfig, PersonAutoencoder

pytestmark = pytest.mark.usefixtures("one_thread")

SMALL = pose_model.PoseTrainConfig(
    model=TinyXMDPTConfig(hidden_size=16, depth=1, num_heads=2, pose_token_width=8, source_token_width=8),
    autoencoder=AutoencoderConfig(width=8, steps=2, batch_size=4),
    pose_encoder=EncoderConfig(task="pose", token_width=8, width=8, steps=2, batch_size=4),
    source_encoder=EncoderConfig(task="person", token_width=8, width=8, steps=2, batch_size=4),
    steps=4, batch_size=4, log_every=2, log_pairs=4)


def small_pairs(seed=0):
    """A test-split pair source on random (untrained) encoders and autoencoder of SMALL's widths."""
    torch.manual_seed(seed)
    return pose_model.PosePairs(TokenEncoder(SMALL.pose_encoder).eval(), TokenEncoder(SMALL.source_encoder).eval(),
                                PersonAutoencoder(SMALL.autoencoder).eval())


def test_the_condition_source_gives_each_index_its_pair_and_never_the_answer():
    pairs = small_pairs()
    batch = pairs.for_indices([2, 5])
    assert set(batch) == {"pose_tokens", "source_tokens", "source_latent", "keep"}
    assert batch["pose_tokens"].shape == (2, 37, 8) and batch["keep"].tolist() == [1.0, 1.0]
    shown = pairs.shown([2, 5])
    torch.testing.assert_close(batch["source_latent"], pairs.autoencoder.encode(shown["source"]))  # (2, 4, 6, 6)
    assert not any(torch.equal(v, pairs.autoencoder.encode(shown["answer"])) for v in batch.values()
                   if v.shape == (2, 4, 6, 6))  # the answer's latent is not in it either
    assert torch.equal(pairs.answers([5]), shown["answer"][1:])
    null = pairs.null_like(batch)
    assert null["keep"].tolist() == [0.0, 0.0] and torch.equal(null["pose_tokens"], batch["pose_tokens"])
    assert "people no training pair shows" in pairs.describe(48)


def test_cross_pairs_every_source_with_every_target_pose_source_major():
    pairs = small_pairs()
    batch = pairs.cross([0, 1], [4, 5, 6])
    shown = pairs.shown([0, 1, 4, 5, 6])
    assert len(batch["keep"]) == 6
    latents = pairs.autoencoder.encode(shown["source"][:2])
    torch.testing.assert_close(batch["source_latent"][2], latents[0])
    torch.testing.assert_close(batch["source_latent"][3], latents[1])
    torch.testing.assert_close(batch["pose_tokens"][4], pairs.pose_encoder.tokens(pairs.pairs([5]).skeleton)[0])


def test_training_is_seed_determined_cached_and_logs_c(tmp_cache, monkeypatch):
    from semantic_bottleneck.tiny import cached

    a, log, facts = pose_model.load_or_train_pose_model(SMALL, progress=False)
    b, _, _ = pose_model.train_pose_model(SMALL, progress=False)
    for key, value in a.state_dict().items():
        assert torch.equal(value, b.state_dict()[key]), key
    assert list(log["step"]) == [2, 4] and {"loss", "cosine_mean", "npr_of_mean_vector"} <= set(log.columns)
    assert set(facts) == set(pose_model.FACTS) and any(tmp_cache.rglob("tiny-pose/*/model.pt"))
    monkeypatch.setattr(pose_model, "train_pose_model", lambda *a, **k: pytest.fail("retrained a cached model"))
    monkeypatch.setattr(cached, "_LOADED", {})  # a new process: read from disk
    again, again_log, _ = pose_model.load_or_train_pose_model(SMALL, progress=False)
    assert torch.equal(again.mlp_final[0].weight, a.mlp_final[0].weight) and again_log.equals(log)


def test_a_pruning_study_runs_both_mask_readings_on_the_pose_model():
    pairs = small_pairs()
    network = pose_model.TinyXMDPT(SMALL.model).eval()
    with torch.no_grad():
        for p in network.parameters():
            p.normal_(0, 0.1)
    embedding = PairEmbedding(network, pairs.for_indices(range(4)), t0=999)
    specs = {"tail_50pct": PruneSpec("tail", fraction=0.5), "tail_50pct@global": PruneSpec("tail", fraction=0.5,
                                                                                           reading="global")}
    protocol = Protocol("tiny-pose", preset("tiny-pose-ddim-10", num_steps=2), 4, 2, batch_size=8)
    settings = PoseSettings(device="cpu", seeds=2, samples_per_seed=4, batch_size=8, kid_subsets=2, kid_subset_size=4,
                            profile="ci")
    judge = build_judge("pixels", settings, loaded=SimpleNamespace(conditions=pairs))
    long, images, _ = run_rows(network, specs, protocol, judge, pairs, embedding, pairs.autoencoder, progress=False)
    removed = long[long["metric"] == "removed_dims"].groupby("row")["value"].first()
    assert removed["baseline"] == 0 and removed["tail_50pct"] == 8 and removed["tail_50pct@global"] == 8
    assert images["tail_50pct"].shape[1:] == (3, 24, 24)


def test_the_autoencoder_normalises_its_latents_decodes_into_range_and_is_cached(tmp_cache, monkeypatch):
    from semantic_bottleneck.tiny import cached
    from semantic_bottleneck.tiny.people import bodies, pose_vae

    model, error = pose_vae.load_or_train_autoencoder(SMALL.autoencoder, progress=False)
    probe = bodies.split_pairs("train", range(512), SMALL.autoencoder.seed + 1).answer
    latents = model.encode(probe)
    assert latents.shape == (512, 4, 6, 6) and latents.std().item() == pytest.approx(1.0, rel=1e-4)
    images = model(3 * latents[:4])
    assert images.shape == (4, 3, 24, 24) and images.abs().max() <= 1 and error > 0
    monkeypatch.setattr(pose_vae, "train_autoencoder", lambda *a, **k: pytest.fail("retrained a cached autoencoder"))
    monkeypatch.setattr(cached, "_LOADED", {})  # a new process: read from disk
    again, again_error = pose_vae.load_or_train_autoencoder(SMALL.autoencoder, progress=False)
    assert again_error == error and torch.equal(again.scale, model.scale)


def test_the_stats_command_reads_c_of_a_pair_set_like_a_class_table():
    from semantic_bottleneck.commands.stats_command import checkpoint_stats

    pairs = small_pairs()
    network = pose_model.TinyXMDPT(SMALL.model).eval()
    embedding = PairEmbedding(network, pairs.for_indices(range(6)), family="tiny-pose", model="tiny-pose", t0=999,
                              time_convention="integer DDPM t", source="memory", weights="EMA", format="tiny cache")
    stats = checkpoint_stats(embedding)
    assert stats["num_classes"] == 6 and stats["dim"] == 16 and stats["t"] == 999
    c = embedding.c(999)
    assert stats["y_plus_t"]["cosine_min"] == pytest.approx(
        torch.nn.functional.cosine_similarity(c[:, None], c[None], dim=-1).min().item(), abs=1e-5)
