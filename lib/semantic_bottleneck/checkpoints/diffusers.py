"""The diffusers layout of a DiT: convert a DiT into `DiTTransformer2DModel` computing the same function.

diffusers copies the embedder into every block and runs its sinusoid with `downscale_freq_shift=1`; the
conversion switches it back to the original formulation (models.md section 6.1).
"""
import torch

def diffusers_config(config):
    """The `DiTTransformer2DModel` arguments equivalent to a `nets.dit.DiTConfig`."""
    return dict(num_attention_heads=config.num_heads, attention_head_dim=config.hidden_size // config.num_heads,
                in_channels=config.in_channels, out_channels=config.in_channels * (2 if config.learn_sigma else 1),
                num_layers=config.depth, dropout=0.0, norm_num_groups=32, attention_bias=True,
                sample_size=config.image_size, patch_size=config.patch_size, activation_fn="gelu-approximate",
                num_embeds_ada_norm=config.num_classes, upcast_attention=False, norm_type="ada_norm_zero",
                norm_elementwise_affine=False, norm_eps=1e-6)


@torch.no_grad()
def to_diffusers(model):
    """Convert a `nets.dit.DiT` into diffusers' `DiTTransformer2DModel` computing the same function.

    The embedder is copied into every block (diffusers keeps one copy per block) and each copy's sinusoid
    is switched to the original formulation (`downscale_freq_shift = 0`; models.md section 6.1).
    """
    from diffusers import DiTTransformer2DModel

    config, state = model.config, model.state_dict()
    out = DiTTransformer2DModel(**diffusers_config(config)).eval()
    d = config.hidden_size
    mapped = {"pos_embed.proj.weight": state["x_embedder.proj.weight"],
              "pos_embed.proj.bias": state["x_embedder.proj.bias"],
              "proj_out_1.weight": state["final_layer.adaLN_modulation.1.weight"],
              "proj_out_1.bias": state["final_layer.adaLN_modulation.1.bias"],
              "proj_out_2.weight": state["final_layer.linear.weight"],
              "proj_out_2.bias": state["final_layer.linear.bias"]}
    for i in range(config.depth):
        src, dst = f"blocks.{i}.", f"transformer_blocks.{i}."
        emb = dst + "norm1.emb."
        mapped.update({emb + "class_embedder.embedding_table.weight": state["y_embedder.embedding_table.weight"],
                       emb + "timestep_embedder.linear_1.weight": state["t_embedder.mlp.0.weight"],
                       emb + "timestep_embedder.linear_1.bias": state["t_embedder.mlp.0.bias"],
                       emb + "timestep_embedder.linear_2.weight": state["t_embedder.mlp.2.weight"],
                       emb + "timestep_embedder.linear_2.bias": state["t_embedder.mlp.2.bias"],
                       dst + "norm1.linear.weight": state[src + "adaLN_modulation.1.weight"],
                       dst + "norm1.linear.bias": state[src + "adaLN_modulation.1.bias"],
                       dst + "attn1.to_out.0.weight": state[src + "attn.proj.weight"],
                       dst + "attn1.to_out.0.bias": state[src + "attn.proj.bias"],
                       dst + "ff.net.0.proj.weight": state[src + "mlp.fc1.weight"],
                       dst + "ff.net.0.proj.bias": state[src + "mlp.fc1.bias"],
                       dst + "ff.net.2.weight": state[src + "mlp.fc2.weight"],
                       dst + "ff.net.2.bias": state[src + "mlp.fc2.bias"]})
        for j, name in enumerate(("to_q", "to_k", "to_v")):
            mapped[dst + f"attn1.{name}.weight"] = state[src + "attn.qkv.weight"][j * d:(j + 1) * d]
            mapped[dst + f"attn1.{name}.bias"] = state[src + "attn.qkv.bias"][j * d:(j + 1) * d]
    out.load_state_dict(mapped, strict=True)
    out.pos_embed.pos_embed.copy_(state["pos_embed"])
    for block in out.transformer_blocks:
        block.norm1.emb.time_proj.downscale_freq_shift = 0
    return out
