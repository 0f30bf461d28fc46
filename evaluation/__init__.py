"""Offline evaluation harness: held-out split, baselines, metrics and reports.

Run ``python -m evaluation --help`` (or the ``evaluate`` console script). Models live in
``evaluation.models`` (registry ``MODELS``); see that module to plug in a new one.
"""
