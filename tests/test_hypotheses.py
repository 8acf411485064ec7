"""The hypotheses chapter (08): its verdicts on synthetic results (two outcomes each), the U-Net's hook, the DiT whose
t enters the tokens (and the reader of c that must follow it), first-k pruning and the sweep's effects."""
from dataclasses import asdict, fields

import numpy as np
import pandas as pd
import pytest
import torch

from semantic_bottleneck.chapters.hypotheses import study, verdicts
from semantic_bottleneck.condition.embedding import ConditionEmbedding
from semantic_bottleneck.condition.prune import PruneSpec
from semantic_bottleneck.judge.paired_seeds import summarise
from semantic_bottleneck.nets.architectures import build_network
from semantic_bottleneck.nets.dit import DiT, DiTConfig
from semantic_bottleneck.nets.time_entry import TokenTimeConfig, TokenTimeDiT
from semantic_bottleneck.tiny.classes.unet import TinyUNet, TinyUNetConfig

LABEL = "tiny-class, ci profile, training seed 0"
SMALL = dict(hidden_size=32, depth=1, num_heads=2, num_classes=5, label_init_std=0.3)


# ----------------------------------------------------------------------------- H1

def test_within_model_verdict_needs_every_model_to_rise():
    rising = {"per model": {"a": (0.9, 0.001), "b": (0.8, 0.01)}}
    one_flat = {"per model": {"a": (0.9, 0.001), "b": (0.1, 0.7)}}
    assert verdicts.within_model_verdict(rising, LABEL).verdict == "supported"
    assert verdicts.within_model_verdict(one_flat, LABEL).verdict == "not supported"
    assert "b +0.100 (p = 0.7)" in verdicts.within_model_verdict(one_flat, LABEL).this_build


def test_correlation_verdict_follows_the_sign_and_the_p_value():
    good = verdicts.correlation_verdict({"rho": 0.7, "p": 0.001, "points": 30, "models": 3}, LABEL)
    weak = verdicts.correlation_verdict({"rho": 0.7, "p": 0.2, "points": 5, "models": 3}, LABEL)
    negative = verdicts.correlation_verdict({"rho": -0.6, "p": 0.001, "points": 30, "models": 3}, LABEL)
    assert (good.verdict, weak.verdict, negative.verdict) == ("supported", "not supported", "not supported")
    assert "+0.700" in good.this_build and "p = 0.001" in good.noise


def _sweep(cosine_control=(0.2, 0.25), gain_base=(0.08, 0.09), gain_control=(0.08, 0.085), npr_cells=None):
    """A synthetic sweep table: the base and control cells (and any `npr_cells`: cell -> (factor, nPR per seed))."""
    rows = []
    for seed in (0, 1):
        rows.append({"cell": study.BASE, "seed": seed, "factor": "base", "steps": 400, "first logged step": 50,
                     "nPR first": 0.75, "nPR": 0.50 + 0.01 * seed, "cosine": 0.95, "class agreement": 0.2,
                     "label gain": gain_base[seed]})
        rows.append({"cell": study.CONTROL, "seed": seed, "factor": "H1 control", "steps": 400, "first logged step": 50,
                     "nPR first": 0.65, "nPR": 0.64, "cosine": cosine_control[seed], "class agreement": 0.2,
                     "label gain": gain_control[seed]})
        for cell, (factor, nprs) in (npr_cells or {}).items():
            rows.append({"cell": cell, "seed": seed, "factor": factor, "steps": 400, "first logged step": 50,
                         "nPR first": 0.75, "nPR": nprs[seed], "cosine": 0.95, "class agreement": 0.2,
                         "label gain": 0.08})
    return pd.DataFrame(rows)


def test_control_verdict_supported_not_supported_and_not_testable():
    supported = verdicts.control_verdict(study.factor_effects(_sweep()), "small DiT")
    kept_alignment = verdicts.control_verdict(study.factor_effects(_sweep(cosine_control=(0.94, 0.96))), "small DiT")
    lost_class = verdicts.control_verdict(study.factor_effects(_sweep(gain_control=(0.0, 0.001))), "small DiT")
    ignores_label = verdicts.control_verdict(study.factor_effects(_sweep(gain_base=(0.001, 0.004),
                                                                         gain_control=(0.003, 0.0))), "small DiT")
    assert supported.verdict == "supported" and "-0.750" in supported.this_build
    assert kept_alignment.verdict == "not supported" and lost_class.verdict == "not supported"
    assert ignores_label.verdict == "not testable here" and "does not use its class" in ignores_label.noise


# ----------------------------------------------------------------------------- H2

def test_step_verdict_needs_late_above_early_beyond_the_interval():
    late = pd.DataFrame({"first k steps": [0.01, 0.011, 0.012], "last k steps": [0.03, 0.032, 0.031]})
    early = late.rename(columns={"first k steps": "last k steps", "last k steps": "first k steps"})
    for frame in (late, early):
        frame["late minus early"] = frame["last k steps"] - frame["first k steps"]
    assert verdicts.step_verdict(late, 3, LABEL).verdict == "supported"
    assert verdicts.step_verdict(early, 3, LABEL).verdict == "not supported"


def _h2_long(first_distance, last_distance, last_agreement):
    rows = []
    for r in range(3):
        wobble = 0.002 * r
        for row, distance, agreement in (("baseline", 0.0, 0.9 + wobble), ("first 3 steps", first_distance + wobble,
                                                                             0.9 + wobble),
                                         ("last 3 steps", last_distance + wobble, last_agreement + wobble)):
            rows += [{"row": row, "replicate": r, "metric": "class_agreement", "value": agreement},
                     {"row": row, "replicate": r, "metric": "distance_to_unpruned", "value": distance}]
    return pd.DataFrame(rows)


def test_schedule_verdict_needs_late_pruning_to_move_samples_more_and_keep_the_classes():
    moves = _h2_long(0.03, 0.07, 0.9)
    assert verdicts.schedule_verdict(summarise(moves), moves, 3, LABEL).verdict == "supported"
    early_moves = _h2_long(0.07, 0.03, 0.9)
    assert verdicts.schedule_verdict(summarise(early_moves), early_moves, 3, LABEL).verdict == "not supported"
    loses = _h2_long(0.03, 0.07, 0.5)
    verdict = verdicts.schedule_verdict(summarise(loses), loses, 3, LABEL)
    assert verdict.verdict == "not supported" and "larger than noise" in verdict.this_build


def test_first_steps_pruner_prunes_only_the_first_k_steps():
    network = DiT(DiTConfig(**SMALL))
    pruner = study.FirstStepsPruner(network, PruneSpec("tail", fraction=0.5), num_steps=10, k=3)
    active = []
    for i in range(10):
        pruner(i, 999 - 100 * i)
        active.append(pruner.is_active())
    assert active == [True] * 3 + [False] * 7
    with pytest.raises(ValueError, match="every_step"):
        study.FirstStepsPruner(network, PruneSpec("tail", fraction=0.5, schedule="last_k_steps", k=2), 10, 3)


# ----------------------------------------------------------------------------- H3

def _gain_row(ratio):
    return pd.Series({"d": 64, "head dims": 4, "head gain / mean gain": ratio, "null low": 0.8, "null high": 1.2,
                      "head share of |c|": 0.3, "head share of |SiLU(c)|": 0.1,
                      "head share of the modulation input": 0.1})


def test_gain_verdict_reads_amplified_neither_and_attenuated():
    amplified = verdicts.gain_verdict("tiny-class", _gain_row(1.5), LABEL)
    neither = verdicts.gain_verdict("tiny-class", _gain_row(1.0), LABEL)
    attenuated = verdicts.gain_verdict("tiny-class", _gain_row(0.5), LABEL)
    assert amplified.verdict == "supported" and "(amplified)" in amplified.this_build
    assert neither.verdict == attenuated.verdict == "not supported"
    assert "(neither)" in neither.this_build and "(attenuated)" in attenuated.this_build


def test_head_gain_row_sees_a_head_with_larger_gains():
    c = torch.zeros(3, 20)
    c[:, :2] = 5.0  # the |c|-head: coordinates 0 and 1
    gains = torch.ones(20)
    gains[:2] = 4.0
    row = study.head_gain_row(c, gains, head_fraction=0.1, draws=200)
    assert row["head gain / mean gain"] == pytest.approx(4.0 / 1.3) and row["head gain / mean gain"] > row["null high"]


# ----------------------------------------------------------------------------- H4

def test_factor_verdict_follows_the_claimed_direction_beyond_the_seed_noise():
    table = _sweep(npr_cells={"weight decay 1": ("weight decay", (0.30, 0.32)),
                              "weight decay 0.1": ("weight decay", (0.505, 0.51)),
                              "SGD with momentum": ("optimiser", (0.70, 0.72))})
    effects = study.factor_effects(table)
    assert effects.loc["weight decay 1", "nPR changes per seed"] == pytest.approx([-0.20, -0.19])
    assert verdicts.factor_verdict("weight decay 1", effects, "small").verdict == "supported"
    assert verdicts.factor_verdict("weight decay 0.1", effects, "small").verdict == "not supported"
    # the claim is AdamW (the base) sparser than SGD: SGD's higher nPR supports it
    assert verdicts.factor_verdict("SGD with momentum", effects, "small").verdict == "supported"


def test_dynamics_verdict_needs_nPR_to_fall_at_every_seed():
    class_log = pd.DataFrame({"step": [100, 1700], "npr_mean_over_classes": [0.53, 0.37]})
    falls = _sweep()
    assert verdicts.dynamics_verdict(falls, class_log, "small").verdict == "supported"
    flat = falls.assign(**{"nPR first": falls["nPR"] + 0.001})
    assert verdicts.dynamics_verdict(flat, class_log, "small").verdict == "not supported"


# ----------------------------------------------------------------------------- the U-Net

def _unet_rows(with_t, without_t):
    return pd.DataFrame([{"arm": arm, "seed": s, "cosine_mean": cos[s], "npr_mean_over_classes": 0.6,
                          "class agreement": 0.2} for arm, cos in (("with t", with_t), ("without t", without_t))
                         for s in (0, 1)])


def test_unet_verdict_compares_the_arms_beyond_their_seed_spread():
    dits = pd.DataFrame([{"model": "tiny-class", "seed": 0, "cosine_mean": 0.99, "npr_mean_over_classes": 0.4}])
    aligned = verdicts.unet_verdict(_unet_rows((0.6, 0.62), (0.02, 0.0)), dits, 0.01, "U-Net")
    same = verdicts.unet_verdict(_unet_rows((0.05, 0.2), (0.02, 0.1)), dits, 0.01, "U-Net")
    assert aligned.verdict == "supported" and "cosine 0.610 with t" in aligned.this_build
    assert same.verdict == "not supported" and "two seeds of one arm" in same.noise


@pytest.mark.parametrize("with_t", [True, False])
def test_the_unet_hook_reads_the_vector_its_blocks_receive(with_t):
    torch.manual_seed(0)
    unet = TinyUNet(TinyUNetConfig(time_in_blocks=with_t, num_classes=4)).eval()
    t, labels = torch.tensor([999.0, 10.0]), torch.tensor([1, 3])
    emb = unet.condition_vectors(t, labels)
    inner = unet.unet
    with torch.no_grad():
        time = inner.time_embedding(inner.time_proj(t)) if with_t else 0.0
        expected = time + inner.class_embedding(labels)
    assert emb.shape == (2, 64) and torch.allclose(emb, expected)
    assert torch.equal(unet.time_vectors(t), time if with_t else torch.zeros_like(emb))
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        moved = not torch.allclose(unet(x, t, labels), unet(x, t.flip(0), labels))
    assert moved == with_t  # without its time embedding the U-Net cannot see t


# ----------------------------------------------------------------------------- the DiT whose t enters the tokens

def _c_at_first_block(network, t, labels):
    """The c that reaches the first block's modulation, read by a hook."""
    seen = {}
    handle = network.blocks[0].adaLN_modulation.register_forward_pre_hook(lambda m, args: seen.update(c=args[0]))
    with torch.no_grad():
        network(torch.randn(len(labels), 3, 16, 16), t, labels)
    handle.remove()
    return seen["c"]


def test_dit_config_is_unchanged_so_no_trained_model_changes_its_cache_key():
    assert "time_entry" not in {f.name for f in fields(DiTConfig)}
    assert type(build_network(DiTConfig(**SMALL))) is DiT
    assert type(build_network(TokenTimeConfig(**SMALL))) is TokenTimeDiT
    with pytest.raises(ValueError, match="time_entry"):
        TokenTimeConfig(time_entry="condition")


def test_the_reader_of_c_gives_the_c_each_network_uses():
    torch.manual_seed(0)
    dit = DiT(DiTConfig(**SMALL)).eval()
    for parameter in dit.parameters():  # trained-looking weights: adaLN and the output are not zero, t_emb is not tiny
        torch.nn.init.normal_(parameter, std=0.3)
    tokens = TokenTimeDiT(TokenTimeConfig(**asdict(DiTConfig(**SMALL)))).eval()
    tokens.load_state_dict({**dit.state_dict(), "time_enters_condition": torch.tensor(False)})
    t, labels = torch.tensor([999, 999]), torch.tensor([0, 3])
    for network in (dit, tokens):
        read = ConditionEmbedding.from_state_dict(network.state_dict()).c(999, labels)
        assert torch.allclose(_c_at_first_block(network, t, labels), read, atol=1e-6)
    same_weights = ConditionEmbedding.from_state_dict(tokens.state_dict())
    assert torch.allclose(same_weights.c(0, labels), same_weights.c(999, labels))  # c no longer carries t
    with torch.no_grad():
        x = torch.randn(2, 3, 16, 16)
        assert not torch.allclose(tokens(x, t, labels), tokens(x, t - 500, labels))  # t still reaches the network


def test_timestep_grid_covers_each_models_own_time_range():
    assert list(study.timestep_grid(999, 3)) == [0.0, 500.0, 999.0]
    assert np.allclose(study.timestep_grid(1.0, 3), [0.0, 0.5, 1.0])


def test_the_status_page_counts_supported_and_not_supported():
    from semantic_bottleneck.book.status_page import verdict_summary

    gathered = pd.DataFrame({"notebook": ["08_hypotheses"] * 3, "verdict": ["supported", "not supported", "supported"]})
    summary = verdict_summary(gathered).set_index("chapter")
    assert summary.loc["08_hypotheses", "supported"] == 2 and summary.loc["08_hypotheses", "not supported"] == 1


def test_the_label_gain_is_undefined_without_label_dropout_and_the_sentence_says_so():
    from semantic_bottleneck.chapters.hypotheses import report

    torch.manual_seed(0)
    assert np.isnan(study.label_gain(DiT(DiTConfig(**{**SMALL, "class_dropout_prob": 0.0})).eval(), seed=0))
    assert np.isfinite(study.label_gain(DiT(DiTConfig(**SMALL)).eval(), seed=0))
    effects = pd.DataFrame([{"cell": study.BASE, "factor": "base", "nPR seed noise": 0.1, "label gain": 0.07,
                             "nPR changes per seed": [0.0, 0.0]},
                            {"cell": "label dropout 0", "factor": "label dropout", "nPR seed noise": 0.1,
                             "label gain": float("nan"), "nPR changes per seed": [0.01, 0.05]}]).set_index("cell")
    sentence = report.describe_sweep(effects)
    assert "label gain undefined (no label dropout" in sentence and "nan" not in sentence
