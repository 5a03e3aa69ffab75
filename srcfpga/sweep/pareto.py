"""Pareto front of (cost, accuracy) points: lower cost and higher accuracy are better."""

from __future__ import annotations

from typing import Sequence


def pareto_front(costs: Sequence[float], accuracies: Sequence[float]) -> list[int]:
    """Indices of the points no other point dominates, by increasing cost.

    A point is dominated when another has cost <= and accuracy >= with at least one strict; of
    identical points the first is kept.
    """
    if len(costs) != len(accuracies):
        raise ValueError(f"{len(costs)} costs for {len(accuracies)} accuracies")
    order = sorted(range(len(costs)), key=lambda i: (costs[i], -accuracies[i], i))
    front: list[int] = []
    best = float("-inf")
    for i in order:
        if accuracies[i] > best:
            front.append(i)
            best = accuracies[i]
    return front
