"""Feature extractors and per-sample agreement scores that a `metrics.Judge` scores samples with.

An extractor maps images in [-1, 1] to (features (N, F), logits (N, K)). The `tiny`/`ci` profiles use an
evaluation classifier trained here (`ClassifierFeatures`, built in `tiny`); the `paper` profile uses
torchmetrics' FID Inception network (`InceptionFeatures`, which needs torch-fidelity: imported only
there) and a CLIP score (`ClipScorer`, transformers), and for sound AST's features and AudioSet classes
(`AstFeatures`, `AudioSetAgreement`). `study.judges` assembles them into the registered judges.
"""
import torch


class ClassifierFeatures:
    """The tiny profile's extractor: the evaluation classifier's pooled features and logits."""

    def __init__(self, classifier):
        self.classifier = classifier.eval()
        self.num_features = classifier.num_features
        self.name = f"eval-classifier features ({classifier.num_features}-d)"

    @torch.no_grad()
    def __call__(self, images):
        device = next(self.classifier.parameters()).device
        features = self.classifier.features(images.float().to(device))
        return features.cpu(), self.classifier.head(features).cpu()


def to_uint8(images):
    """Images in [-1, 1] as the uint8 levels of a saved sample: the nearest of 256 levels, clamped.

    This is clamp(127.5 x + 128, 0, 255) truncated, as DiT's and LightningDiT's sampling scripts write
    their samples; it maps k / 127.5 - 1 back to k exactly (ADM's reference images round-trip).
    """
    return (127.5 * images.float() + 128).clamp(0, 255).to(torch.uint8)


class InceptionFeatures:
    """The paper profile's extractor: the FID Inception-v3's pool3 features (N, 2048) and unbiased logits (N, 1008).

    torchmetrics' `NoTrainInceptionV3` with torch-fidelity's port of the TF graph's weights (downloaded by
    torch-fidelity unless `weights_path` is given). Images are quantised with `to_uint8` and resized to 299
    with torch-fidelity's TF1-style bilinear filter (`antialias=False`), like ADM's evaluator.
    """

    def __init__(self, device="cpu", weights_path=None):
        from torchmetrics.image.fid import NoTrainInceptionV3  # needs torch-fidelity (paper profile only)

        # its forward returns the first listed feature only; the logits come from the same fc weight in __call__
        self.net = NoTrainInceptionV3(name="inception-v3-compat", features_list=["2048"],
                                      feature_extractor_weights_path=weights_path, antialias=False).to(device)
        self.device, self.num_features = device, 2048
        self.name = "Inception-v3 pool3 (2048-d, torch-fidelity FID weights, TF1 bilinear resize)"

    @torch.no_grad()
    def __call__(self, images):
        features = self.net(to_uint8(images).to(self.device))
        logits = features @ self.net.fc.weight.T  # torch-fidelity's "logits_unbiased": the fc layer without its bias
        return features.float().cpu(), logits.float().cpu()


class ClassifierAgreement:
    """Per image: 1 if the evaluation classifier assigns it to the requested class, else 0."""

    name = "class agreement (eval classifier)"
    column = "class_agreement"

    def __call__(self, images, labels, logits, indices=None):
        return (logits.argmax(1) == torch.as_tensor(labels)).float()


CLIP_MODEL = "openai/clip-vit-large-patch14"


def check_prompts(class_names, prompt):
    """ValueError unless `class_names` is a non-empty sequence of names and `prompt` has a `{}` slot for one."""
    if class_names is None or isinstance(class_names, str) or len(class_names) == 0:
        raise ValueError(f"class_names must be a non-empty sequence of class names; got {class_names!r}")
    if "{}" not in prompt:
        raise ValueError(f"prompt must contain {{}} where the class name goes; got {prompt!r}")


class ClipScorer:
    """Per image: 100 * max(cos(CLIP image, CLIP text), 0) with the prompt "a photo of a {class name}".

    The paper reports a CLIP score without defining it; this is torchmetrics' CLIPScore convention
    (w = 100) with the ViT-L/14 model it defaults to. `model` and `processor` are transformers' `CLIPModel`
    and `CLIPProcessor` (loaded by `checkpoints.judge_files.load_clip_scorer`), named `model_name`. Images go
    to the processor as uint8 (3, H, W) tensors (`to_uint8`), which it rescales, resizes, crops and
    normalises as it would PIL images.
    """

    column = "clip"

    def __init__(self, class_names, model, processor, model_name=CLIP_MODEL, prompt="a photo of a {}", device="cpu"):
        check_prompts(class_names, prompt)
        self.model, self.processor = model.to(device).eval(), processor
        self.class_names, self.prompt, self.device = list(class_names), prompt, device
        self.name = f"CLIP score ({model_name}, prompt {prompt.format('{class name}')!r}, scale 100)"

    def prompts(self, labels):
        """The text each label is scored against."""
        return [self.prompt.format(self.class_names[int(k)]) for k in labels]

    @torch.no_grad()
    def __call__(self, images, labels, logits, indices=None):
        batch = self.processor(text=self.prompts(labels), images=list(to_uint8(images).cpu()), return_tensors="pt",
                               padding=True).to(self.device)
        out = self.model(**batch)  # image_embeds, text_embeds: projected and L2-normalised
        return (100 * (out.image_embeds * out.text_embeds).sum(-1)).clamp(min=0).float().cpu()


class AstFeatures:
    """Spectrograms -> sound (the model's vocoder) -> AST: pooled features (N, 768) and AudioSet logits (N, 527).

    `feature_extractor` and `model` are transformers' `ASTFeatureExtractor` and `ASTForAudioClassification` (loaded by
    `checkpoints.mdsgen.load_ast`), named `name`; `sound` turns spectrograms into waves at `sound.rate`.
    """

    def __init__(self, sound, feature_extractor, model, name, device="cpu"):
        self.sound, self.feature_extractor, self.model, self.device = sound, feature_extractor, model, device
        self.num_features = model.config.hidden_size
        self.name = f"AST {name} on the vocoded sound ({self.num_features}-d pooled features, AudioSet logits)"

    @torch.no_grad()
    def __call__(self, images):
        waves = [w.numpy() for w in self.sound(images)]
        inputs = self.feature_extractor(waves, sampling_rate=self.sound.rate, return_tensors="pt")
        pooled = self.model.audio_spectrogram_transformer(inputs["input_values"].to(self.device)).pooler_output
        return pooled.float().cpu(), self.model.classifier(pooled).float().cpu()


class AudioSetAgreement:
    """Per sample: 1 if AST's top AudioSet class is the one the unpruned samples of its CAVP file get most often."""

    column = "audioset_agreement"
    name = "AudioSet top class = the unpruned model's most frequent one for the same CAVP file (AST)"

    def __init__(self, majority, files):
        self.majority, self.files = majority, files

    def __call__(self, images, conditions, logits, indices):
        expected = torch.as_tensor([self.majority[int(i) % self.files] for i in indices])
        return (logits.argmax(1) == expected).float()
