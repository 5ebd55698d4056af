"""Rules across plug-ins: what a model can train with and measure, objectives that need a
packing model, and batch sizes that fit a PacGAN critic's packs."""

from __future__ import annotations

from typing import Any

from ganbench.registry import registry
from ganbench.suite.run import PluginRef


def _at(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def check_model_fit(model: Any, refs: dict[str, PluginRef | None], metrics: list[dict[str, Any]],
                    path: str, problems: list) -> None:
    """The model's own rules (``Model.run_problems``: a VAE has no critic, so no objective)
    and metrics that read a critic on samples, which some models lack. ``model``: the
    run's model instance (None when it cannot be built: already reported)."""
    if model is None:
        return
    ref = refs["model"]
    reg = refs.get("regularizer")  # a list of terms: the model judges the first
    for key, msg in model.run_problems(refs.get("objective"),
                                       reg[0] if isinstance(reg, list) else reg,
                                       refs.get("scheme")):
        problems.append((_at(path, key), f"model {ref.name!r}: {msg}"))
    if model.critic_on_samples:
        return
    at = _at(path, "evaluation.metrics")
    metric_reg = registry("metrics")
    for i, m in enumerate(metrics):
        if "critic" in getattr(metric_reg.get(m["name"]), "needs", ()):
            problems.append((f"{at}[{i}]", f"metric {m['name']!r} reads the training critic on "
                                           f"samples; model {ref.name!r} has none"))


def check_packing(refs: dict[str, PluginRef | None], path: str, problems: list) -> None:
    """Objectives that read packed codes (InfoGAN) need a model that packs them."""
    obj, model = refs.get("objective"), refs.get("model")
    if not obj or not model:
        return
    needs = registry("objectives").entry(obj.name).meta.get("requires_packing")
    has = getattr(registry("models").get(model.name), "packing", None)
    if needs != has and (needs or has == "code"):
        problems.append((_at(path, "model"), f"objective {obj.name!r} and model {model.name!r} "
                                             f"do not fit: the objective needs packing "
                                             f"{needs!r}, the model has {has!r}"))


def check_pack_size(model: Any, batch_size: int, path: str, problems: list) -> None:
    """A PacGAN critic scores whole packs: the batch must be a multiple of the pack size."""
    per = getattr(model, "samples_per_score", 1) or 1
    if per > 1 and batch_size % per:
        problems.append((_at(path, "training.batch_size"),
                         f"expected a multiple of the model's pack size {per} (the critic "
                         f"scores packs of {per} samples), got {batch_size}"))
