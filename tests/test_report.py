"""`ganbench report`: the HTML page parses, holds every table row, figure and run, its
images decode and are not blank, a real browser renders it without console errors; the
Markdown report's links resolve; the results folder is only read."""

import base64
import hashlib
import io
import os
import re
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image

from ganbench.cli import main
from ganbench.report.data import SuiteData
from ganbench.results import RunDir, load_results
from ganbench.suite import run_id

SUITE = {
    "description": "tiny suite for the report tests",
    "device": "cpu",
    "base": {
        "model": {"name": "mlp", "latent_dim": 4, "width": 16, "depth": 1},
        "optimizer": {"lr_g": 1e-3, "lr_d": 1e-3},
        "training": {"iterations": 20, "batch_size": 32},
        "evaluation": {"every": 10, "samples": 200, "metrics": ["modes", "hq_fraction"]},
    },
    "grid": {"dataset": ["ring", "grid"], "objective": ["nonsaturating", "hinge"], "seed": [0, 1]},
    # SGD with an absurd critic step: these runs diverge at once
    "cases": [{"objective": "minimax", "optimizer": {"name": "sgd", "lr_g": 10.0, "lr_d": 10.0}}],
    "table": {"rows": ["objective", "scheme"], "columns": ["dataset"], "metrics": ["modes"]},
}
FIGURES = {"metrics-modes", "curves-modes", "curves-d_loss", "curves-g_loss", "samples"}


def snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """A trained suite with a diverged case, one failed run and one interrupted run."""
    tmp = tmp_path_factory.mktemp("report")
    (tmp / "tiny.yaml").write_text(yaml.safe_dump(SUITE))
    assert main(["run", str(tmp / "tiny.yaml"), "--results", str(tmp / "r"), "--no-progress",
                 "--executor", "local"]) == 0
    folder = tmp / "r" / "tiny"
    df = load_results(folder)
    def pick(**kw):
        return df[np.logical_and.reduce([df[k].astype(str) == str(v) for k, v in kw.items()])]["run_id"].iloc[0]

    failed = RunDir(tmp / "r", "tiny", pick(objective="hinge", dataset="grid", seed=1))
    failed.write_summary({"status": "failed", "error": "RuntimeError: boom in the critic",
                          "traceback": "Traceback ...\nRuntimeError: boom in the critic",
                          "metrics": {}, "group": "g"})
    interrupted = RunDir(tmp / "r", "tiny", pick(objective="nonsaturating", dataset="ring", seed=1))
    interrupted.summary_path.unlink()
    return {"folder": folder, "failed": failed.path.name, "interrupted": interrupted.path.name,
            "diverged": list(df.loc[df["status"] == "diverged", "run_id"]),
            "all": list(df["run_id"])}


@pytest.fixture(scope="module")
def html_report(results, tmp_path_factory):
    before = snapshot(results["folder"])
    out = tmp_path_factory.mktemp("html") / "report.html"
    assert main(["report", str(results["folder"]), "-o", str(out)]) == 0
    assert snapshot(results["folder"]) == before  # the results are only read
    return out


class Page(HTMLParser):
    """Tables (rows of cell texts), figures (id -> img src), links, scripts."""

    def __init__(self):
        super().__init__()
        self.tables, self.figures, self.links, self.imgs, self.tags = [], {}, [], [], []
        self.meta, self._cell, self._row, self._figure = [], None, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if tag == "table":
            self.tables.append({"class": a.get("class", ""), "rows": []})
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = ""
        elif tag == "figure":
            self._figure = a.get("id")
        elif tag == "img":
            self.imgs.append(a["src"])
            if self._figure:
                self.figures[self._figure] = a["src"]
        elif tag == "a":
            self.links.append(a.get("href", ""))
        elif tag == "meta":
            self.meta.append(a)

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._row is not None:
            self._row.append(self._cell.strip())
            self._cell = None
        elif tag == "tr":
            self.tables[-1]["rows"].append(self._row)
            self._row = None
        elif tag == "figure":
            self._figure = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def parse(path: Path) -> Page:
    p = Page()
    p.feed(path.read_text())
    p.close()
    return p


def assert_not_blank(png: bytes, min_side: int = 100) -> Image.Image:
    im = Image.open(io.BytesIO(png))
    im.load()
    assert im.format == "PNG" and min(im.size) >= min_side, im.size
    px = np.asarray(im.convert("RGB")).reshape(-1, 3)
    colours, counts = np.unique(px, axis=0, return_counts=True)
    # blank = one colour (or nearly): require ink on more than 1% of the pixels
    assert 1 - counts.max() / len(px) > 0.01 and len(colours) > 4
    return im


def test_html_report_holds_every_row_figure_and_run(results, html_report, capsys):
    page = parse(html_report)
    text = html_report.read_text()
    # self-contained: no script, nothing fetched, the policy says so to the browser
    assert "script" not in page.tags and not re.search(r'(src|href)="(https?:)?//', text)
    assert any(m.get("http-equiv") == "Content-Security-Policy" for m in page.meta)
    # the banner: one run of 12 is unfinished
    assert "1 of 12 runs are unfinished (1 interrupted)" in text

    # the results table: one row per row key of the table's long (CSV) form
    table = next(t for t in page.tables if "results" in t["class"])
    body = table["rows"][1:]
    header = table["rows"][0]
    assert header[:2] == ["objective", "scheme"] and any("ring" in h and "modes" in h for h in header)
    capsys.readouterr()
    assert main(["table", str(results["folder"]), "--format", "csv"]) == 0
    long = pd.read_csv(io.StringIO(capsys.readouterr().out), comment="#", dtype={"scheme": str})
    keys = set(zip(long["objective"], long["scheme"]))
    assert {tuple(r[:2]) for r in body} == keys and len(body) == len(keys) == 3
    # incomplete cells say n/N (one interrupted, one failed, two diverged seeds)
    cells = {(r[0], r[1], h.split(" / ")[0]): x for r in body for h, x in zip(header[2:], r[2:])}
    short = long[long["n"] < long["N"]]
    assert len(short) == 4
    for rec in short.to_dict("records"):
        assert f"{rec['n']}/{rec['N']}" in cells[(rec["objective"], rec["scheme"], rec["dataset"])]

    # every figure, every embedded image decodes and has ink
    assert {k.removeprefix("fig-") for k in page.figures} == FIGURES
    assert len(page.imgs) == len(FIGURES)
    for src in page.imgs:
        assert src.startswith("data:image/png;base64,")
        assert_not_blank(base64.b64decode(src.split(",", 1)[1]))

    # every run (finished or not) listed; links to its files resolve
    runs = next(t for t in page.tables if any(r and r[0] == results["failed"] for r in t["rows"])
                and any(r and r[0] == results["interrupted"] for r in t["rows"]))
    assert {r[0] for r in runs["rows"][1:]} == set(results["all"])
    csv_link = next(link for link in page.links if link.startswith("data:text/csv"))
    assert "objective,scheme,dataset,metric" in base64.b64decode(csv_link.split(",", 1)[1]).decode()
    for link in page.links:
        if not link.startswith(("#", "data:")):
            assert (html_report.parent / unquote(link)).resolve().is_file(), link
    for rid in results["all"]:
        assert any(unquote(link).endswith(f"{rid}/spec.yaml") for link in page.links), rid
        if rid != results["interrupted"]:
            assert any(unquote(link).endswith(f"{rid}/summary.json") for link in page.links), rid

    # diverged and failed runs with their step and reason
    problems = next(t for t in page.tables if t["rows"][0][:1] == ["run"] and "reason" in t["rows"][0])
    rows = {r[0]: dict(zip(problems["rows"][0], r)) for r in problems["rows"][1:]}
    assert set(rows) == {*results["diverged"], results["failed"]} and len(results["diverged"]) == 4
    for rid in results["diverged"]:
        step = RunDir(results["folder"].parent, "tiny", rid).read_summary()["diverged_step"]
        assert rows[rid]["status"] == "diverged" and rows[rid]["step"] == str(step)
        assert "NaN or infinite" in rows[rid]["reason"]
    assert rows[results["failed"]]["step"] == "20"  # its last evaluation
    assert "RuntimeError: boom in the critic" in rows[results["failed"]]["reason"]

    # throughput per trained group, environment, the suite's settings
    through = next(t for t in page.tables if t["rows"][0][:2] == ["group", "runs"])
    assert len(through["rows"]) > 1 and all(r[4] != "—" for r in through["rows"][1:])
    assert "tiny suite for the report tests" in text and "training.iterations" in text


def find_browser() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def screenshot(browser: str, page: Path, out: Path) -> str:
    """Render ``page`` headless; returns the browser's log (console messages included)."""
    with tempfile.TemporaryDirectory() as profile:
        r = subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
             "--hide-scrollbars", f"--screenshot={out}", "--window-size=1280,1600",
             page.resolve().as_uri()],
            capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and out.is_file(), r.stderr[-2000:]
    return r.stderr


def console_errors(log: str) -> list[str]:
    # the page has no script: any console line (an error, a blocked fetch) is a fault
    return [line for line in log.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


@pytest.mark.skipif(find_browser() is None, reason="no Chromium or Chrome binary found "
                    "(CI installs the Debian package chromium)")
def test_browser_renders_the_report_without_console_errors(html_report, tmp_path):
    browser = find_browser()
    # the detector works: a page under the same policy that tries a fetch logs an error
    head = html_report.read_text().split("<body>")[0]
    control = tmp_path / "control.html"
    control.write_text(head + '<body><img src="https://example.invalid/x.png"></body></html>')
    assert console_errors(screenshot(browser, control, tmp_path / "control.png"))

    shot = tmp_path / "shot.png"
    log = screenshot(browser, html_report, shot)
    assert console_errors(log) == []
    assert_not_blank(shot.read_bytes(), min_side=1200)


def md_links(text: str) -> list[str]:
    return [unquote(m) for m in re.findall(r"\]\(([^)\s]+)\)", text)]


def test_markdown_report_links_resolve(results, tmp_path):
    out = tmp_path / "paper" / "appendix.md"
    assert main(["report", str(results["folder"]), "-o", str(out)]) == 0  # .md: markdown
    text = out.read_text()
    links = md_links(text)
    figs = [link for link in links if link.endswith(".png")]
    assert {Path(f).stem for f in figs} == FIGURES
    assert all(Path(f).parent.name == "appendix_files" for f in figs)
    for link in links:
        assert (out.parent / link).resolve().is_file(), link
    for f in figs:
        assert_not_blank((out.parent / f).read_bytes())
    assert "> **Unfinished.**" in text and "| nonsaturating | alternating |" in text
    assert (out.parent / "appendix_files" / "table.csv").read_text().count("\nnonsaturating,") == 2
    assert os.stat(out).st_mode & 0o044  # readable by others (atomic writes start private)


def test_report_inside_the_results_folder_adds_only_itself(results, tmp_path):
    folder = tmp_path / "tiny"
    shutil.copytree(results["folder"], folder)
    before = set(snapshot(folder))
    assert main(["report", str(folder), "--format", "md", "-o", str(folder / "report.md")]) == 0
    new = set(snapshot(folder)) - before
    assert "report.md" in new and all(p == "report.md" or p.startswith("report_files/") for p in new)
    text = (folder / "report.md").read_text()
    for link in md_links(text):
        assert (folder / link).resolve().is_file(), link
    # the report's own folder is not taken for a run when the report is built again
    data = SuiteData.load(folder)
    assert [u["run_id"] for u in data.unfinished()] == [results["interrupted"]]
    assert len(data.runs) == 11


def test_report_errors(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nothing")]) == 2
    assert "no results folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["report", str(tmp_path / "empty"), "-o", str(tmp_path / "x.html")]) == 2
    assert "no finished runs" in capsys.readouterr().err and not (tmp_path / "x.html").exists()
    for name in ("a", "b"):  # a results root of two suites: which one?
        rid = run_id({"seed": 0})  # a run folder is named by the hash of its config
        d = RunDir(tmp_path / "root", name, rid)
        d.write_spec({"suite": name, "run_id": rid, "labels": {}, "config": {"seed": 0}})
        d.write_summary({"status": "failed", "error": "x"})
    assert main(["report", str(tmp_path / "root"), "-o", str(tmp_path / "x.html")]) == 2
    assert "holds 2 suites" in capsys.readouterr().err and not (tmp_path / "x.html").exists()


def test_dirac_suite_report_draws_trajectories(tmp_path):
    suite = {"name": "dirac_small", "device": "cpu",
             "base": {"dataset": "dirac", "model": {"name": "dirac", "theta": 1.0, "psi": 1.0},
                      "optimizer": {"name": "sgd", "lr_g": 0.2, "lr_d": 0.2},
                      "training": {"iterations": 30, "batch_size": 8},
                      "evaluation": {"every": 5, "samples": 10,
                                     "metrics": ["dirac_theta", "dirac_psi", "dirac_distance"]}},
             "grid": {"objective": ["minimax", "wgan"], "scheme": ["simultaneous", "alternating"]},
             "table": {"rows": ["objective", "scheme"], "columns": [], "metrics": ["dirac_distance"]}}
    (tmp_path / "d.yaml").write_text(yaml.safe_dump(suite))
    assert main(["run", str(tmp_path / "d.yaml"), "--results", str(tmp_path / "r"), "--no-progress",
                 "--executor", "local"]) == 0
    out = tmp_path / "d.html"
    assert main(["report", str(tmp_path / "r" / "dirac_small"), "-o", str(out)]) == 0
    page = parse(out)
    assert "fig-dirac" in page.figures and "fig-curves-dirac_distance" in page.figures
    assert_not_blank(base64.b64decode(page.figures["fig-dirac"].split(",", 1)[1]))
    # 1-D samples: no samples figure, and the report says why
    assert "fig-samples" not in page.figures and "No samples figure" in out.read_text()
    assert "unfinished" not in out.read_text().lower()
