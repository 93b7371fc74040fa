"""Ridge regression on polynomial features with k-fold cross-validation (standard library only).

Prints the cross-validated RMSE and the fitted coefficients. Inside an mlproj run, it also saves
report.json in MLPROJ_ARTIFACT_DIR (the store folder is mounted into the container).
"""

import argparse
import csv
import json
import math
import os
import sys
from pathlib import Path


def load(path: Path) -> list[tuple[float, float]]:
    with path.open(newline="") as handle:
        return [(float(row["x"]), float(row["y"])) for row in csv.DictReader(handle)]


def features(x: float, degree: int) -> list[float]:
    return [x**power for power in range(degree + 1)]


def solve(matrix: list[list[float]], vector: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting."""
    n = len(vector)
    rows = [[*row, value] for row, value in zip(matrix, vector, strict=True)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(rows[r][col]))
        rows[col], rows[pivot] = rows[pivot], rows[col]
        if abs(rows[col][col]) < 1e-12:
            raise ValueError("singular system: raise alpha or lower degree")
        for r in range(col + 1, n):
            factor = rows[r][col] / rows[col][col]
            for c in range(col, n + 1):
                rows[r][c] -= factor * rows[col][c]
    solution = [0.0] * n
    for r in range(n - 1, -1, -1):
        tail = sum(rows[r][c] * solution[c] for c in range(r + 1, n))
        solution[r] = (rows[r][n] - tail) / rows[r][r]
    return solution


def fit(points: list[tuple[float, float]], degree: int, alpha: float) -> list[float]:
    """Minimise |Xw - y|^2 + alpha |w[1:]|^2 (the intercept is not penalised)."""
    size = degree + 1
    gram = [[0.0] * size for _ in range(size)]
    moment = [0.0] * size
    for x, y in points:
        phi = features(x, degree)
        for i in range(size):
            moment[i] += phi[i] * y
            for j in range(size):
                gram[i][j] += phi[i] * phi[j]
    for i in range(1, size):
        gram[i][i] += alpha
    return solve(gram, moment)


def rmse(weights: list[float], points: list[tuple[float, float]]) -> float:
    degree = len(weights) - 1
    predictions = [
        sum(w * f for w, f in zip(weights, features(x, degree), strict=True)) for x, _ in points
    ]
    errors = [(guess - y) ** 2 for guess, (_, y) in zip(predictions, points, strict=True)]
    return math.sqrt(sum(errors) / len(errors))


def cross_validate(points, degree: int, alpha: float, folds: int) -> list[float]:
    scores = []
    for k in range(folds):
        test = points[k::folds]
        train = [p for i, p in enumerate(points) if i % folds != k]
        scores.append(rmse(fit(train, degree, alpha), test))
    return scores


def save_report(report: dict) -> None:
    artifacts = os.environ.get("MLPROJ_ARTIFACT_DIR")  # set by mlproj, in the mounted store
    if artifacts and Path(artifacts).is_dir():
        (Path(artifacts) / "report.json").write_text(json.dumps(report, indent=2) + "\n")
        print(f"report saved to {artifacts}/report.json")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--degree", type=int, default=3)
    parser.add_argument("--alpha", type=float, required=True)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--sweep", type=int, default=0, help="try degrees 1..N, keep the best")
    parser.add_argument("--data", type=Path, required=True)
    args = parser.parse_args()
    points = load(args.data)
    if not 2 <= args.folds <= len(points):
        print(f"folds must be between 2 and {len(points)}", file=sys.stderr)
        return 2
    degrees = range(1, args.sweep + 1) if args.sweep else [args.degree]
    results = {}
    for degree in degrees:
        scores = cross_validate(points, degree, args.alpha, args.folds)
        results[degree] = sum(scores) / len(scores)
        print(f"degree {degree}: cv rmse {results[degree]:.5f} over {args.folds} folds")
    best = min(results, key=results.__getitem__)
    weights = fit(points, best, args.alpha)
    train = rmse(weights, points)
    print(f"best degree {best}: cv rmse {results[best]:.5f}, train rmse {train:.5f}")
    print("coefficients: " + " ".join(f"{w:+.4f}" for w in weights))
    save_report(
        {
            "degree": best,
            "alpha": args.alpha,
            "cv_rmse": results[best],
            "coefficients": weights,
            "python": sys.version.split()[0],
        }
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
