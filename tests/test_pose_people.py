"""The procedural people of the pose-guided chapter: pairs share their person, test people are unseen, poses move."""
import pytest
import torch

from semantic_bottleneck.tiny.people import bodies

pytestmark = pytest.mark.usefixtures("one_thread")


def test_a_pair_is_one_person_in_two_poses_and_is_drawn_from_its_index():
    a, b = bodies.split_pairs("test", [3, 7]), bodies.split_pairs("test", [3, 7])
    assert torch.equal(a.source, b.source) and torch.equal(a.answer, b.answer) and torch.equal(a.skeleton, b.skeleton)
    look = bodies.appearance(a.people)
    assert torch.equal(look.colours, a.look.colours)  # the source and the answer show the same person
    assert not torch.allclose(a.source_points, a.target_points)  # in two different poses
    other = bodies.split_pairs("test", [4])
    assert not torch.equal(other.answer[0], a.answer[0])
    assert a.source.shape == (2, 3, 24, 24) and a.source.min() >= -1 and a.answer.max() <= 1


def test_the_splits_never_share_a_person_and_test_pairs_cycle_over_the_test_people():
    ids = {split: set(bodies.person_ids(split, bodies.SPLIT_PEOPLE[split]).tolist()) for split in bodies.SPLITS}
    assert not ids["train"] & ids["test"] and not ids["train"] & ids["heldout"] and not ids["test"] & ids["heldout"]
    count = bodies.SPLIT_PEOPLE["test"]
    assert torch.equal(bodies.pair_people("test", [0, count, 2 * count + 5]),
                       bodies.person_ids("test", count)[[0, 0, 5]])
    assert set(bodies.pair_people("train", range(300)).tolist()) <= ids["train"]
    with pytest.raises(ValueError, match="split must be one of train, test, heldout"):
        bodies.person_ids("validation", 3)


def test_a_person_looks_the_same_in_every_call_and_people_differ():
    look, again = bodies.appearance([5, 6]), bodies.appearance([5, 6])
    assert torch.equal(look.vector(), again.vector()) and look.vector().shape == (2, 15)
    assert not torch.allclose(look.colours[0], look.colours[1])
    assert look.colours.abs().max() <= 1


def test_keypoints_follow_the_pose_angles_and_the_persons_proportions():
    look = bodies.appearance([0])
    look.proportions[:] = torch.tensor([1.0, 1.0, 1.5])  # a unit body: limb lengths in pixels at S = 24
    rest = torch.zeros(1, len(bodies.POSE_RANGES))  # every angle 0: torso up, arms and legs straight down
    points = bodies.keypoints(rest, look)[0]
    head, neck, pelvis, left_elbow, left_hand = points[:5]
    assert pelvis.tolist() == pytest.approx([12.0, 0.56 * 24])
    assert (neck - pelvis).tolist() == pytest.approx([0.0, -6.0], abs=1e-5)  # straight up
    assert (head - neck).tolist() == pytest.approx([0.0, -2.6], abs=1e-5)
    assert (left_hand - neck).tolist() == pytest.approx([0.0, 3.6 + 3.3], abs=1e-5)  # arm hangs down
    raised = rest.clone()
    raised[0, list(bodies.POSE_RANGES).index("left arm")] = 90.0  # the left arm straight out, to image left
    elbow = bodies.keypoints(raised, look)[0, 3]
    assert (elbow - neck).tolist() == pytest.approx([-3.6, 0.0], abs=1e-5)
    look.proportions[0, 0] = 1.1  # a taller person: every limb 10% longer
    assert (bodies.keypoints(rest, look)[0, 1] - pelvis).norm().item() == pytest.approx(6.6, abs=1e-5)


def test_people_are_painted_in_their_colours_on_the_background_and_skeletons_on_black():
    look = bodies.appearance([1])
    rest = torch.zeros(1, len(bodies.POSE_RANGES))
    points = bodies.keypoints(rest, look)
    image, skeleton = bodies.render_people(points, look)[0], bodies.render_skeletons(points)[0]
    x, y = (int(v) for v in points[0, 0])  # the head keypoint's pixel: the skin colour
    assert image[:, y, x].tolist() == pytest.approx(look.colours[0, 0].tolist(), abs=0.05)
    assert image[:, 0, 0].tolist() == pytest.approx([bodies.BACKGROUND] * 3, abs=1e-3)
    assert skeleton[:, 0, 0].tolist() == pytest.approx([-1.0] * 3, abs=1e-3)  # black corner
    assert skeleton[:, y, x].max() > 0  # a coloured dot on the head keypoint


def test_the_pose_changes_most_of_the_image():
    pairs = bodies.split_pairs("test", range(64))
    figure = lambda images: (images - bodies.BACKGROUND).abs().sum(1) > 0.3  # pixels of the figure
    source, answer = figure(pairs.source), figure(pairs.answer)
    moved = (source ^ answer).float().sum((1, 2)) / (source | answer).float().sum((1, 2))
    assert moved.median() > 0.5  # most figure pixels of the answer are not where the source's were


def test_random_poses_stay_in_their_ranges_around_the_archetypes():
    poses = bodies.random_poses(500, torch.Generator().manual_seed(0))
    low, high = (torch.tensor(b) for b in zip(*bodies.POSE_RANGES.values()))
    assert (poses >= low).all() and (poses <= high).all()
    archetypes = torch.tensor(list(bodies.POSE_ARCHETYPES.values()), dtype=torch.float32)
    reach = torch.tensor(bodies.POSE_JITTER) * (high - low)  # the largest jitter of each parameter
    near = ((poses[:, None] - archetypes[None]).abs() <= reach + 1e-4).all(-1)  # (poses, archetypes)
    assert near.any(1).all()  # every pose lies within the jitter of an archetype
    assert near.float().mean(0).min() > 0.05  # and every archetype is drawn
    assert poses[:, 0].max() - poses[:, 0].min() > 0.9 * (high[0] - low[0])  # the pelvis moves over its range
