"""The MLproject format: model, loading and validation, parameter typing, command rendering.

- :mod:`~mlproj.spec.model`: frozen dataclasses every other layer consumes.
- :mod:`~mlproj.spec.load`: find and validate a project (``check_project``, ``load_project``).
- :mod:`~mlproj.spec.envfiles`: python_env and conda YAML files.
- :mod:`~mlproj.spec.envmodel`: what a declared environment holds (docker_env, env files).
- :mod:`~mlproj.spec.params`: ``-P`` values, typed and resolved.
- :mod:`~mlproj.spec.command`: templates checked and rendered into an argv.

Nothing is imported here, so importing one module stays cheap (YAML is only loaded to read files).
"""
