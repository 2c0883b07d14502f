"""``ferkit ensemble --members A.pt B.pt ... --mode decision|feature --method vote|mean|weighted|hierarchical
--output ENS.pt [--fit-dataset D --fit-split S]``: combine trained models into one model file."""

from __future__ import annotations

import argparse


def _groups(text: list[str] | None) -> list[list[int]] | None:
    return [[int(i) for i in g.split(",") if i.strip()] for g in text] if text else None


def add_parser(sub) -> None:
    p = sub.add_parser(
        "ensemble",
        help="combine trained models into one ensemble model file",
        description="Members are aligned by label name; the ensemble's labels default to those all "
        "members share. method=weighted and mode=feature are fitted on --fit-split, "
        "which must not be the split you report (PublicTest, fold<k>).",
    )
    p.add_argument("--members", nargs="+", required=True, help="model files or shipped model names")
    p.add_argument("--mode", default="decision", choices=["decision", "feature"])
    p.add_argument(
        "--method",
        default="mean",
        choices=["vote", "mean", "weighted", "hierarchical"],
        help="decision-level fusion rule (ignored for mode=feature)",
    )
    p.add_argument(
        "--groups", nargs="+", metavar="I,J,...", help="committees for method=hierarchical, e.g. --groups 0,1 2,3"
    )
    p.add_argument("--labels", nargs="+", help="ensemble label names (default: the members' shared labels)")
    p.add_argument("--fit-dataset", help="dataset to fit weights / the feature head on")
    p.add_argument("--fit-split", default="Training")
    p.add_argument("--fit-subset", type=int, help="a stratified random subset of the fit split")
    p.add_argument("--data-root", help="dataset root (else $FERKIT_DATA)")
    p.add_argument("--output", required=True, help="ensemble model file to write")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ferkit import pretrained
    from ferkit.errors import ConfigError
    from ferkit.models.checkpoint import save_model
    from ferkit.models.ensemble import build_ensemble

    members = [pretrained.load(m) for m in args.members]
    ens = build_ensemble(members, mode=args.mode, method=args.method, labels=args.labels, groups=_groups(args.groups))
    report = {"members": list(args.members)}
    if args.mode == "feature" or args.method == "weighted":
        if not args.fit_dataset:
            raise ConfigError(f"mode={args.mode} method={args.method} is fitted: give --fit-dataset (and --fit-split)")
        from ferkit.data import load_dataset
        from ferkit.data.subsets import stratified_subset
        from ferkit.training.ensemble_fit import check_fit_split, fit_ensemble

        check_fit_split(args.fit_split)
        data = load_dataset(args.fit_dataset, args.fit_split, args.data_root)
        index = stratified_subset(data.hard_labels, args.fit_subset, 0)
        report.update(fit_ensemble(ens, data.subset(index) if index is not None else data))
    path = save_model(
        args.output, ens.eval(), ens.labels, ens.preprocess, arch_kwargs=ens.arch_kwargs(), ensemble=report
    )
    print(
        f"{args.mode}-level ensemble ({args.method if args.mode == 'decision' else 'linear head'}) of "
        f"{len(members)} models over {list(ens.labels)} -> {path}"
    )
    if "weights" in report:
        print("weights: " + ", ".join(f"{w:.3f}" for w in report["weights"]))
    return 0
