"""``ferkit prepare``: decode a dataset once into the memory-mapped cache that training reads."""

from __future__ import annotations

from ferkit.cli.options import parse_options


def add_parser(subparsers) -> None:
    from ferkit.data import list_datasets

    p = subparsers.add_parser("prepare", help="decode a dataset once into the prepared-array cache")
    p.add_argument("--dataset", required=True, help=f"one of: {', '.join(list_datasets())}")
    p.add_argument("--data-root", default=None, help="dataset root (default: $FERKIT_DATA)")
    p.add_argument("--cache", default=None, help="cache folder (default: $FERKIT_CACHE, else ~/.cache/ferkit)")
    p.add_argument(
        "-o", "--option", action="append", metavar="KEY=VALUE", help="dataset option, e.g. size=64; repeatable"
    )
    p.set_defaults(func=run)


def run(args) -> int:
    from ferkit.data.prepare import prepare_dataset

    result = prepare_dataset(
        args.dataset, args.data_root, cache=args.cache, progress=True, **parse_options(args.option)
    )
    print(f"{result.name}: cache {result.cache}")
    width = max(len(s) for s in result.splits)
    for split, n in result.splits.items():
        print(f"  {split:<{width}}  {n:>7} images")
    print(f"  {'total':<{width}}  {sum(result.splits.values()):>7} images")
    return 0
