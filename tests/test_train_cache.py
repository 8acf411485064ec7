"""Tiny training: determined by its seed, cached by configuration, logs c statistics."""
import pytest
import torch

from semantic_bottleneck.nets.dit import DiTConfig
from semantic_bottleneck.tiny import train

SMALL = train.TrainConfig(model=DiTConfig(hidden_size=16, depth=1, num_heads=2), steps=6, batch_size=8, log_every=3)


def test_same_seed_gives_identical_weights_and_other_seed_does_not():
    a, log_a = train.train_tiny_dit(SMALL, progress=False)
    b, _ = train.train_tiny_dit(SMALL, progress=False)
    c, _ = train.train_tiny_dit(train.TrainConfig(**{**SMALL.__dict__, "seed": 1}), progress=False)
    for key, value in a.state_dict().items():
        assert torch.equal(value, b.state_dict()[key]), key
    assert not torch.equal(a.y_embedder.embedding_table.weight, c.y_embedder.embedding_table.weight)
    assert list(log_a["step"]) == [3, 6]
    assert {"cosine_mean", "cosine_min", "npr_mean_over_classes", "npr_of_mean_vector", "loss"} <= set(log_a.columns)


def test_second_call_loads_from_cache_without_training(tmp_cache, monkeypatch):
    model, log, folder = train.load_or_train(SMALL, progress=False)
    assert (folder / "model.pt").exists() and (folder / "training_log.csv").exists()
    assert folder.is_relative_to(tmp_cache)

    def refuse(*args, **kwargs):
        raise AssertionError("retrained although the checkpoint is cached")

    monkeypatch.setattr(train, "train_tiny_dit", refuse)
    again, log_again, folder_again = train.load_or_train(SMALL, progress=False)
    assert folder_again == folder
    assert torch.equal(again.y_embedder.embedding_table.weight, model.y_embedder.embedding_table.weight)
    assert log_again["npr_of_mean_vector"].tolist() == pytest.approx(log["npr_of_mean_vector"].tolist())


def test_a_different_configuration_gets_a_different_cache_entry(tmp_cache):
    _, _, first = train.load_or_train(SMALL, progress=False)
    _, _, second = train.load_or_train(train.TrainConfig(**{**SMALL.__dict__, "lr": 5e-4}), progress=False)
    assert first != second


def test_limited_timesteps_restrict_the_training_pool(monkeypatch):
    seen = []
    original = train.training_loss

    def spy(model, x0, labels, schedule, generator, pool, snr_gamma=None):
        seen.append(pool)
        return original(model, x0, labels, schedule, generator, pool, snr_gamma)

    monkeypatch.setattr(train, "training_loss", spy)
    train.train_tiny_dit(train.TrainConfig(**{**SMALL.__dict__, "steps": 1, "num_train_timesteps": 50}), progress=False)
    assert len(seen[0]) == 50 and seen[0][0] == 0 and seen[0][-1] == 999



def test_learning_rate_is_constant_then_falls_linearly_over_the_decaying_share():
    config = train.TrainConfig(steps=10, decay_fraction=0.4)
    factors = [train.learning_rate_factor(config, done) for done in range(11)]  # 10: after the last step
    assert factors == pytest.approx([1, 1, 1, 1, 1, 1, 1.0, 0.75, 0.5, 0.25, 0])
    assert [train.learning_rate_factor(train.TrainConfig(steps=10), d) for d in range(11)] == [1.0] * 11


def test_training_steps_with_the_decayed_learning_rate(monkeypatch):
    seen = []
    step = torch.optim.AdamW.step

    def record(self, *args, **kwargs):
        seen.append(self.param_groups[0]["lr"])
        return step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.AdamW, "step", record)
    train.train_tiny_dit(train.TrainConfig(**{**SMALL.__dict__, "decay_fraction": 0.5, "lr": 1e-3}), progress=False)
    assert seen == pytest.approx([1e-3, 1e-3, 1e-3, 1e-3, 2e-3 / 3, 1e-3 / 3])


def test_label_table_starts_with_the_configured_spread():
    from semantic_bottleneck.nets.dit import DiT

    torch.manual_seed(0)
    wide = DiT(DiTConfig(hidden_size=64, depth=1, num_heads=2, num_classes=20, label_init_std=0.3))
    official = DiT(DiTConfig(hidden_size=64, depth=1, num_heads=2, num_classes=20))
    assert wide.y_embedder.embedding_table.weight.std().item() == pytest.approx(0.3, rel=0.1)
    assert official.y_embedder.embedding_table.weight.std().item() == pytest.approx(0.02, rel=0.1)


def test_the_optimizer_only_sees_gradients_within_the_clipping_norm(monkeypatch):
    norms = []
    step = torch.optim.AdamW.step

    def record(self, *args, **kwargs):
        grads = [p.grad for group in self.param_groups for p in group["params"] if p.grad is not None]
        norms.append(torch.linalg.vector_norm(torch.stack([g.norm() for g in grads])).item())
        return step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.AdamW, "step", record)
    train.train_tiny_dit(SMALL, progress=False)
    assert max(norms) > 0.05  # without clipping the gradients of this run are larger than the limit below
    norms.clear()
    train.train_tiny_dit(train.TrainConfig(**{**SMALL.__dict__, "max_grad_norm": 0.05}), progress=False)
    assert max(norms) <= 0.05 * (1 + 1e-4)


def test_the_optimizer_is_the_one_the_configuration_names_and_a_misspelt_one_fails_in_one_line():
    from semantic_bottleneck.tiny.train import TrainConfig, make_optimizer

    model = torch.nn.Linear(3, 2)
    sgd = make_optimizer(model, TrainConfig(optimizer="sgd", lr=0.1, weight_decay=0.01))
    assert isinstance(sgd, torch.optim.SGD) and sgd.defaults["momentum"] == 0.9 and sgd.defaults["weight_decay"] == 0.01
    assert isinstance(make_optimizer(model, TrainConfig()), torch.optim.AdamW)
    with pytest.raises(ValueError, match="optimizer must be one of adamw, sgd, not 'adam'"):
        make_optimizer(model, TrainConfig(optimizer="adam"))


def test_training_runs_with_the_pinned_threads_and_they_key_the_cache(tmp_cache, monkeypatch):
    """Weights depend on the training's CPU threads (the backward's sums are split between them): every training runs
    with `training_threads` whatever torch was set to, and a model trained with other threads is another entry."""
    from dataclasses import dataclass

    from semantic_bottleneck.tiny import cached

    seen = []
    original = train.train_tiny_dit

    def spy(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return original(*args, **kwargs)

    monkeypatch.setattr(train, "train_tiny_dit", spy)

    @dataclass(frozen=True)
    class Probe:
        size: int = 2

    def probe_train(config, progress):
        seen.append(torch.get_num_threads())
        return torch.nn.Linear(config.size, 1), {}

    folders = []
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for threads in ("3", "2"):
            monkeypatch.setenv("SEMANTIC_BOTTLENECK_TRAINING_THREADS", threads)
            folders.append(train.load_or_train(SMALL, progress=False)[2])
            cached.load_or_train("probe", Probe(), lambda c: torch.nn.Linear(c.size, 1), probe_train, 1, progress=False)
            assert torch.get_num_threads() == 1  # restored after training
    finally:
        torch.set_num_threads(before)
    assert seen == [3, 3, 2, 2]
    assert folders[0] != folders[1]
    assert len(list(tmp_cache.glob("probe/*/model.pt"))) == 2


@pytest.mark.parametrize("value", ["0", "two", "-1"])
def test_bad_training_threads_fail_in_one_line_naming_the_variable(value, monkeypatch):
    from semantic_bottleneck.devices import training_threads

    monkeypatch.setenv("SEMANTIC_BOTTLENECK_TRAINING_THREADS", value)
    with pytest.raises(ValueError, match=r"^SEMANTIC_BOTTLENECK_TRAINING_THREADS must be a positive integer, got") as e:
        training_threads()
    assert "\n" not in str(e.value)
