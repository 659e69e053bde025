"""Pretraining the lower layers as a GAN's discriminator (Goodfellow et al. 2014; Géron, ch. 11).

A generator G maps noise z ~ N(0, I) to samples; a discriminator D, the network of the spec's hidden layers
with a one-logit head, learns to tell training samples from G's, without labels. Non-saturating losses:
```
D:  L_D = BCE(D(x), 1) + BCE(D(G(z)), 0)        x: a batch of real samples, z: as many noise vectors
G:  L_G = BCE(D(G(z)), 1)                        one D step, then one G step, per batch
```
The discriminator's hidden layers then initialise a classifier, as Radford et al. (2016) reuse a DCGAN
discriminator's features. The generator is a dense net mirroring the hidden widths, with a linear output.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from deepfit.errors import ConfigError, DataError
from deepfit.nn import ModelSpec, build_model
from deepfit.optim import build_optimizer
from deepfit.train import UpdateRule

Tensor = torch.Tensor


@dataclass
class GAN:
    """A generator (latent_dim -> the input's features) and a discriminator (the spec's lower layers + `critic`)."""

    generator: nn.Sequential
    discriminator: nn.Sequential
    latent_dim: int

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """`n` generated samples (n, features), without gradient."""
        device = next(self.generator.parameters()).device
        with torch.no_grad():
            return self.generator(torch.randn(n, self.latent_dim, device=device, generator=generator))


def build_gan(spec: ModelSpec, latent_dim: int = 32) -> GAN:
    """The untrained GAN of `spec`: D is `build_model(spec)` with its head replaced by a one-logit `critic`."""
    if latent_dim < 1:
        raise ConfigError(f"gan: latent_dim must be >= 1, got {latent_dim}")
    lower = [(name, m) for name, m in build_model(spec).named_children() if name != "output"]
    width = spec.hidden[-1] if spec.hidden else spec.in_features
    discriminator = nn.Sequential(OrderedDict([*lower, ("critic", nn.Linear(width, 1))]))
    mirrored = ModelSpec(input_shape=(latent_dim,), num_outputs=spec.in_features, hidden=spec.hidden[::-1],
                         activation=spec.activation, init=spec.init)
    return GAN(build_model(mirrored), discriminator, latent_dim)


def hand_over(spec: ModelSpec, discriminator: nn.Sequential) -> nn.Sequential:
    """The model of `spec` with copies of the discriminator's lower layers; its head stays untrained."""
    model = build_model(spec)
    for name, child in model.named_children():
        if name != "output":
            child.load_state_dict(getattr(discriminator, name).state_dict())
    return model


def train_gan(
    spec: ModelSpec,
    x: Tensor,
    *,
    valid: Tensor | None = None,
    latent_dim: int = 32,
    rule: UpdateRule,
    epochs: int = 5,
    batch_size: int = 32,
    device: torch.device | str = "cpu",
    seed: int = 0,
) -> tuple[GAN, list[dict[str, float]]]:
    """Train the GAN of `spec` on the unlabelled samples `x`; returns it and one history row per epoch.

    Both networks get `rule`'s optimizer and hyperparameters (its schedule, clipping and penalties are not
    applied). A row holds the mean `d_loss` and `g_loss`, and D's accuracy on the epoch's real and generated
    batches (`d_acc`); with `valid`, `val_d_acc` on those samples and as many fresh generated ones.
    """
    if len(x) < batch_size:
        raise DataError(f"gan: {len(x)} training samples, fewer than one batch of {batch_size}")
    torch.manual_seed(seed)
    gan = build_gan(spec, latent_dim)
    G, D = gan.generator.to(device), gan.discriminator.to(device)
    opt_g = build_optimizer(rule.optimizer, G.parameters(), **rule.params)
    opt_d = build_optimizer(rule.optimizer, D.parameters(), **rule.params)
    x = x.to(device)
    noise = torch.Generator(device=device).manual_seed(seed)
    ones = torch.ones(batch_size, 1, device=device)
    steps = len(x) // batch_size  # whole batches only: the last partial one is left out each epoch
    rows = []
    for epoch in range(1, epochs + 1):
        G.train(), D.train()
        order = torch.randperm(len(x), device=device, generator=noise)
        sums = torch.zeros(4, device=device)  # d_loss, g_loss, right on real, right on fake; read once an epoch
        for s in range(steps):
            real = x[order[s * batch_size:(s + 1) * batch_size]]  # (batch, *sample_shape)
            fake = G(torch.randn(batch_size, latent_dim, device=device, generator=noise))  # (batch, features)
            on_real, on_fake = D(real), D(fake.detach())  # (batch, 1) logits of "real"
            d_loss = F.binary_cross_entropy_with_logits(on_real, ones) + \
                F.binary_cross_entropy_with_logits(on_fake, 1 - ones)
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
            g_loss = F.binary_cross_entropy_with_logits(D(fake), ones)  # the updated D judges the same fakes
            opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            opt_g.step()
            sums += torch.stack([d_loss.detach(), g_loss.detach(), (on_real > 0).sum(), (on_fake < 0).sum()])
        d_loss_sum, g_loss_sum, right_real, right_fake = sums.tolist()
        row = {"epoch": epoch, "d_loss": d_loss_sum / steps, "g_loss": g_loss_sum / steps,
               "d_acc": (right_real + right_fake) / (2 * steps * batch_size)}
        if valid is not None:
            row |= discriminator_accuracy(gan, valid.to(device), noise, prefix="val_")
        rows.append(row)
    return gan, rows


@torch.no_grad()
def discriminator_accuracy(gan: GAN, real: Tensor, noise: torch.Generator | None = None, *, prefix: str = ""
                           ) -> dict[str, float]:
    """D's accuracy (evaluation mode) on `real` and as many generated samples: overall, on real, on fake."""
    gan.generator.eval(), gan.discriminator.eval()
    on_real = (gan.discriminator(real) > 0).float().mean()
    on_fake = (gan.discriminator(gan.sample(len(real), noise)) < 0).float().mean()
    real_acc, fake_acc = torch.stack([on_real, on_fake]).tolist()
    return {f"{prefix}d_acc": (real_acc + fake_acc) / 2, f"{prefix}d_real_acc": real_acc,
            f"{prefix}d_fake_acc": fake_acc}


def pretrain_gan(
    spec: ModelSpec, x: Tensor, *, valid: Tensor | None = None, latent_dim: int = 32, **fit_options: object
) -> tuple[nn.Sequential, list[dict[str, float]]]:
    """The model of `spec` whose lower layers are a GAN discriminator's, trained on `x` without labels.

    `fit_options` (rule, epochs, batch_size, device, seed) go to `train_gan`. Returns the model (its head
    untrained: `deepfit transfer` replaces it) and the last epoch's row.
    """
    gan, rows = train_gan(spec, x, valid=valid, latent_dim=latent_dim, **fit_options)  # type: ignore[arg-type]
    return hand_over(spec, gan.discriminator.cpu()), [{"layer": "all", **rows[-1]}]
