"""One run point resolved: its plug-ins, its sections and its evaluation checked and every
default filled in, into the config its run id hashes. Each plug-in is built once here
(``built``) for every check that needs an instance."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ganbench.registry import registry, unknown_message
from ganbench.suite.params import instance, resolve_plugin
from ganbench.suite.rules import check_model_fit, check_pack_size, check_packing
from ganbench.suite.run import PluginRef
from ganbench.suite.schema import (
    MAX_SEED,
    PLUGIN_KEYS,
    RUN_KEYS,
    SECTION_MODELS,
    pydantic_problems,
)
from ganbench.util.strict_yaml import show


def _at(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def resolve_run(raw: dict[str, Any], path: str, problems: list,
                clamped: list | None = None) -> dict[str, Any]:
    """Validate one merged run config and fill every default. A run whose
    ``evaluation.every`` exceeds its iterations is evaluated at its end only: it is
    appended to ``clamped`` (the suite says so), and its config keeps ``every`` =
    iterations, as run ids always had it."""
    for key in raw:
        if key not in RUN_KEYS:
            problems.append((_at(path, key), unknown_message("run key", key, RUN_KEYS)))
    built: dict = {}  # (kind, PluginRef) -> instance, built once for every check below
    refs = resolve_plugins(raw, path, problems, built)
    out: dict[str, Any] = {key: None if ref is None else
                           [r.to_config() for r in ref] if isinstance(ref, list) else
                           ref.to_config() for key, ref in refs.items()}
    check_packing(refs, path, problems)
    out.update(resolve_sections(raw, path, problems))
    out["seed"] = resolve_seed(raw, path, problems)
    # an objective named but unknown is reported once: the model's rules, which would read
    # it as absent ("name an objective"), are not run on it
    unknown = refs.get("objective") is None and raw.get("objective") not in (None, "none")
    if out.get("evaluation") is not None and refs["dataset"] is not None:
        resolve_evaluation(out, refs, path, problems, built, fit=not unknown)
    tr, ev = out.get("training"), out.get("evaluation")
    if tr and ev and ev["every"] > tr["iterations"]:
        if clamped is not None:
            clamped.append((ev["every"], tr["iterations"]))
        ev["every"] = tr["iterations"]
    if tr:
        check_pack_size(instance("models", refs.get("model"), built), tr["batch_size"], path,
                        problems)
    return out


def resolve_plugins(raw: dict[str, Any], path: str, problems: list,
                    built: dict) -> dict[str, PluginRef | None]:
    """Run key -> the plug-in it names, checked (None: no regularizer, or no objective for a
    model without a critic); an objective preset brings its regularizer."""
    refs: dict[str, PluginRef | None] = {}
    terms: list[PluginRef] | None = None  # a list of regularizers, when the run names one
    for key, kind in PLUGIN_KEYS.items():
        value = raw.get(key)
        refs[key] = None
        if key == "regularizer" and value == "none":
            continue  # explicitly none: no preset regularizer either
        if key == "regularizer" and isinstance(value, list):
            terms = resolve_terms(value, _at(path, key), problems, built)
            continue
        if key == "objective" and value == "none":
            continue  # a model without a critic (VAE); the model's run_problems decide
        if value is None:
            if key != "regularizer":
                problems.append((_at(path, key), f"a {key} is required"))
            continue
        refs[key] = resolve_plugin(kind, value, _at(path, key), problems, built)
    # objective presets name their regularizer (e.g. wgan_gp = wgan + gp)
    obj = refs["objective"]
    if obj and raw.get("regularizer") is None:  # not given (or null): the preset's
        preset = registry("objectives").entry(obj.name).meta.get("regularizer")
        if isinstance(preset, list):  # several terms (r3gan: r1 + r2)
            terms = resolve_terms(preset, f"{path}.objective", problems, built)
        elif preset:
            refs["regularizer"] = resolve_plugin("regularizers", preset, f"{path}.objective",
                                                 problems, built)
    if terms is not None:  # one term is the single form (and its run id)
        refs["regularizer"] = terms[0] if len(terms) == 1 else terms or None
    return refs


def resolve_terms(value: list, path: str, problems: list, built: dict) -> list[PluginRef]:
    """A list of regularizers, each checked; a name given twice is an error (each term is
    applied and reported under its name: give one term its summed weight)."""
    if not value:
        problems.append((path, "an empty list names no regularizer: write none"))
        return []
    out: list[PluginRef] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(value):
        ref = resolve_plugin("regularizers", item, f"{path}[{i}]", problems, built)
        if ref is None:
            continue
        if ref.name in seen:
            problems.append((f"{path}[{i}]", f"regularizer {ref.name!r} is named twice (also "
                                             f"at [{seen[ref.name]}]); each term once"))
            continue
        seen[ref.name] = i
        out.append(ref)
    return out


def resolve_sections(raw: dict[str, Any], path: str, problems: list) -> dict[str, Any]:
    """optimizer, training, evaluation: validated, defaults filled (None where invalid)."""
    out: dict[str, Any] = {}
    for key, model in SECTION_MODELS.items():
        try:
            out[key] = model.model_validate(raw.get(key) or {}).model_dump()
        except ValidationError as exc:
            problems += pydantic_problems(exc, model, _at(path, key))
            out[key] = None
    return out


def resolve_seed(raw: dict[str, Any], path: str, problems: list) -> Any:
    seed = raw.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= MAX_SEED:
        problems.append((_at(path, "seed"),
                         f"expected an integer >= 0 (at most {MAX_SEED}), got {show(seed)}"))
    return seed


def resolve_evaluation(out: dict[str, Any], refs: dict[str, PluginRef | None], path: str,
                       problems: list, built: dict, fit: bool = True) -> None:
    """The metrics evaluated (the dataset's defaults when none are named), checked against
    the dataset, the number of samples, the model's packing and its critic (``fit``: the
    model's own rules too)."""
    from ganbench.metrics.registry import run_metric_problems

    at = _at(path, "evaluation.metrics")
    metrics = resolve_metrics(refs["dataset"], out["evaluation"]["metrics"], at, problems,
                              out["evaluation"]["samples"], built)
    out["evaluation"]["metrics"] = [m.to_config() for m in metrics]
    model = refs.get("model")  # its packing decides which codes the run can supply
    packing = getattr(registry("models").get(model.name), "packing", None) if model else None
    problems += [(f"{at}[{i}]", msg) for i, msg in
                 run_metric_problems(out["evaluation"]["metrics"], packing)]
    if fit:
        check_model_fit(instance("models", model, built), refs, out["evaluation"]["metrics"],
                        path, problems)


def resolve_metrics(dataset: PluginRef, given: list[Any] | None, path: str,
                    problems: list, samples: int | None = None,
                    built: dict | None = None) -> list[PluginRef]:
    """The metrics to evaluate (the dataset's defaults when ``given`` is None), checked
    against the dataset and the number of evaluation ``samples``: a metric that cannot
    measure this run is an error now, not an empty value after training."""
    from ganbench.metrics.evaluate import default_metrics

    built = {} if built is None else built
    ds = instance("datasets", dataset, built)
    if ds is None:  # already reported by resolve_plugin
        return []
    if given is None:  # defaults that apply to this dataset
        given = default_metrics(ds, samples)
    out = []
    for i, m in enumerate(given):
        n_before = len(problems)
        r = resolve_plugin("metrics", m, f"{path}[{i}]", problems, built)
        if r is None:
            continue
        if len(problems) > n_before:  # its parameters are wrong: it cannot be built
            out.append(r)
            continue
        metric = instance("metrics", r, built)
        why = metric.applies(ds)
        least = getattr(metric, "min_samples", 0)
        if not why and samples is not None and samples < least:
            why = f"needs at least {least} samples per side; evaluation.samples is {samples}"
        if why:
            problems.append((f"{path}[{i}]", f"metric {r.name!r} {why}"))
        out.append(r)
    return out
