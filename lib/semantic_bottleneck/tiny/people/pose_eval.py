"""The tiny pose model's evaluation network (trained on the held-out people) and the judge parts built on it.

The evaluation network (`pose_encoders`, task `person`, split `heldout`, its own seed) reads a generated image's
keypoints and appearance. It gives the tiny profile's FID features (its class token, standing in for Inception's
pool features), two scores the paper does not have, and the profile's LPIPS stand-in:
- **pose accuracy**: the share of the 11 keypoints it finds within `threshold` x S pixels of the target pose's;
- **person preservation**: how well the source's person is re-identified from the appearance it reads: the share
  of the split's other people whose appearance lies farther from it than the source person's (1: the source's
  person is the nearest; 0.5: chance);
- **LPIPS stand-in**: LPIPS' formula without its learned weights on this network's two token layers (each
  token unit-normalised over channels, squared differences averaged over channels and tokens, summed over
  layers). LPIPS itself needs ImageNet-trained AlexNet/VGG weights, which the tiny profile cannot download.
Shapes: N images, S side, K = 11 keypoints.
"""
import torch
import torch.nn.functional as F

from ...profiles import check_profile
from . import bodies
from .pose_encoders import EncoderConfig, load_or_train_encoder

NETWORKS = {"tiny": EncoderConfig(task="person", split="heldout", token_width=64, steps=500, seed=1),
              "ci": EncoderConfig(task="person", split="heldout", token_width=64, steps=80, seed=1)}
KEYPOINT_OUTPUTS = 2 * len(bodies.KEYPOINTS)


def load_eval_network(profile, progress=True):
    """The cached evaluation network of a profile (`paper` uses the `tiny` one): (network, keypoint error px)."""
    return load_or_train_encoder(NETWORKS["tiny" if check_profile(profile) == "paper" else profile], progress)


def _resized(images, size):
    """Images (N, 3, H, W) at the network's side S (bilinear, antialiased; unchanged when already S x S)."""
    if images.shape[-2:] == (size, size):
        return images.float()
    return F.interpolate(images.float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False)


class PoseEvalFeatures:
    """The tiny profile's extractor: (class token (N, F), predictions (N, 37): keypoints in [-1, 1], appearance)."""

    def __init__(self, network, image_size=24):
        self.network, self.image_size = network.eval(), image_size
        self.num_features = network.token_width
        self.name = f"pose evaluation network, class token ({network.token_width}-d; trained on held-out people)"

    @torch.no_grad()
    def __call__(self, images):
        tokens = self.network.tokens(_resized(images, self.image_size))
        return tokens[:, 0].cpu(), self.network.head(tokens.flatten(1)).cpu()


class PoseAccuracy:
    """Per image: the share of keypoints found within `threshold` x S of the target pose's keypoints."""

    column = "pose_accuracy"

    def __init__(self, pairs, image_size=24, threshold=0.1):
        self.pairs, self.image_size, self.threshold = pairs, image_size, threshold
        self.name = (f"pose accuracy: share of the {len(bodies.KEYPOINTS)} keypoints the evaluation network finds within "
                     f"{threshold:g} S ({threshold * image_size:.1f} px) of the target pose's")

    def __call__(self, images, conditions, logits, indices):
        found = (logits[:, :KEYPOINT_OUTPUTS] + 1) / 2 * self.image_size
        wanted = self.pairs.pairs(indices).target_points.reshape(len(indices), -1)  # (N, 22)
        error = (found - wanted).reshape(len(indices), -1, 2).norm(dim=-1)  # (N, K)
        return (error <= self.threshold * self.image_size).float().mean(1)


class PersonPreservation:
    """Per image: the share of the split's other people whose appearance is farther from the one the evaluation
    network reads than the source person's (1: re-identified as the nearest; 0.5: chance)."""

    column = "person_preservation"

    def __init__(self, pairs):
        self.pairs = pairs
        count = bodies.SPLIT_PEOPLE[pairs.split]
        self.ids = bodies.person_ids(pairs.split, count)
        look = bodies.appearance(self.ids)
        self.gallery = torch.cat([look.colours.flatten(1), (look.proportions - 1.2) * 3], dim=1)  # (P, 15)
        self.name = (f"person preservation: share of the other {count - 1} {pairs.split} people whose appearance is "
                     "farther from the one read than the source person's (1: nearest; 0.5: chance)")

    def __call__(self, images, conditions, logits, indices):
        distance = torch.cdist(logits[:, KEYPOINT_OUTPUTS:].double(), self.gallery.double())  # (N, P)
        own = (self.ids[None] == bodies.pair_people(self.pairs.split, indices)[:, None])  # (N, P), one True per row
        own_distance = distance[own][:, None]  # (N, 1)
        return ((distance > own_distance).sum(1).double() / (len(self.ids) - 1)).float()


def _unit_layers(network, images):
    """The network's two token layers (embedded patches, final tokens), each token unit-normalised over channels."""
    patches = network.patch(images).flatten(2).transpose(1, 2) + network.pos_embed  # (N, G^2, w)
    return [F.normalize(layer, dim=-1, eps=1e-10) for layer in (patches, network.tokens(images))]


class FeatureDistance:
    """The tiny profile's LPIPS stand-in: LPIPS' formula without learned weights on the evaluation network's layers."""

    column = "lpips"

    def __init__(self, network, pairs, image_size=24):
        self.network, self.pairs, self.image_size = network.eval(), pairs, image_size
        self.name = ("LPIPS stand-in (not LPIPS): unweighted LPIPS formula on the pose evaluation network's two "
                     "token layers (LPIPS needs ImageNet AlexNet weights)")

    @torch.no_grad()
    def __call__(self, images, conditions, logits, indices):
        made = _unit_layers(self.network, _resized(images, self.image_size))
        real = _unit_layers(self.network, _resized(self.pairs.answers(indices), self.image_size))
        return sum((a - b).square().mean(dim=(1, 2)) for a, b in zip(made, real)).cpu()
