"""An entry point that fails with the exit code it is given (to show exit-code propagation)."""

import argparse
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--code", type=int, required=True)
code = parser.parse_args().code
print(f"failing on purpose with exit code {code}", file=sys.stderr)
sys.exit(code)
