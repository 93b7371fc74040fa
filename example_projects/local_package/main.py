"""Greets with the local package and reports where its imports come from."""

import argparse
import sys

import greetlib
import six


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", required=True)
    args = parser.parse_args()
    print(greetlib.greet(args.name))
    print(f"six {six.__version__}; python {sys.executable}")


if __name__ == "__main__":
    main()
