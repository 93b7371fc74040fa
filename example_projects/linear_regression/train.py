"""Fit y = w*x + b to a CSV of points by gradient descent (standard library only)."""

import argparse
import csv
import math
from pathlib import Path


def load(path: Path) -> list[tuple[float, float]]:
    with path.open(newline="") as handle:
        return [(float(row["x"]), float(row["y"])) for row in csv.DictReader(handle)]


def fit(points: list[tuple[float, float]], rate: float, epochs: int) -> tuple[float, float, float]:
    w = b = 0.0
    n = len(points)
    rmse = math.inf
    for epoch in range(1, epochs + 1):
        grad_w = sum((w * x + b - y) * x for x, y in points) * 2 / n
        grad_b = sum(w * x + b - y for x, y in points) * 2 / n
        w -= rate * grad_w
        b -= rate * grad_b
        rmse = math.sqrt(sum((w * x + b - y) ** 2 for x, y in points) / n)
        if epoch % max(1, epochs // 5) == 0 or epoch == epochs:
            print(f"epoch {epoch}: rmse {rmse:.6f}")
    return w, b, rmse


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--learning-rate", type=float, required=True)
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--label", required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--report-uri", required=True)
    args = parser.parse_args()
    w, b, rmse = fit(load(args.data), args.learning_rate, args.epochs)
    print(f"{args.label}: w={w:.4f} b={b:.4f} rmse={rmse:.6f} (report uri {args.report_uri})")


if __name__ == "__main__":
    main()
