"""A metric plug-in: how far generated samples land from the nearest mode centre."""

import torch

from ganbench.metrics import REGISTRY, Metric
from ganbench.metrics.base import ResultEntry, needs_modes


@REGISTRY.register(
    "mode_distance",
    description="mean distance from a generated sample to its nearest mode centre, in mode stds",
    reference="this example",
)
class ModeDistance(Metric):
    # what __call__ reports: the main entry, named like the metric, first; smaller is better
    entries = (ResultEntry("mode_distance", "min", "std", "mean distance to the nearest mode centre"),)
    band = (0.5, 0.1)  # (absolute, relative) change the regression check tolerates

    def applies(self, dataset):  # None, or why this dataset cannot be measured
        return needs_modes(dataset)

    def __call__(self, fake, ctx):
        centres = ctx.dataset.mode_centres().to(fake)
        nearest = torch.cdist(fake.flatten(1), centres).min(dim=1).values
        return {"mode_distance": float(nearest.mean() / ctx.dataset.mode_std())}
