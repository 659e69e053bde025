"""`deepfit prune RUN_DIR`: magnitude pruning with optional fine-tuning; reports zeros per layer and accuracy."""

from __future__ import annotations

import argparse

from rich.console import Console

console = Console()


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("prune", help="zero the smallest weights of a saved run, optionally fine-tune")
    p.add_argument("run_dir")
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--sparsity", type=float, help="fraction of each layer's kernel weights to zero, in [0, 1)")
    how.add_argument("--threshold", type=float, help="zero the kernel weights with |w| <= THRESHOLD")
    p.add_argument("--finetune-epochs", type=int, default=0, metavar="N", help="fine-tune N epochs, masks fixed")
    p.add_argument("--device", default="auto")
    p.set_defaults(func=cmd_prune)


def cmd_prune(args: argparse.Namespace) -> int:
    from deepfit.report import markdown_table
    from deepfit.run.prune import prune_run

    res = prune_run(
        args.run_dir,
        sparsity=args.sparsity,
        threshold=args.threshold,
        finetune_epochs=args.finetune_epochs,
        device=args.device,
    )
    rows = [
        {"layer": name, "weights": r["weights"], "zeros": r["zeros"], "zeros %": f"{r['zeros_pct']:.2f}"}
        for name, r in res.sparsity.items()
    ]
    console.print(markdown_table(rows), highlight=False)
    stages = [s for s in ("before", "pruned", "finetuned") if s in res.metrics]
    acc = [
        {"model": s, **{f"{split} acc": f"{m['acc']:.4f}" for split, m in res.metrics[s].items() if "acc" in m}}
        for s in stages
    ]
    console.print(markdown_table(acc), highlight=False)
    console.print(f"pruned run directory: {res.run_dir}", highlight=False)
    return 0
