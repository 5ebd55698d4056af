"""Plug-ins from outside the package: the examples of docs/plugins.md (tests/plugins_example,
imported as a user's own modules) run end to end through `ganbench run`; a suite's
``plugins:`` list, the ``ganbench.plugins`` entry-point group and $GANBENCH_PLUGINS."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from ganbench import cli
from ganbench import registry as registry_mod
from ganbench.registry import KINDS, PLUGINS_ENV, PluginImportError, load_plugins, registry
from ganbench.suite import SuiteError, load_suite, parse_suite

EXAMPLES = Path(__file__).parent / "plugins_example"
# module -> (kind, name it registers)
EXAMPLE_PLUGINS = {
    "smoothed_gan": ("objectives", "smoothed_gan"),
    "zero_gp": ("regularizers", "zero_gp"),
    "generator_first": ("schemes", "generator_first"),
    "line_mixture": ("datasets", "line"),
    "residual_mlp": ("models", "residual_mlp"),
    "mode_distance": ("metrics", "mode_distance"),
}


@pytest.fixture
def isolated(monkeypatch):
    """Plug-ins registered in a test leave no trace in the registries of later tests."""
    for reg in (registry(k) for k in KINDS):
        monkeypatch.setattr(reg, "_entries", dict(reg._entries))
    monkeypatch.setenv(PLUGINS_ENV, "")
    monkeypatch.setattr(registry_mod, "_loaded", set())
    monkeypatch.setattr(registry_mod, "_entry_points", None)
    monkeypatch.syspath_prepend(str(EXAMPLES))  # restores sys.path afterwards too
    before = set(sys.modules)
    yield monkeypatch
    for name in set(sys.modules) - before:
        if not name.startswith(("ganbench", "torch", "numpy", "scipy", "pandas", "matplotlib")):
            del sys.modules[name]


def example_suite(tmp_path: Path) -> Path:
    suite = {
        "name": "plugins_demo",
        "plugins": list(EXAMPLE_PLUGINS),
        "base": {
            "dataset": {"name": "line", "modes": 4},
            "objective": "smoothed_gan",
            "regularizer": {"name": "zero_gp", "weight": 1.0},
            "scheme": "generator_first",
            "model": {"name": "residual_mlp", "latent_dim": 4, "width": 16, "blocks": 1},
            "optimizer": {"lr_g": 1e-3, "lr_d": 1e-3},
            "training": {"iterations": 12, "batch_size": 32},
            "evaluation": {"every": 6, "samples": 200, "metrics": ["mode_distance", "modes"]},
        },
        "grid": {"seed": [0, 1]},
        "table": {"rows": ["objective", "scheme"], "columns": ["dataset"],
                  "metrics": ["mode_distance", "modes"]},
    }
    path = tmp_path / "plugins_demo.yaml"
    path.write_text(yaml.safe_dump(suite, sort_keys=False))
    return path


def test_the_examples_are_outside_the_package():
    import ganbench

    package = Path(ganbench.__file__).resolve().parent
    assert not EXAMPLES.resolve().is_relative_to(package)
    assert sorted(p.stem for p in EXAMPLES.glob("*.py")) == sorted(EXAMPLE_PLUGINS)


def test_every_example_runs_end_to_end(isolated, tmp_path, capsys):
    suite_file = example_suite(tmp_path)
    results = tmp_path / "results"
    code = cli.main(["run", str(suite_file), "--results", str(results), "--device", "cpu",
                     "--no-progress"])
    out = capsys.readouterr()
    assert code == 0, out.err
    # each example registered under its kind, from its module outside the package
    for module, (kind, name) in EXAMPLE_PLUGINS.items():
        entry = registry(kind).entry(name)
        assert entry.obj.__module__ == module
    runs = load_suite(suite_file).runs
    assert len(runs) == 2
    for r in runs:
        assert r.plugins == tuple(EXAMPLE_PLUGINS)
        assert {k: r.plugin(k).name for k in ("dataset", "objective", "regularizer", "scheme",
                                              "model")} == {
            "dataset": "line", "objective": "smoothed_gan", "regularizer": "zero_gp",
            "scheme": "generator_first", "model": "residual_mlp"}
        summary = json.loads((results / "plugins_demo" / r.run_id / "summary.json").read_text())
        assert summary["status"] == "done", summary.get("error")
        metrics = summary["metrics"]
        assert metrics["mode_distance"] >= 0 and 0 <= metrics["modes"] <= 4
        spec = yaml.safe_load((results / "plugins_demo" / r.run_id / "spec.yaml").read_text())
        assert spec["plugins"] == list(EXAMPLE_PLUGINS)  # what re-running it alone imports
    assert "mode_distance" in out.out  # the printed table has the plug-in metric's column


def test_example_behaviour(isolated):
    """Each example does what its description says, on values."""
    import torch

    for module in EXAMPLE_PLUGINS:
        __import__(module)
    smooth = registry("objectives").create("smoothed_gan", smooth=1.0)
    plain = registry("objectives").create("nonsaturating")
    r, f = torch.randn(2, 16), torch.randn(2, 16)
    torch.testing.assert_close(smooth.d_loss(r, f), plain.d_loss(r, f))  # smooth 1: no smoothing
    line = registry("datasets").create("line", modes=3, length=2.0)
    x, idx = line.sample_labeled(500, torch.Generator().manual_seed(0))
    assert x.shape == (500, 2) and set(idx.tolist()) == {0, 1, 2}
    assert torch.allclose(line.mode_centres()[:, 0], torch.tensor([-1.0, 0.0, 1.0]))
    assert (x - line.mode_centres()[idx]).abs().max() < 6 * line.mode_std()
    scheme = registry("schemes").create("generator_first")
    assert scheme.cost_per_step().total == 2


def test_suite_plugins_are_found_next_to_the_suite_file(isolated, tmp_path):
    (tmp_path / "my_local_scheme.py").write_text(textwrap.dedent('''
        from ganbench.schemes import REGISTRY
        from ganbench.schemes.alternating import Alternating

        @REGISTRY.register("local_alternating", description="alternating, from a local module")
        class LocalAlternating(Alternating):
            pass
    '''))
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({"plugins": ["my_local_scheme"],
                                    "base": {"scheme": "local_alternating"}}))
    runs = load_suite(path).runs
    assert runs[0].plugin("scheme").name == "local_alternating"
    assert "my_local_scheme" in registry_mod.os.environ[PLUGINS_ENV].split(",")


def test_a_plugin_that_fails_to_import_is_a_suite_error(isolated, tmp_path, capsys):
    (tmp_path / "broken_plugin.py").write_text("raise RuntimeError('boom')\n")
    (tmp_path / "wrong_base.py").write_text(textwrap.dedent('''
        from ganbench.schemes import REGISTRY

        @REGISTRY.register("not_a_scheme", description="x")
        class NotAScheme:
            pass
    '''))
    isolated.syspath_prepend(str(tmp_path))
    with pytest.raises(SuiteError) as exc:
        parse_suite({"plugins": ["smoothed_gan", "no_such_module_xyz", "broken_plugin",
                                 "wrong_base", "not a module"]}, "s.yaml")
    msg = str(exc.value)
    assert "s.yaml: plugins[1]: cannot import plug-in module 'no_such_module_xyz'" in msg
    assert "plugins[2]: cannot import plug-in module 'broken_plugin': RuntimeError: boom" in msg
    assert ("plugins[3]: plug-in module 'wrong_base': schemes plug-in 'not_a_scheme'" in msg
            and "expected a subclass of ganbench.schemes.base.Scheme" in msg)
    assert "plugins[4]: expected an importable module name" in msg
    assert "plugins[0]" not in msg
    with pytest.raises(SuiteError, match=r"plugins: Input should be a valid list"):
        parse_suite({"plugins": "smoothed_gan"})
    # through the CLI: exit code 2, nothing written
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"plugins": ["no_such_module_xyz"]}))
    results = tmp_path / "results"
    assert cli.main(["run", str(path), "--results", str(results), "--no-progress"]) == 2
    assert "plugins[0]" in capsys.readouterr().err and not results.exists()


def write_distribution(site: Path, module: str, body: str, target: str | None = None) -> None:
    """An installed distribution (a dist-info folder) with a ganbench.plugins entry point."""
    (site / f"{module}.py").write_text(textwrap.dedent(body))
    info = site / f"{module}_dist-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}-dist\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[ganbench.plugins]\n{module} = {target or module}\n")


def test_entry_point_plugins_load_with_the_registries(isolated, tmp_path):
    write_distribution(tmp_path, "installed_scheme", '''
        from ganbench.schemes import REGISTRY
        from ganbench.schemes.alternating import Alternating

        @REGISTRY.register("installed_alternating", description="from an entry point")
        class InstalledAlternating(Alternating):
            pass
    ''')
    isolated.syspath_prepend(str(tmp_path))
    assert "installed_alternating" in registry("schemes")
    # a suite names it without a plugins: list
    runs = parse_suite({"base": {"scheme": "installed_alternating"}}).runs
    assert runs[0].create("scheme").cost_per_step().total == 2
    load_plugins()  # once per process: a second load registers nothing twice


def test_a_broken_entry_point_names_itself(isolated, tmp_path):
    write_distribution(tmp_path, "broken_dist", "raise ImportError('missing dependency')\n")
    isolated.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginImportError, match=r"entry point broken_dist = broken_dist "
                                                 r"\(group ganbench.plugins\).*missing dependency"):
        registry("schemes")


def test_env_plugins_are_imported_by_a_fresh_process_state(isolated):
    """What a worker process sees: the suite's plug-ins listed in $GANBENCH_PLUGINS."""
    from ganbench.schemes import REGISTRY as SCHEMES

    assert "generator_first" not in SCHEMES
    isolated.setenv(PLUGINS_ENV, "generator_first, zero_gp")
    load_plugins()
    assert "generator_first" in registry("schemes") and "zero_gp" in registry("regularizers")


def test_docs_show_the_tested_examples():
    """docs/plugins.md shows each example file verbatim (so the documented code is the code
    these tests run)."""
    import re

    doc = (Path(__file__).parents[1] / "docs" / "plugins.md").read_text()
    shown = dict(re.findall(r"<!-- example: tests/plugins_example/(\w+)\.py -->\n```python\n(.*?)```",
                            doc, flags=re.S))
    assert set(shown) == set(EXAMPLE_PLUGINS)
    for module, code in shown.items():
        assert code == (EXAMPLES / f"{module}.py").read_text(), module


def test_a_bad_env_plugin_names_the_variable(isolated):
    isolated.setenv(PLUGINS_ENV, "no_such_module_xyz")
    with pytest.raises(PluginImportError, match=r"^\$GANBENCH_PLUGINS module no_such_module_xyz: "
                                                 r"cannot import plug-in module 'no_such_module_xyz'"):
        load_plugins()


def test_a_registry_used_directly_loads_plugins_on_a_miss(isolated):
    """The trainer (in a worker process too) imports registries directly, not through
    registry(): a name it does not know yet triggers the plug-in load."""
    from ganbench.data import REGISTRY as DATASETS

    isolated.setenv(PLUGINS_ENV, "line_mixture")
    assert DATASETS.create("line", modes=3).num_classes == 3
    assert "no_such_dataset" not in DATASETS and "ring" in DATASETS and [] not in DATASETS
