"""The pose chapter's per-sample scores on hand-checkable cases: SSIM, PSNR, the LPIPS stand-in, pose, person."""
from types import SimpleNamespace

import pandas as pd
import pytest
import torch

from semantic_bottleneck.chapters.pose import tables as pose_tables
from semantic_bottleneck.judge.answers import PixelFeatures, Psnr, Ssim
from semantic_bottleneck.study.judges import build_judge
from semantic_bottleneck.settings.chapters import PoseSettings
from semantic_bottleneck.tiny.people import bodies
from semantic_bottleneck.tiny.people.pose_encoders import EncoderConfig, TokenEncoder
from semantic_bottleneck.tiny.people.pose_eval import (KEYPOINT_OUTPUTS, FeatureDistance, PersonPreservation, PoseAccuracy,
                                                PoseEvalFeatures)

from helpers import Answers

pytestmark = pytest.mark.usefixtures("one_thread")


def test_ssim_and_psnr_are_exact_on_known_differences():
    torch.manual_seed(0)
    answers = torch.rand(3, 3, 24, 24) * 1.6 - 0.8
    source = Answers(answers)
    assert Ssim(source)(answers, None, None, [0, 1, 2]).tolist() == pytest.approx([1.0] * 3, abs=1e-5)
    shifted = answers + 0.2  # 0.1 in [0, 1]: MSE 0.01, so PSNR = 10 log10(1 / 0.01) = 20 dB exactly
    assert Psnr(source)(shifted, None, None, [0, 1, 2]).tolist() == pytest.approx([20.0] * 3, abs=1e-3)
    assert (Ssim(source)(shifted, None, None, [0, 1, 2]) < 1).all()
    noisy = answers + 0.3 * torch.randn(3, 3, 24, 24)
    assert (Ssim(source)(noisy, None, None, [0, 1, 2]) < Ssim(source)(shifted, None, None, [0, 1, 2])).all()


def test_pose_accuracy_counts_keypoints_within_the_threshold():
    source = Answers(None)
    wanted = source.pairs([4, 9]).target_points  # (2, 11, 2) pixels
    logits = torch.zeros(2, KEYPOINT_OUTPUTS + 15)
    logits[:, :KEYPOINT_OUTPUTS] = (wanted / 24 * 2 - 1).reshape(2, -1)  # the network reads them exactly
    score = PoseAccuracy(source, threshold=0.1)
    assert score(None, None, logits, [4, 9]).tolist() == [1.0, 1.0]
    off = logits.clone()
    off[0, :KEYPOINT_OUTPUTS:2] += 0.3  # every x of pair 4 off by 0.15 S = 3.6 px > 2.4 px
    off[1, :12] += 0.3  # the first 6 keypoints of pair 9 off (x and y by 3.6 px), the other 5 exact
    assert score(None, None, off, [4, 9]).tolist() == pytest.approx([0.0, 5 / 11])


def test_person_preservation_ranks_the_source_person_among_the_split():
    source = Answers(None)
    preserve = PersonPreservation(source)
    indices = [0, 3, 7]
    logits = torch.zeros(3, KEYPOINT_OUTPUTS + 15)
    wanted = bodies.pair_people("test", indices)
    rows = [int((preserve.ids == p).nonzero()) for p in wanted]
    logits[:, KEYPOINT_OUTPUTS:] = preserve.gallery[rows]
    assert preserve(None, None, logits, indices).tolist() == [1.0, 1.0, 1.0]  # each read as its own person
    logits[1, KEYPOINT_OUTPUTS:] = preserve.gallery[rows[0]]  # pair 3's sample looks exactly like pair 0's person
    distance = torch.cdist(preserve.gallery[rows[0]][None].double(), preserve.gallery.double())[0]
    farther = int((distance > distance[rows[1]]).sum())  # people farther from it than pair 3's person
    assert preserve(None, None, logits, indices).tolist() == pytest.approx([1.0, farther / 199, 1.0])
    far = torch.full((1, KEYPOINT_OUTPUTS + 15), 100.0)  # an appearance far from everyone: ranks by distance only
    assert 0 <= preserve(None, None, far, [0]).item() <= 1
    assert "0.5: chance" in preserve.name


def test_the_lpips_stand_in_is_zero_for_the_answer_and_grows_with_the_difference():
    torch.manual_seed(0)
    network = TokenEncoder(EncoderConfig(task="person", split="heldout", token_width=16)).eval()
    answers = bodies.split_pairs("test", range(2)).answer
    distance = FeatureDistance(network, Answers(answers))
    assert distance(answers, None, None, [0, 1]).tolist() == pytest.approx([0.0, 0.0], abs=1e-6)
    near, far = answers + 0.05 * torch.randn_like(answers), torch.flip(answers, dims=[3])
    assert (distance(far, None, None, [0, 1]) > distance(near, None, None, [0, 1])).all()
    assert "stand-in" in distance.name and "not LPIPS" in distance.name


def test_the_evaluation_extractor_reads_any_size_and_the_pixel_extractor_is_a_thumbnail():
    torch.manual_seed(0)
    network = TokenEncoder(EncoderConfig(task="person", split="heldout", token_width=16)).eval()
    features, logits = PoseEvalFeatures(network)(torch.rand(2, 3, 48, 48) * 2 - 1)
    assert features.shape == (2, 16) and logits.shape == (2, KEYPOINT_OUTPUTS + 15)
    images = torch.zeros(1, 3, 16, 16)
    images[:, 0, :8, :8] = 1.0  # the red channel of the top-left quarter
    thumbnail, _ = PixelFeatures()(images)
    assert thumbnail.shape == (1, 192) and thumbnail[0, :64].reshape(8, 8)[:4, :4].eq(1).all()
    assert thumbnail.sum() == 16


def test_a_pixels_judge_scores_the_answers_themselves_as_perfect():
    answers = bodies.split_pairs("test", range(8)).answer
    params = PoseSettings(device="cpu", seeds=2, samples_per_seed=4, batch_size=3, kid_subsets=2, kid_subset_size=4,
                          profile="ci")
    judge = build_judge("pixels", params, loaded=SimpleNamespace(conditions=Answers(answers)))
    records = judge.records(answers, None, list(range(8)))
    scores = judge.score(records)
    assert scores["ssim"] == pytest.approx(1.0, abs=1e-3) and scores["fid"] == pytest.approx(0.0, abs=1e-3)
    assert [s.column for s in judge.scorers] == ["ssim", "psnr"]


def test_fid_is_marked_not_meaningful_without_more_samples_than_feature_dimensions():
    assert "32 samples per seed <= 64-d features" in pose_tables.fid_caveat(32, 64) and pose_tables.fid_caveat(64, 64)
    assert pose_tables.fid_caveat(65, 64) == ""


def test_labels_headline_and_protocol_follow_the_judge():
    answers = bodies.split_pairs("test", range(8)).answer
    params = PoseSettings(device="cpu", seeds=2, samples_per_seed=4, batch_size=4, kid_subsets=2, kid_subset_size=4,
                          profile="ci")
    # 192-d thumbnails, 4 samples per seed: FID not meaningful
    pixels = build_judge("pixels", params, loaded=SimpleNamespace(conditions=Answers(answers)))
    assert pose_tables.metric_names(pixels, 4) == {"lpips": "LPIPS",
                                                    "fid": "FID (not meaningful: 4 per seed <= 192-d)"}
    assert pose_tables.metric_names(pixels, 193)["fid"] == "FID"
    assert pose_tables.headline_metrics(pixels, 4) == ("kid", "ssim", "psnr")
    assert pose_tables.headline_metrics(pixels, 500) == ("fid", "ssim", "psnr")
    protocol = SimpleNamespace(samples_per_seed=4, table=lambda judge: pd.DataFrame(
        {"value": {"model": "m", **judge.protocol()}}))
    table = pose_tables.protocol_table(protocol, pixels)
    assert "IS" not in table.index and "precision / recall" not in table.index
    assert table.loc["FID", "value"].endswith("KID is the headline") and "not a training set" in \
        table.loc["reference", "value"]
    torch.manual_seed(0)
    network = TokenEncoder(EncoderConfig(task="person", split="heldout", token_width=16)).eval()
    tiny = SimpleNamespace(scorers=[Ssim(Answers(answers)), FeatureDistance(network, Answers(answers))],
                           reference=pixels.reference)
    assert pose_tables.metric_names(tiny, 500)["lpips"] == "LPIPS stand-in" and pose_tables.uses_lpips_stand_in(tiny)
    assert pose_tables.headline_metrics(tiny, 500) == ("fid", "ssim", "lpips")
