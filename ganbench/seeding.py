"""Seeds derived per purpose, so adding a random draw in one place never shifts another."""

from __future__ import annotations

import hashlib

import torch


def derive(seed: int, purpose: str) -> int:
    h = hashlib.sha256(f"{seed}:{purpose}".encode()).digest()
    return int.from_bytes(h[:8], "little") & ((1 << 63) - 1)


def generator(seed: int, purpose: str, device: torch.device | str = "cpu") -> torch.Generator:
    return torch.Generator(device=device).manual_seed(derive(seed, purpose))


class MemberRandom:
    """One generator per ensemble member; draws are stacked along the member axis."""

    def __init__(self, seeds: list[int], purpose: str, device: torch.device | str):
        self.gens = [generator(s, purpose, device) for s in seeds]
        self.device = device

    def randn(self, *shape: int) -> torch.Tensor:
        return torch.stack([torch.randn(shape, generator=g, device=self.device) for g in self.gens])

    def rand(self, *shape: int) -> torch.Tensor:
        return torch.stack([torch.rand(shape, generator=g, device=self.device) for g in self.gens])

    def randint(self, high: int, *shape: int) -> torch.Tensor:
        return torch.stack(
            [torch.randint(high, shape, generator=g, device=self.device) for g in self.gens])

    def get_state(self) -> list[torch.Tensor]:
        return [g.get_state() for g in self.gens]

    def set_state(self, states: list[torch.Tensor]) -> None:
        for g, s in zip(self.gens, states):
            g.set_state(s)

    def subset(self, members: list[int]) -> MemberRandom:
        """The streams of some members only (the others' streams do not advance)."""
        out = MemberRandom.__new__(MemberRandom)
        out.gens = [self.gens[i] for i in members]
        out.device = self.device
        return out
