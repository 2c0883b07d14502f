"""``ferkit compare A.csv B.csv [--name-a A] [--name-b B] [--no-groups] [--boot N] [--level 0.95] [--json OUT]``:
is B more accurate than A on the same items, or is the difference within the noise of the test set?"""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    p = sub.add_parser("compare", help="paired significance test of two models' predictions on the same items")
    p.add_argument("a", metavar="A", help="predictions CSV of the first model (`ferkit evaluate --predictions`)")
    p.add_argument("b", metavar="B", help="predictions CSV of the second model, over the same items")
    p.add_argument("--name-a", help="name shown for A (default: its file name)")
    p.add_argument("--name-b", help="name shown for B (default: its file name)")
    p.add_argument(
        "--no-groups",
        action="store_true",
        help="treat every item as independent even where the files group them (e.g. CK+ sequences)",
    )
    p.add_argument("--boot", type=int, default=10000, help="bootstrap resamples (default 10000)")
    p.add_argument("--level", type=float, default=0.95, help="confidence level of the interval (default 0.95)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    p.add_argument("--json", dest="json_out", help="write the numbers as JSON here")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ferkit.errors import ConfigError
    from ferkit.evaluation.predictions import pair, read_predictions
    from ferkit.evaluation.significance import format_comparison, paired_comparison
    from ferkit.io_utils import write_json

    if args.boot < 100:
        raise ConfigError(f"--boot {args.boot}: use at least 100 resamples")
    correct_a, correct_b, groups = pair(read_predictions(args.a), read_predictions(args.b), args.a, args.b)
    result = paired_comparison(
        correct_a, correct_b, None if args.no_groups else groups, n_boot=args.boot, level=args.level, seed=args.seed
    )
    name_a, name_b = args.name_a or Path(args.a).stem, args.name_b or Path(args.b).stem
    print(format_comparison(result, name_a, name_b))
    if args.json_out:
        write_json(args.json_out, {"a": str(args.a), "b": str(args.b), "name_a": name_a, "name_b": name_b, **result})
    return 0
