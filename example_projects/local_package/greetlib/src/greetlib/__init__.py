"""A tiny local package, installed from a path by the environment build."""


def greet(name: str) -> str:
    return f"Hello, {name}, from greetlib"
