"""A dataset plug-in: equal Gaussians spaced along a line segment in the plane."""

import torch

from ganbench.data import REGISTRY, Dataset


@REGISTRY.register(
    "line",
    description="K equal Gaussians evenly spaced on the x-axis from -length/2 to length/2",
    reference="this example",
)
class Line(Dataset):
    shape = (2,)
    kind = "vector"

    def __init__(self, modes: int = 5, length: float = 4.0, std: float = 0.05):
        if modes < 2 or length <= 0 or std <= 0:
            raise ValueError("line needs modes >= 2, length > 0 and std > 0")
        x = torch.linspace(-length / 2, length / 2, modes)
        self.centres = torch.stack([x, torch.zeros(modes)], dim=1)
        self.std = std
        self.num_classes = modes

    def sample_labeled(self, n, generator, device="cpu", split="train"):
        # draw on the generator's device, in this order, so that a seed fixes the data
        idx = torch.randint(self.num_classes, (n,), generator=generator, device=generator.device)
        noise = torch.randn(n, 2, generator=generator, device=generator.device)
        x = self.centres.to(generator.device)[idx] + self.std * noise
        return x.to(device), idx.to(device)

    def mode_centres(self):
        return self.centres

    def mode_std(self):
        return self.std
