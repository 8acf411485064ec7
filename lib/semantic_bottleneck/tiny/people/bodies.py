"""Procedural people for the pose-guided chapter: a stand-in for DeepFashion, made from a seed, offline.

A person is an articulated figure of ten parts (head, torso, upper and lower arms and legs) joined at eleven
keypoints, with its own appearance: four colours (skin on the head and forearms, shirt on the torso and upper
arms, trousers, boots) and body proportions (height, limb thickness, torso width). A pose is twelve numbers
(where the pelvis stands, how the torso leans and the head tilts, and the angle of every limb); the same pose
gives each person its own keypoints through that person's proportions. Its skeleton is drawn as X-MDPT draws
OpenPose skeletons: every limb in its own fixed colour on black, with a dot at each keypoint.

A pair of a split is drawn from its global index: person P (a person of that split), a source image of P in
pose A, the target pose B as P's skeleton, and the answer, P in pose B. The splits' people never overlap, so
the test pairs show people that no training pair shows. RGB images, values in [-1, 1].
Shapes: N figures, K = 11 keypoints, S image side.
"""
from dataclasses import dataclass
from functools import lru_cache

import torch

KEYPOINTS = ("head", "neck", "pelvis", "left elbow", "left hand", "right elbow", "right hand", "left knee",
             "left foot", "right knee", "right foot")
# (name, from keypoint, to keypoint, appearance colour); drawn in this order, so later parts cover earlier ones
PARTS = (("left lower leg", 7, 8, "boots"), ("right lower leg", 9, 10, "boots"),
         ("left upper leg", 2, 7, "trousers"), ("right upper leg", 2, 9, "trousers"),
         ("torso", 1, 2, "shirt"), ("left upper arm", 1, 3, "shirt"), ("right upper arm", 1, 5, "shirt"),
         ("left lower arm", 3, 4, "skin"), ("right lower arm", 5, 6, "skin"), ("head", 1, 0, "skin"))
COLOURS = ("skin", "shirt", "trousers", "boots")
# pose parameters: pelvis x, y (in units of S/24 from its rest point), then angles in degrees, each a range
POSE_RANGES = {"pelvis x": (-3.0, 3.0), "pelvis y": (-1.5, 1.5), "torso lean": (-15.0, 15.0),
               "head tilt": (-25.0, 25.0), "left arm": (-20.0, 170.0), "left elbow": (-100.0, 100.0),
               "right arm": (-20.0, 170.0), "right elbow": (-100.0, 100.0), "left leg": (-5.0, 45.0),
               "left knee": (-60.0, 15.0), "right leg": (-5.0, 45.0), "right knee": (-60.0, 15.0)}
# Poses are drawn around a few archetypes, as fashion photographs cluster around a few stances: every angle of an
# archetype is jittered uniformly by POSE_JITTER of its range's width (then clamped to the range); where the pelvis
# stands is drawn over its whole range
POSE_ARCHETYPES = {"standing": (0, 0, 0, 0, 12, 5, 12, 5, 6, 0, 6, 0),
                   "arms up": (0, 0, 0, 0, 155, 10, 155, 10, 8, 0, 8, 0),
                   "arms out": (0, 0, 0, 0, 90, 0, 90, 0, 12, 0, 12, 0),
                   "waving": (0, 0, 5, 10, 10, 5, 120, 70, 6, 0, 6, 0),
                   "hands on hips": (0, 0, 0, 0, 35, 100, 35, 100, 10, 0, 10, 0),
                   "stepping": (0, 0, -5, 0, 20, -30, 40, 60, 35, -50, 0, 0),
                   "kicking": (0, 0, -10, 0, 60, 0, 60, 0, 0, 0, 45, 10),
                   "squatting": (0, 1, 10, -10, 80, -60, 80, -60, 40, -60, 40, -60)}
POSE_JITTER = (0.5, 0.5) + (0.15,) * 10  # per parameter, as a share of its range's width (0.5: the whole range)
# OpenPose-style limb colours of the skeleton image (RGB in [0, 1]), one per part in PARTS order
SKELETON_COLOURS = ((0.0, 1.0, 0.33), (0.0, 0.33, 1.0), (0.0, 1.0, 0.67), (0.0, 0.67, 1.0), (1.0, 0.0, 0.0),
                    (1.0, 0.33, 0.0), (0.67, 1.0, 0.0), (1.0, 0.67, 0.0), (0.33, 1.0, 0.0), (1.0, 0.0, 1.0))
BACKGROUND = 0.7  # light grey, in [-1, 1]
SPLITS = ("train", "test", "heldout")  # generator training; the chapter's test pairs; the evaluation network
SPLIT_PEOPLE = {"train": 5000, "test": 200, "heldout": 1000}


@dataclass
class Appearance:
    """What a person looks like: RGB colours (N, 4, 3) in [-1, 1] (skin, shirt, trousers, boots) and proportions
    (N, 3): height scale, limb thickness, torso width."""

    colours: torch.Tensor
    proportions: torch.Tensor

    def vector(self):
        """The appearance as one vector per person (N, 15): colours, then proportions."""
        return torch.cat([self.colours.flatten(1), self.proportions], dim=1)


def person_ids(split, count):
    """Global ids of the first `count` people of a split (splits never share a person)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}; got {split!r}")
    if not 1 <= count <= SPLIT_PEOPLE[split]:
        raise ValueError(f"count must be in 1..{SPLIT_PEOPLE[split]} for split {split}; got {count!r}")
    start = sum(SPLIT_PEOPLE[s] for s in SPLITS[: SPLITS.index(split)])
    return torch.arange(start, start + count)


@lru_cache(maxsize=1 << 14)
def _look(person):
    """One person's colours (4, 3) and proportions (3,), drawn from a generator seeded by the id alone."""
    g = torch.Generator().manual_seed(7_919 * person + 17)
    hue, value = torch.rand(4, generator=g), 0.35 + 0.6 * torch.rand(4, generator=g)
    saturation = 0.45 + 0.55 * torch.rand(4, generator=g)
    colours = hsv_to_rgb(hue, saturation, value) * 2 - 1
    return colours, torch.tensor([0.88, 0.8, 1.4]) + torch.tensor([0.2, 0.5, 0.7]) * torch.rand(3, generator=g)


def appearance(ids):
    """The appearance of people by global id (N,): each drawn from a generator seeded by the id alone."""
    looks = [_look(int(person)) for person in torch.as_tensor(ids).reshape(-1).tolist()]  # (N,) ids
    return Appearance(torch.stack([c for c, _ in looks]), torch.stack([p for _, p in looks]))


def hsv_to_rgb(h, s, v):
    """RGB (..., 3) in [0, 1] of hue, saturation, value (...) in [0, 1]."""
    k = (torch.tensor([5.0, 3.0, 1.0]) + 6 * h.unsqueeze(-1)) % 6
    return v.unsqueeze(-1) - v.unsqueeze(-1) * s.unsqueeze(-1) * (torch.minimum(k, 4 - k).clamp(0, 1))


def random_poses(n, generator):
    """Poses (N, 12): an archetype each (uniformly), each parameter jittered by its POSE_JITTER share, clamped."""
    low, high = (torch.tensor(bounds) for bounds in zip(*POSE_RANGES.values()))
    archetypes = torch.tensor(list(POSE_ARCHETYPES.values()), dtype=torch.float32)
    chosen = archetypes[torch.randint(len(archetypes), (n,), generator=generator)]
    jitter = (2 * torch.rand(n, len(POSE_RANGES), generator=generator) - 1) * torch.tensor(POSE_JITTER) * (high - low)
    return torch.maximum(torch.minimum(chosen + jitter, high), low)


def _direction(degrees):
    """Unit vectors (..., 2) of angles measured from straight down (+y), turning towards +x."""
    radians = torch.deg2rad(degrees)
    return torch.stack([torch.sin(radians), torch.cos(radians)], dim=-1)


def keypoints(poses, look, image_size=24):
    """Keypoints (N, 11, 2) in pixels (x, y) of people with appearance `look` in `poses` (N, 12)."""
    unit = image_size / 24 * look.proportions[:, 0:1]  # (N, 1): pixels per body unit
    p = dict(zip(POSE_RANGES, poses.unbind(1)))
    pelvis = torch.stack([image_size / 2 + image_size / 24 * p["pelvis x"],
                          0.56 * image_size + image_size / 24 * p["pelvis y"]], dim=-1)
    up = 180.0 + p["torso lean"]
    neck = pelvis + 6.0 * unit * _direction(up)
    head = neck + 2.6 * unit * _direction(up + p["head tilt"])
    points = {"head": head, "neck": neck, "pelvis": pelvis}
    for side, sign in (("left", -1.0), ("right", 1.0)):
        arm = p["torso lean"] + sign * p[f"{side} arm"]
        elbow = neck + 3.6 * unit * _direction(arm)
        points[f"{side} elbow"] = elbow
        points[f"{side} hand"] = elbow + 3.3 * unit * _direction(arm + sign * p[f"{side} elbow"])
        leg = sign * p[f"{side} leg"]
        knee = pelvis + 4.4 * unit * _direction(leg)
        points[f"{side} knee"] = knee
        points[f"{side} foot"] = knee + 4.2 * unit * _direction(leg + sign * p[f"{side} knee"])
    return torch.stack([points[name] for name in KEYPOINTS], dim=1)


def _segment_distances(grid, starts, ends):
    """Distance (N, P, S, S) from every pixel centre to each of P segments start-end (each (N, P, 2))."""
    gx, gy = grid
    ax, ay = starts[..., 0, None, None], starts[..., 1, None, None]  # (N, P, 1, 1) each
    dx, dy = ends[..., 0, None, None] - ax, ends[..., 1, None, None] - ay
    t = (((gx - ax) * dx + (gy - ay) * dy) / (dx * dx + dy * dy).clamp(min=1e-6)).clamp(0, 1)
    return torch.sqrt((gx - ax - t * dx) ** 2 + (gy - ay - t * dy) ** 2)


def _point_distances(grid, points):
    """Distance (N, P, S, S) from every pixel centre to each of P points (N, P, 2)."""
    gx, gy = grid
    return torch.sqrt((gx - points[..., 0, None, None]) ** 2 + (gy - points[..., 1, None, None]) ** 2)


def _pixel_grid(image_size):
    """Pixel centres as two (S, S) grids, x and y."""
    centres = torch.arange(image_size, dtype=torch.float32) + 0.5
    y, x = torch.meshgrid(centres, centres, indexing="ij")
    return x, y


def _paint(image, covers, colours):
    """Paint covers (N, P, S, S) in [0, 1] over image (N, 3, S, S) in order, part p in colours[:, p] (N, P, 3)."""
    for p in range(covers.shape[1]):
        cover = covers[:, p].unsqueeze(1)  # (N, 1, S, S)
        image = image * (1 - cover) + colours[:, p, :, None, None] * cover
    return image


_STARTS, _ENDS = [part[1] for part in PARTS], [part[2] for part in PARTS]


def render_people(points, look, image_size=24):
    """Images (N, 3, S, S) in [-1, 1] of people with appearance `look` at keypoints `points` (N, 11, 2).

    Limbs and the torso are capsules around their segments; the head is a disc around the head keypoint.
    """
    n, grid = points.shape[0], _pixel_grid(image_size)
    unit = (image_size / 24 * look.proportions[:, 0]).unsqueeze(1)  # (N, 1)
    distance = _segment_distances(grid, points[:, _STARTS], points[:, _ENDS])  # (N, 10, S, S)
    distance[:, -1] = _point_distances(grid, points[:, :1])[:, 0]  # the head: a disc around its keypoint
    radius = torch.cat([0.75 * look.proportions[:, 1:2].expand(n, 4), look.proportions[:, 2:3],
                        0.75 * look.proportions[:, 1:2].expand(n, 4), torch.full((n, 1), 2.1)], dim=1) * unit
    covers = torch.sigmoid((radius[:, :, None, None] - distance) / 0.35)
    colours = look.colours[:, [COLOURS.index(part[3]) for part in PARTS]]  # (N, 10, 3)
    return _paint(torch.full((n, 3, image_size, image_size), BACKGROUND), covers, colours)


def render_skeletons(points, image_size=24):
    """Skeleton images (N, 3, S, S) in [-1, 1] of keypoints (N, 11, 2): coloured limbs and dots on black."""
    n, grid = points.shape[0], _pixel_grid(image_size)
    limbs = torch.sigmoid((0.55 - _segment_distances(grid, points[:, _STARTS], points[:, _ENDS])) / 0.3)
    dots = torch.sigmoid((0.8 - _point_distances(grid, points)) / 0.3)  # (N, 11, S, S)
    palette = torch.tensor(SKELETON_COLOURS)
    colours = torch.cat([palette, palette[torch.arange(len(KEYPOINTS)) % len(palette)]]).expand(n, -1, -1)
    return _paint(torch.zeros(n, 3, image_size, image_size), torch.cat([limbs, dots], dim=1), colours) * 2 - 1


@dataclass
class Pairs:
    """A batch of pairs: person ids (N,), source images, target skeletons and answers (N, 3, S, S), keypoints of
    the source and target poses (N, 11, 2) and the people's appearance."""

    people: torch.Tensor
    source: torch.Tensor
    skeleton: torch.Tensor
    answer: torch.Tensor
    source_points: torch.Tensor
    target_points: torch.Tensor
    look: Appearance


def pair_people(split, indices, people_count=None):
    """The person of each pair of a split: pair i shows person i mod (the split's people)."""
    count = people_count or SPLIT_PEOPLE[split]
    ids = person_ids(split, count)
    return ids[torch.as_tensor([int(i) % count for i in indices], dtype=torch.long)]


def pose_pairs(indices, seed, split):
    """Poses A and B (N, 12) of each pair, each pair's drawn from a generator seeded by (seed, split, index)."""
    out = []
    for i in indices:
        g = torch.Generator().manual_seed((int(seed) * 3 + SPLITS.index(split)) * 1_000_003 + int(i))
        out.append(random_poses(2, g))
    stacked = torch.stack(out)  # (N, 2, 12)
    return stacked[:, 0], stacked[:, 1]


def make_pairs(people, poses_a, poses_b, image_size=24):
    """The pairs of people (N,) in source poses A and target poses B (each (N, 12))."""
    look = appearance(people)
    source_points, target_points = keypoints(poses_a, look, image_size), keypoints(poses_b, look, image_size)
    return Pairs(torch.as_tensor(people), render_people(source_points, look, image_size),
                 render_skeletons(target_points, image_size), render_people(target_points, look, image_size),
                 source_points, target_points, look)


def split_pairs(split, indices, seed=0, image_size=24, people_count=None):
    """The pairs of a split at global indices: person i mod (its people), poses from (seed, split, index)."""
    poses_a, poses_b = pose_pairs(indices, seed, split)
    return make_pairs(pair_people(split, indices, people_count), poses_a, poses_b, image_size)
