"""`deepfit pretrain autoencoder|rbm|gan|siamese`: pretrain the hidden layers, then reuse them with `transfer`."""

from __future__ import annotations

import argparse

from rich.console import Console

from deepfit.cli.options import add_run_options, config_from_args

METHODS = ("autoencoder", "gan", "rbm", "siamese")  # PRETRAINERS.names(), stated: parsing imports no torch

console = Console()


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "pretrain",
        help="pretrain hidden layers (autoencoder, rbm, gan, siamese); reuse them with `deepfit transfer --from`",
        description="Greedy layer-wise unsupervised pretraining (autoencoder, rbm), a GAN's discriminator (gan), "
        "or a siamese encoder on labelled pairs. --epochs is per layer (gan, siamese: for all layers at once); "
        "--out is the parent of the directory written (printed).",
    )
    p.add_argument("method", help=", ".join(METHODS))
    p.add_argument("--layers", metavar="N,N,...", help="hidden layer sizes, e.g. 300,100 (model.hidden)")
    p.add_argument("--noise", choices=["none", "gaussian", "dropout"], help="autoencoder: input corruption")
    p.add_argument("--noise-level", type=float, help="autoencoder: noise std or dropout rate")
    p.add_argument("--k", type=int, help="rbm: Gibbs steps of contrastive divergence CD-k")
    p.add_argument("--latent-dim", type=int, help="gan: size of the generator's noise input (default 32)")
    p.add_argument("--pair-loss", choices=["contrastive", "binary"], help="siamese: max-margin or same/different")
    p.add_argument("--margin", type=float, help="siamese: margin of the contrastive loss")
    p.add_argument("--pairs", type=int, help="siamese: training pairs (default: one per image)")
    add_run_options(p)
    p.set_defaults(func=cmd_pretrain)


def cmd_pretrain(args: argparse.Namespace) -> int:
    from deepfit.pretrain import PRETRAINERS, run_pretraining

    method = PRETRAINERS.canonical(args.method)
    # an RBM reads [0, 1] inputs with sigmoid units; the user's --config/--set still override these
    base = {"name": f"pretrain-{method}", "train": {"early_stopping": False}}
    if method == "rbm":
        base = {**base, "data": {"standardize": False}, "model": {"activation": "sigmoid", "init": "glorot_uniform"}}
    if args.layers:
        args.overrides = [*args.overrides, f"model.hidden=[{args.layers}]"]
    cfg = config_from_args(args, base=base)
    given = {
        "noise": args.noise,
        "noise_level": args.noise_level,
        "k": args.k,
        "latent_dim": args.latent_dim,
        "loss": args.pair_loss,
        "margin": args.margin,
        "pairs": args.pairs,
    }
    run_dir = run_pretraining(cfg, method, options={k: v for k, v in given.items() if v is not None})
    console.print(
        f"pretrained {cfg.model.hidden or 'the default hidden layers'} ({method}): {run_dir}\n"
        f"start a classifier from it: deepfit transfer --from {run_dir} ...",
        highlight=False,
    )
    return 0
