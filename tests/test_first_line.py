"""The first line appears before PyTorch loads: the parser imports nothing heavy, and on a
terminal a slow verb says so before it starts."""

import importlib
import io
import subprocess
import sys

from ganbench.cli import base as cli

cli_main = importlib.import_module("ganbench.cli.main")  # the module (ganbench.cli.main is the function)


def test_the_parser_loads_neither_torch_nor_scipy():
    code = ("import sys; from ganbench.cli.main import parser; parser().parse_args(['run', "
            "'x.yaml']); "
            "print(sorted(k for k in ('torch', 'scipy', 'pandas') if k in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_a_slow_verb_speaks_before_it_runs(monkeypatch):
    term = Terminal()
    seen = []
    monkeypatch.setattr(sys, "stderr", term)
    monkeypatch.setitem(cli.VERBS, "evaluate", lambda a: seen.append(term.getvalue()) or 0)
    monkeypatch.delitem(sys.modules, "torch")  # as in a fresh process (restored after)
    assert cli_main.main(["evaluate", "--real", "a.npy", "--fake", "b.npy"]) == 0
    assert seen == ["ganbench evaluate: loading PyTorch ...\n"]


def test_no_line_off_a_terminal_or_for_quick_verbs(monkeypatch):
    monkeypatch.delitem(sys.modules, "torch")
    log = io.StringIO()  # not a terminal: a log stays as it was
    cli_main.announce("run", log)
    cli_main.announce("table", Terminal())
    assert log.getvalue() == ""
    quick = Terminal()
    cli_main.announce("table", quick)
    assert quick.getvalue() == ""
