"""Train an ElasticNet on the diabetes data set that scikit-learn ships, print and save results.

The model (model.pkl) and the metrics (metrics.json) are written to the run's artifact folder,
which mlproj passes as MLPROJ_ARTIFACT_DIR (the current folder when run by hand). The metrics are
also recorded with the run through the log-record protocol: JSON lines appended to the file named
by MLPROJ_LOG_FILE, which needs nothing installed in the project's environment.
"""

import argparse
import json
import os
import pickle
from pathlib import Path

from sklearn.datasets import load_diabetes
from sklearn.linear_model import ElasticNet
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from sklearn.model_selection import train_test_split


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--alpha", type=float, required=True)
    parser.add_argument("--l1-ratio", type=float, required=True)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    features, target = load_diabetes(return_X_y=True)
    train_x, test_x, train_y, test_y = train_test_split(
        features, target, test_size=0.25, random_state=args.seed
    )
    model = ElasticNet(alpha=args.alpha, l1_ratio=args.l1_ratio, random_state=args.seed)
    model.fit(train_x, train_y)
    predicted = model.predict(test_x)
    metrics = {
        "rmse": float(mean_squared_error(test_y, predicted) ** 0.5),
        "mae": float(mean_absolute_error(test_y, predicted)),
        "r2": float(r2_score(test_y, predicted)),
    }
    print(f"ElasticNet(alpha={args.alpha}, l1_ratio={args.l1_ratio})")
    for name, value in metrics.items():
        print(f"  {name}: {value:.4f}")

    log_file = os.environ.get("MLPROJ_LOG_FILE")
    if log_file:
        with open(log_file, "a", encoding="utf-8") as log:
            for name, value in metrics.items():
                log.write(json.dumps({"type": "metric", "key": name, "value": value}) + "\n")

    artifacts = Path(os.environ.get("MLPROJ_ARTIFACT_DIR", "."))
    artifacts.mkdir(parents=True, exist_ok=True)
    with (artifacts / "model.pkl").open("wb") as handle:
        pickle.dump(model, handle)
    (artifacts / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(f"model saved to {artifacts / 'model.pkl'}")


if __name__ == "__main__":
    main()
