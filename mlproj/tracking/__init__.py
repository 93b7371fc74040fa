"""The tracking store: experiments, runs, params, metrics and tags in a local SQLite database.

This package stores strings, numbers and enums; it knows nothing of projects or environments.
Start with :meth:`mlproj.tracking.store.Store.open`; the records are in
:mod:`mlproj.tracking.models`. Nothing is imported here, so that code needing only the models
(rendering, the runner's types) does not pay for the store and the filter parser.
"""
