"""The game every scheme plays (``Game``: two ensemble players, each member's objective,
regularizer and random streams) and the per-member optimisers it steps."""

from ganbench.game.core import Game, Params, Part, pack_code, partition, score_of
from ganbench.game.optim import MemberOptimizer

__all__ = ["Game", "MemberOptimizer", "Params", "Part", "pack_code", "partition", "score_of"]
