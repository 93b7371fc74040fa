"""A project with no MLproject file: `mlproj run example_projects/convention -e train.py`."""

import argparse
import statistics

parser = argparse.ArgumentParser()
parser.add_argument("--n", type=int, default=10)
args = parser.parse_args()
values = [i * i for i in range(args.n)]
print(f"mean of the first {args.n} squares: {statistics.mean(values)}")
