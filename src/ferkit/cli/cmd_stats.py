"""``ferkit stats``: class distribution, exact duplicates and constant images of every split of a dataset."""

from __future__ import annotations

from ferkit.cli.options import parse_options


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("stats", help="dataset statistics: classes, duplicates, all-black images")
    p.add_argument("--dataset", required=True, help="dataset name (see `ferkit prepare --help`)")
    p.add_argument("--data-root", default=None, help="dataset root (default: $FERKIT_DATA)")
    p.add_argument("--cache", default=None, help="prepared-array cache folder (default: $FERKIT_CACHE)")
    p.add_argument("--json", default=None, metavar="OUT", help="also write the statistics (every group) as JSON")
    p.add_argument(
        "-o",
        "--option",
        action="append",
        metavar="KEY=VALUE",
        help="dataset option, e.g. mode=probability (ferplus) or folds=5 (ckplus); repeatable",
    )
    p.add_argument("--examples", type=int, default=5, help="duplicate groups to print")
    p.set_defaults(func=run)


def run(args) -> int:
    from ferkit.data.prepare import load_splits
    from ferkit.data.stats import dataset_stats, format_stats
    from ferkit.io_utils import write_json

    options = parse_options(args.option)
    splits = load_splits(args.dataset, args.data_root, cache=args.cache, **options)
    stats = dataset_stats(splits, examples=None)
    print(format_stats(args.dataset, stats, examples=args.examples))
    if args.json:
        print(f"wrote {write_json(args.json, {'dataset': args.dataset, 'options': options, **stats})}")
    return 0
