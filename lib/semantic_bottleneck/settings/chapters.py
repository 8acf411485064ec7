"""Each chapter's settings, declared once: a frozen dataclass per notebook, fields with their meaning and tiny default.

A notebook's parameters cell repeats these defaults for papermill and Colab (a test keeps the two equal);
`params/<profile>.yaml` holds what another profile changes. Settings every sampling chapter shares are declared once
in `core.SamplingSettings`; a chapter redeclares one (`like`) only to change its default.
"""
from dataclasses import dataclass
from typing import ClassVar

from .core import SamplingSettings, Settings, like, setting

RANKINGS = ("magnitude", "silu", "contribution")  # condition.reach.RANKINGS (a test keeps the two equal)
ROW_MAPPINGS = ("fraction", "threshold")
MASK_READINGS = ("per_sample", "global")
PARTS = ("tail", "head")


@dataclass(frozen=True)
class SimilaritySettings(Settings):
    """The similarity chapter (01): which models, the heatmap zoom, the timestep sweep, the sample check."""

    chapter: ClassVar[str] = "01_similarity"

    models: list[str] = setting(['tiny-class'],
        'registry names (semantic_bottleneck.registry): tiny-class, or real checkpoints such as repa-xl')
    zoom: int = setting(10, 'classes in the zoomed heatmap (Fig. 3, right)', low=1)
    timestep_points: int = setting(25, 'timesteps in the cosine-vs-t sweep (Appendix A.2)', low=1)
    sample_check: bool = setting(True, 'sample the tiny DiT and judge the samples with the evaluation classifier')


@dataclass(frozen=True)
class SparsitySettings(Settings):
    """The sparsity chapter (02): the head, the separation scores, t-SNE and the training-dynamics variants."""

    chapter: ClassVar[str] = "02_sparsity"

    models: list[str] = setting(['tiny-class'],
        'registry names (semantic_bottleneck.registry): tiny-class, or real checkpoints such as repa-xl')
    head_fraction: float = setting(0.05,
        'head: the top ceil(head_fraction x d) dimensions by magnitude of the mean c at t0', above=0, high=1)
    separation_windows: list[float] = setting([0.1, 1.0],
        'parts of the schedule after t0 whose timesteps give each class its points', above=0, high=1)
    separation_points: int = setting(10, 'timesteps per window (points per class)', low=1)
    max_classes: int = setting(50, 'classes used for t-SNE and the separation scores (drawn with `seed` if more)',
        low=2)
    neighbours: int = setting(5, 'k of the k-NN separation score', low=1)
    tsne_perplexity: float = setting(30.0, 't-SNE perplexity (capped at a third of the points)', above=0)
    variant_steps: int = setting(150, 'length of every training-dynamics variant run and of its matched baseline',
        low=1)
    variant_log_every: int = setting(50, 'log interval of the variant runs', low=1)
    timestep_counts: list[int] = setting([50, 100, 200, 500],
        'Fig. 43: training draws t from only this many evenly spaced timesteps', low=1)
    weight_decays: list[float] = setting([0.1],
        "Appendix A.3: AdamW weight decay of the variant runs (the baseline's is the main run's)", low=0)
    baseline_seeds: list[int] = setting([1],
        'other seeds for copies of the baseline: how far runs differ by chance alone', low=0)
    npr_tolerance: float = setting(0.02, 'nPR difference read as none when there are no other-seed copies', low=0)


@dataclass(frozen=True)
class PruningSettings(SamplingSettings):
    """The pruning chapter (03): models, judge, the paper's rows and their readings, sweeps, metrics."""

    chapter: ClassVar[str] = "03_pruning"

    models: list[str] = setting(['tiny-class'],
        'tiny-class, or real checkpoints: repa-xl, mg-xl, lightningdit-xl (-64ep)')
    samplers: dict[str, str] = setting({},
        "model -> sampler preset (semantic_bottleneck.sampling.presets); default: the registry's")
    judge: str = setting('eval-classifier',
        'study.judges name: eval-classifier (tiny, ci) | inception-clip (paper: Inception FID/IS, CLIP score)')
    classifier_profile: str = setting('', "eval-classifier: whose evaluation classifier judges (empty: this profile's)")
    row_mapping: str = setting('fraction',
        "fraction: the paper row's share of dimensions | threshold: the paper's tau itself", choices=ROW_MAPPINGS)
    mask_reading: str = setting('per_sample',
        'per_sample (each c, each step) | global (mean c over classes at t0, fixed)', choices=MASK_READINGS)
    last_k: int = setting(4, 'k of the t_{n-k,n} schedule (the paper does not give it)', low=1)
    other_reading_rows: bool = setting(True, 'also run the three tau 0.01 rows with the other mask reading')
    branch_rows: bool = setting(True, 'also run them pruning the conditional (not the CFG-unconditional) rows only')
    sweep_tail_fractions: list[float] = setting([0.2, 0.8],
        'extra shares of dimensions for the tail sweep (every step)', low=0, high=1)
    sweep_head_dims: list[int] = setting([2, 4, 8], 'extra numbers of head dimensions for the head sweep (every step)',
        low=1)
    sweep_k: list[int] = setting([1, 8], 'extra k values for last-k-steps pruning', low=1)
    rankings: list[str] = setting(['contribution', 'silu'],
        'SiLU-aware rankings (condition.reach) of extra rows beside the |c_i| ones', choices=RANKINGS)
    ranking_rows: list[str] = setting(['tail_tau0.01_every_step', 'tail_tau0.02_every_step', 'head_tau1.0_every_step'],
        'Table 2 every-step rows re-ranked')
    reference_size: int = setting(2000, 'real images in the reference set (eval-classifier judge)', low=2)
    headline_metric: str = setting('fid', 'the metric the sentences and the change figure follow')
    table_metrics: list[str] = setting(['removed_dims', 'fid', 'kid', 'is', 'is10', 'class_agreement'],
        'Table 2 analog (paper: clip)')
    table6_metrics: list[str] = setting(['precision', 'recall', 'kid'], 'Table 6 analog')
    sweep_metrics: list[str] = setting(['fid', 'is', 'class_agreement', 'recall'], 'against the share removed')
    k_sweep_metrics: list[str] = setting(['fid', 'class_agreement'], 'against k')


@dataclass(frozen=True)
class PoseSettings(SamplingSettings):
    """The pose-guided chapter (04): models, sampler presets, statistics, the share rows and their metrics."""

    chapter: ClassVar[str] = "04_pose_guided"

    models: list[str] = setting(['tiny-pose'],
        'models measured and pruned: tiny-pose, or released checkpoints: xmdpt-l, -b, -s')
    statistics_only: list[str] = setting([],
        "models whose c is measured but not pruned (paper: Table 5's X-MDPT-B and -S)")
    presets: list[str] = setting(['tiny-pose-ddim-10', 'tiny-pose-ddim-10-unguided'],
        'one pruning study per sampler preset: with, without CFG')
    judge: str = setting('tiny-eval',
        'study.judges name: tiny-eval | inception-lpips (paper: Inception FID, LPIPS) | pixels (offline smoke tests)')
    deepfashion_dir: str = setting('',
        "paper: DeepFashion in PIDM's layout (empty: $SEMANTIC_BOTTLENECK_DEEPFASHION or the cache)")
    statistics_pairs: int = setting(64,
        'random test pairs whose c at the first step gives Tables 1 and 5 and Figs 4 and 33', low=2)
    grid_sources: int = setting(8, "sources (people) x target poses of the person/pose split of c's variance", low=1)
    grid_poses: int = setting(8, 'target poses of that split', low=1)
    head_dims: int = setting(8, "c's largest |mean c_i| dimensions, each split into person, pose and interaction",
        low=1)
    tau: float = setting(0.1, "Table 7's threshold (tail rows zero |c_i| < tau)", above=0)
    shares: list[float] = setting([0.4, 0.5, 0.75, 0.9],
        'shares of d zeroed by the share rows (tail: smallest |c_i|; head: largest)', low=0, high=1)
    parts: list[str] = setting(['tail', 'head'], 'which end of c the share rows zero', choices=PARTS)
    mask_readings: list[str] = setting(['per_sample', 'global'],
        'per_sample: each c, each step | global: mean c over reference pairs at t0', choices=MASK_READINGS)
    row_mapping: str = setting('fraction',
        "Table 7's pruned row is our tail 40% row (fraction) or our tail tau row (threshold)", choices=ROW_MAPPINGS)
    samples_per_seed: int = like(SamplingSettings, 'samples_per_seed', 32)
    kid_subsets: int = like(SamplingSettings, 'kid_subsets', 20)
    kid_subset_size: int = like(SamplingSettings, 'kid_subset_size', 32)
    grid_samples: int = like(SamplingSettings, 'grid_samples', 6)
    rankings: list[str] = setting(['contribution'],
        "SiLU-aware rankings (silu, contribution) whose tail and head rows at Table 7's share are added",
        choices=RANKINGS)
    table_metrics: list[str] = setting(
        ['removed_dims', 'kid', 'fid', 'ssim', 'lpips', 'psnr', 'pose_accuracy', 'person_preservation'],
        'tables')
    sweep_metrics: list[str] = setting(['kid', 'ssim', 'pose_accuracy', 'person_preservation'],
        'against the share removed')


@dataclass(frozen=True)
class AudioSettings(SamplingSettings):
    """The video-to-audio chapter (05): model, features, statistics, the pruning rows and the players."""

    chapter: ClassVar[str] = "05_video_to_audio"

    model: str = setting('tiny-mdsgen', 'tiny-mdsgen (trained here), or the real checkpoint mdsgen-b (paper profile)')
    cavp_features: str = setting('',
        'paper: a folder of CAVP .npz files (empty: $SEMANTIC_BOTTLENECK_CAVP, else the official example)')
    samplers: dict[str, str] = setting({},
        "model -> sampler preset (semantic_bottleneck.sampling.presets); default: the registry's")
    judge: str = setting('audio-eval-network',
        'study.judges name: audio-eval-network (tiny, ci) | ast (paper: AST features, unpruned reference)')
    stat_clips: int = setting(256, 'clips whose c the statistics use (paper: at most the number of CAVP files)', low=2)
    head_fraction: float = setting(0.05, 'head: the top ceil(head_fraction x d) dimensions by |mean c| at t0',
        above=0, high=1)
    folds: int = setting(5, 'groups of the leave-one-group-out k-NN score (clip index mod folds)', low=2)
    neighbours: int = setting(5, 'k of the k-NN score', low=1)
    tsne_perplexity: float = setting(30.0, 't-SNE perplexity (capped at a third of the clips)', above=0)
    samples_per_seed: int = like(SamplingSettings, 'samples_per_seed', 64)
    tail_shares: list[float] = setting([0.1, 0.25, 0.5, 0.9],
        "tail rows: shares of c's coordinates with the smallest |c_i| zeroed (per sample)", low=0, high=1)
    head_dims: list[int] = setting([1, 2, 4], "head rows: numbers of c's largest |c_i| zeroed (per sample)", low=1)
    tail_taus: list[float] = setting([0.3], 'tail rows by threshold: |c_i| < tau zeroed (tiny: about a tenth of c)',
        above=0)
    head_taus: list[float] = setting([8.0], 'head rows by threshold: |c_i| > tau zeroed (tiny: about 4 dimensions)',
        above=0)
    contribution_tail_shares: list[float] = setting([0.5],
        'tail rows ranked by contribution |SiLU(c_i)| x gain_i, not |c_i| (per sample)', low=0, high=1)
    contribution_head_dims: list[int] = setting([4],
        'head rows by contribution (per sample); pair each with a |c_i| row of that size', low=1)
    global_rows: bool = setting(True,
        "also every share row with one global mask (mean c over the embedding's clips at t0)")
    unguided: bool = setting(True, "also the share rows without guidance (the sampler's -no-cfg twin)")
    reference_size: int = setting(500, 'real clips (tiny) or unpruned samples (paper) in the reference set', low=2)
    kid_subset_size: int = like(SamplingSettings, 'kid_subset_size', 64)
    grid_samples: int = like(SamplingSettings, 'grid_samples', 6)
    grid_rows: list[str] = setting(['tail_share0.25', 'tail_share0.5', 'tail_share0.9', 'head_dims4'],
        'pruned rows of the spectrogram grid')
    player_rows: list[str] = setting(['tail_share0.5', 'tail_share0.9', 'head_dims4'], 'pruned rows in the players')
    players: int = setting(3, 'clips with players (at most grid_samples)', low=0)
    table_metrics: list[str] = setting(['fid', 'onset_f1', 'event_accuracy', 'pitch_accuracy'],
        'the pruning table (paper: fid, is, audioset_agreement)')
    sweep_metrics: list[str] = setting(['fid', 'onset_f1', 'event_accuracy', 'pitch_accuracy'],
        'against the share removed')


@dataclass(frozen=True)
class ComputeSettings(SamplingSettings):
    """The compute chapter (06): the compressed model, the timings, and the directions-vs-coordinates study."""

    chapter: ClassVar[str] = "06_compute"

    compress_model: str = setting('tiny-class',
        'the model whose modulation layers section 2 compresses, checks and times')
    compressed_model: str = setting('tiny-class-compressed',
        'its registered compressed twin: a checkpoint written and read back here')
    kept_sweep: list[float] = setting([0.5, 0.25, 0.1, 0.02],
        "kept shares of c timed beside those of Table 2's tail rows at tau 0.01 and 0.02", above=0, high=1)
    timing_batches: list[int] = setting([1, 8], 'batch sizes of the forward-time measurements', low=1)
    timing_repeats: int = setting(30, 'interleaved repeats per network and batch size (the median is shown)', low=1)
    xl_architectures: list[str] = setting([],
        'official architectures (labels of registry.architectures()) also timed, random weights')
    xl_repeats: int = setting(3, 'repeats of those timings', low=1)
    equality_samples: int = setting(16, 'samples on which the pruned sampler and the compressed network are compared',
        low=1)
    direction_models: list[str] = setting(['tiny-class', 'tiny-pose', 'tiny-mdsgen'], 'the tiny models of section 3')
    judges: dict[str, str] = setting(
        {'tiny-class': 'eval-classifier', 'tiny-pose': 'tiny-eval-agreement', 'tiny-mdsgen': 'audio-eval-network'},
        'model -> judge (study.judges name)')
    ranks: list[int] = setting([1, 2, 4, 8, 16, 64],
        'r: coordinates (global mask) or principal directions of c kept (only r < D runs)', low=1)
    samplers: dict[str, str] = setting({},
        "model -> sampler preset (semantic_bottleneck.sampling.presets); default: the registry's")
    samples_per_seed: int = like(SamplingSettings, 'samples_per_seed', 60)
    reference_size: int = setting(500,
        'real samples in the reference set (class and audio judges; pose: the evaluated answers)', low=2)
    kid_subsets: int = like(SamplingSettings, 'kid_subsets', 20)
    kid_subset_size: int = like(SamplingSettings, 'kid_subset_size', 50)
    grid_samples: int = like(SamplingSettings, 'grid_samples', 8)
    grid_models: list[str] = setting(['tiny-class', 'tiny-pose'], 'models whose samples are shown (image models)')
    grid_ranks: list[int] = setting([4, 16], 'ranks shown in those grids', low=1)
    threads: int = like(SamplingSettings, 'threads', 1)
    headline_metric: str = setting('fid',
        'the distribution metric the figure and the sentences follow, beside each agreement')


@dataclass(frozen=True)
class MechanismSettings(SamplingSettings):
    """The mechanisms chapter (07): the three conditioning paths, their statistics and pruning rows."""

    chapter: ClassVar[str] = "07_mechanisms"

    mechanisms: dict[str, str] = setting(
        {'adaLN-Zero': 'tiny-class', 'in-context': 'tiny-in-context', 'cross-attention': 'tiny-cross-attention'},
        '')
    taus: list[float] = setting([0.01, 0.02, 0.05],
        "thresholds of the sparsity columns (fraction of the mean vector's |v_i| below tau)", above=0)
    head_fraction: float = setting(0.05, 'the variance head: the top share of dimensions by variance across classes',
        above=0, high=1)
    tail_shares: list[float] = setting([0.4, 0.66],
        "shares of the entering vector zeroed from the tail (about Table 2's 39% and 66%)", low=0, high=1)
    head_shares: list[float] = setting([0.01, 0.05],
        'shares zeroed from the head (the largest |v_i|; at least one coordinate)', above=0, high=1)
    samplers: dict[str, str] = setting({},
        "model -> sampler preset (semantic_bottleneck.sampling.presets); default: the registry's")
    judge: str = setting('eval-classifier', "the pruning chapter's judge of the tiny class models (study.judges)")
    reference_size: int = setting(2000, 'real images in the reference set', low=2)
    headline_metric: str = setting('fid', 'the metric of the change figure and the sentences')
    metrics: list[str] = setting(['fid', 'kid', 'class_agreement'], 'the metrics of the tables')
    paper_models: list[str] = setting([],
        "paper profile: the paper's other models, read from their checkpoints (registry names)")



@dataclass(frozen=True)
class HypothesesSettings(Settings):
    """The hypotheses chapter (08): H1's models and timesteps, H2's pruning rows, H3's gains, H4's sweep, the U-Net."""

    chapter: ClassVar[str] = "08_hypotheses"

    h1_models: list[str] = setting(['tiny-class', 'tiny-pose', 'tiny-mdsgen'],
        "H1: models whose t share and cosine are read over t (c is y + t; paper: also the released checkpoints)")
    timestep_points: int = setting(11, "H1: timesteps per model over its time range (0 to 999, or 0 to 1)", low=2)
    h2_model: str = setting('tiny-class', 'H2: the class model whose sampling is pruned')
    h2_sampler: str = setting('', "H2: sampler preset (semantic_bottleneck.sampling.presets); empty: the registry's")
    tail_share: float = setting(0.5, "H2: share of c's coordinates zeroed from the tail (smallest |c_i|, per sample)",
        above=0, high=1)
    k: int = setting(3, 'H2: pruning only in the first k or only in the last k steps', low=1)
    samples_per_seed: int = setting(100, 'H2: samples per seed and row (labels cycle over the classes)', low=1)
    seeds: int = setting(3, 'H2: seeds per row (disjoint blocks of sample indices)', low=2,
        why='the noise floor and the 95% intervals of the verdicts need two or more seeds')
    batch_size: int = setting(100, 'samples per network call (CFG doubles the rows)', low=1)
    h3_models: list[str] = setting(['tiny-class', 'tiny-pose', 'tiny-mdsgen'],
        'H3: models whose modulation gains are read (paper: every released checkpoint, weights only)')
    head_fraction: float = setting(0.05, 'H3: the head, the top ceil(head_fraction x d) coordinates of |mean c| at t0',
        above=0, high=1)
    gain_draws: int = setting(2000, 'H3: random coordinate sets of the head size that give the null interval', low=20)
    sweep_width: int = setting(64, 'H1 control and H4: width of the small DiT', low=8)
    sweep_depth: int = setting(2, 'H1 control and H4: depth of the small DiT', low=1)
    sweep_steps: int = setting(400, 'H1 control and H4: training steps of the base cell', low=1)
    long_steps: int = setting(1200, "H4: training steps of the training-length cell", low=1)
    sweep_batch: int = setting(32, 'H1 control and H4: batch size', low=1)
    sweep_lr: float = setting(2e-3, 'H1 control and H4: AdamW learning rate', above=0)
    sgd_lr: float = setting(0.05, "H4: learning rate of the SGD-with-momentum cell (SGD needs a larger one)", above=0)
    weight_decays: list[float] = setting([0.1, 1.0], 'H4: weight decays of the decay cells (the base has 0)', above=0)
    sweep_seeds: list[int] = setting([0, 1], 'H1 control and H4: training seeds of every cell', low=0)
    sweep_log_every: int = setting(50, 'H1 control and H4: steps between logged nPR and cosine', low=1)
    quality_samples: int = setting(200, 'samples per small model (DiT or U-Net) judged by the evaluation classifier',
        low=1)
    unet_channels: list[int] = setting([16, 32], "U-Net: channels of each resolution (diffusers' block_out_channels)",
        low=8)
    unet_steps: int = setting(250, 'U-Net: training steps of each arm', low=1)
    unet_lr: float = setting(4e-3, 'U-Net: AdamW learning rate', above=0)
    unet_seeds: list[int] = setting([0, 1], 'U-Net: training seeds of each arm', low=0)
    threads: int = setting(0, 'CPU threads while training and sampling (0 keeps torch\'s)', low=0)
