"""Everyday traps (issue 24, items 8 and 9): dry runs without the data files, --set KEY
VALUE, and a misspelled objective reported once."""

import pytest
import yaml

from ganbench.cli import main

IMAGE_SUITE = {
    "name": "needs_mnist",
    "base": {"dataset": {"name": "stacked_mnist", "size": 28},
             "model": {"name": "dcgan", "latent_dim": 8, "width": 8},
             "training": {"iterations": 10, "batch_size": 8},
             "evaluation": {"every": 10, "samples": 64, "metrics": ["fid"]}},
    "grid": {"objective": ["nonsaturating"], "seed": [0, 1]},
}


def test_a_dry_run_plans_without_the_data_and_says_what_to_fetch(tmp_path, monkeypatch,
                                                                   capsys):
    monkeypatch.setenv("GANBENCH_DATA", str(tmp_path / "data"))  # an empty data folder
    monkeypatch.setenv("GANBENCH_INCEPTION_WEIGHTS", str(tmp_path / "absent.pth"))  # FID's
    path = tmp_path / "needs_mnist.yaml"
    path.write_text(yaml.safe_dump(IMAGE_SUITE))
    res = tmp_path / "res"
    assert main(["run", str(path), "--dry-run", "--results", str(res)]) == 0
    out = capsys.readouterr().out
    assert "2 runs (0 finished)" in out
    assert "missing files:" in out and "train-images-idx3-ubyte.gz" in out
    assert f"Inception-v3 weights: Inception-v3 weights file {tmp_path / 'absent.pth'}" in out
    assert str(tmp_path / "data" / "mnist") in out
    assert "fetch with: ganbench data download mnist" in out
    assert not res.exists()
    # a real run still refuses before anything is written, naming the same command
    assert main(["run", str(path), "--results", str(res), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "ganbench data download mnist" in err and not res.exists()


def test_set_key_space_value_gets_a_hint(capsys):
    with pytest.raises(SystemExit) as e:
        main(["run", "suites/smoke.yaml", "--set", "training.iterations", "100"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "usage: ganbench run" in err  # the verb's usage, not the top-level one
    assert "argument --set: 'training.iterations' has no '='" in err
    assert "--set training.iterations=100 (not --set KEY VALUE)" in err


def test_a_misspelled_objective_is_one_error(tmp_path, capsys):
    assert main(["run", "suites/smoke.yaml", "--dry-run", "--results", str(tmp_path),
                 "--set", "grid.objective=[minimaxx]"]) == 2
    err = capsys.readouterr().err
    assert "unknown objective 'minimaxx'" in err and "did you mean 'minimax'" in err
    assert "model" not in err.split("did you mean")[1]  # no follow-up about the model
    assert len([ln for ln in err.splitlines() if ln.startswith("  ")]) == 1


def _wide_frame():
    """Four row axes, two datasets, four metrics: today's one-line layout is > 200 wide."""
    import pandas as pd

    rows = []
    for i, obj in enumerate(["nonsaturating", "hinge", "lsgan"]):
        for ds in ("ring", "grid"):
            for s in range(3):
                rows.append({"suite": "t", "run_id": f"{obj}{ds}{s}", "seed": s,
                             "status": "done", "objective": obj, "regularizer": "none",
                             "scheme": "alternating(d_steps=5)", "model": "mlp_conditional",
                             "dataset": ds, "metric:modes": 5.0 + i + 0.1 * s,
                             "metric:hq_fraction": 0.5 + 0.1 * i, "metric:mode_kl": 0.3,
                             "metric:jsd_classifier": 0.2 + 0.01 * s})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("width", [80, 120, 200])
def test_the_text_table_fits_the_width_and_keeps_every_value(width, monkeypatch):
    from ganbench.report.tables import build_table, render, render_text

    df = _wide_frame()
    axes = ["objective", "regularizer", "scheme", "model"]
    metrics = ["modes", "hq_fraction", "mode_kl", "jsd_classifier"]
    monkeypatch.setenv("COLUMNS", str(width))  # what shutil.get_terminal_size reads first
    out = render(df, axes, ["dataset"], metrics, warn=None)
    assert max(len(line) for line in out.splitlines()) <= width
    t = build_table(df, axes, ["dataset"], metrics)
    for c in t.cells.values():  # every cell's value is shown
        assert c.text(3) in out
    wide = render_text(t, wide=True)
    assert max(len(line) for line in wide.splitlines()) > 200  # --wide: today's layout
    assert len(wide.splitlines()) < len(out.splitlines()) or width >= 200


def test_published_values_sit_in_their_cell_not_in_paper_columns(tmp_path, capsys,
                                                                   monkeypatch):
    from test_published import REF, suite, values, write_results  # tests/ is on the path

    write_results(tmp_path, suite(reference=REF), values)
    monkeypatch.setenv("COLUMNS", "120")
    assert main(["table", str(tmp_path / "pub")]) == 0
    out = capsys.readouterr().out
    assert "(paper)" not in out and max(len(line) for line in out.splitlines()) <= 120
    lines = out.splitlines()
    at = next(i for i, ln in enumerate(lines) if ln.startswith("nonsaturating"))
    col = lines[at].index("6.550")  # nonsaturating / ring / modes: 6.55 over 2 seeds
    assert lines[at + 1][col:].startswith("paper 6.3 ± 0.5")  # under its value
    assert lines[at + 2][col:].startswith("agrees (p=")
    assert main(["table", str(tmp_path / "pub"), "--wide"]) == 0
    assert "(paper)" in capsys.readouterr().out


def _browser():
    import shutil

    return next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(n)), None)


def test_the_html_results_table_fits_1280_px(tmp_path):
    import re
    import subprocess

    from ganbench.report.page import html
    from ganbench.report.tables import render

    md = render(_wide_frame(), ["objective", "regularizer", "scheme", "model"], ["dataset"],
                ["modes", "hq_fraction", "mode_kl", "jsd_classifier"], fmt="markdown",
                warn=None)
    table = html.markdown_table_html(md, 4)
    assert 'class="results"' in table
    # structure: a fixed layout at the page's width, cells that wrap (never a scrollbar)
    assert re.search(r"table\.results \{ width: 100%; table-layout: fixed; \}", html.CSS)
    assert "white-space: normal" in html.CSS.split("table.results th")[1].split("}")[0]
    browser = _browser()
    if browser is None:
        pytest.skip("no Chromium: the layout is checked by structure only")
    js = ("<script>const s = document.querySelector('.scroll');"
          "document.body.setAttribute('data-w', s.scrollWidth + ' ' + s.clientWidth);</script>")
    page = tmp_path / "t.html"
    page.write_text(f"<!doctype html><html><head><meta charset=utf-8><style>{html.CSS}"
                    f"</style></head><body>{table}{js}</body></html>")
    dom = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                          "--window-size=1280,900", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    scroll, client = map(int, re.search(r'data-w="(\d+) (\d+)"', dom).groups())
    assert scroll <= client <= 1280  # nothing to scroll sideways
