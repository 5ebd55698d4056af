"""`ganbench data download NAME`: fetch an image data set's distribution files (the only
command that reaches the internet). Exit 1 when a download or checksum fails."""

from __future__ import annotations

import argparse
import sys

from ganbench.cli import base as cli


def add_parser(sub) -> None:
    d = sub.add_parser("data", help="manage image data sets (download)")
    dsub = d.add_subparsers(dest="data_verb", required=True, metavar="ACTION")
    dl = dsub.add_parser("download", help="fetch a data set's files and verify their checksums")
    dl.add_argument("name", help="mnist, fashion_mnist or cifar10 (stacked_mnist reads mnist)")
    dl.add_argument("--data-dir", default=None,
                    help="folder for the files (default: $GANBENCH_DATA/NAME, "
                         "else ~/.cache/ganbench/data/NAME)")



@cli.verb("data")
def cmd_data(a: argparse.Namespace) -> int:
    from ganbench.data import download

    name = download.canonical_name(a.name)  # ValueError (exit 2) for an unknown name
    try:
        paths = download.download(name, a.data_dir)
    except download.DownloadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{name}: {len(paths)} file(s) in {paths[0].parent}")
    return 0
