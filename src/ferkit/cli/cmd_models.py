"""``ferkit models [--architectures]``: shipped pretrained models with their card summary."""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    p = sub.add_parser("models", help="list shipped models (and architectures)")
    p.add_argument("--architectures", action="store_true", help="also list the registered architectures")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ferkit import pretrained

    shipped = pretrained.available()
    if not shipped:
        print("no shipped models installed")
    for name, m in shipped.items():
        s = m.summary
        default = " (default)" if name == pretrained.DEFAULT_MODEL else ""
        print(f"{name}{default}: {s.get('description', '')}")
        for key in ("architecture", "labels", "input", "publictest_accuracy", "publictest_macro_f1", "params"):
            if key in s:
                print(f"  {key}: {s[key]}")
        print(f"  card: {m.card}")
    if args.architectures:
        from ferkit.models import list_models

        print("architectures: " + ", ".join(list_models()))
    return 0
