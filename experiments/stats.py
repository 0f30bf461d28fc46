"""Per-variant results of an experiment from the counts the streaming job writes.

* CTR = lists with at least one attributed click / lists served, with a 95 % Wilson interval;
* each variant against the control (the first): a two-proportion z-test on that CTR (pooled standard error
  for the test, unpooled for the 95 % interval of the difference), significant when p < ``alpha``;
* sample-ratio mismatch: a chi-square test of the lists served per variant against the shares; p < 0.001
  says the assignment or the logging is broken and the comparison should not be trusted. (It counts lists,
  not users: it assumes the variants do not change how often a user asks for a list.)
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone

from scipy.stats import chisquare, norm

from config.registry import EXPERIMENT_ALL_TIME, EXPERIMENT_BUCKET_MS, EXPERIMENT_COUNTERS, EXPERIMENT_METRIC_COLUMNS
from experiments.model import Variant

Z95 = float(norm.ppf(0.975))
SRM_ALPHA = 0.001


def wilson(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    if trials <= 0:
        return 0.0, 1.0
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return max(0.0, centre - half), min(1.0, centre + half)


def two_proportions(s1: int, n1: int, s2: int, n2: int, z: float = Z95) -> dict:
    """Variant (s2/n2) against control (s1/n1): difference, its 95 % interval, z and two-sided p."""
    if n1 <= 0 or n2 <= 0:
        return {"difference": None, "ci95": None, "z": None, "p_value": None}
    p1, p2 = s1 / n1, s2 / n2
    pooled = (s1 + s2) / (n1 + n2)
    se_pooled = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    stat = (p2 - p1) / se_pooled if se_pooled > 0 else 0.0
    return {"difference": p2 - p1, "ci95": [p2 - p1 - z * se, p2 - p1 + z * se], "z": stat,
            "p_value": float(2 * norm.sf(abs(stat)))}


def totals(rows: Iterable[Mapping]) -> dict[str, dict]:
    """Counters per variant, summed over time buckets; ``titles_shown`` from the all-time row."""
    out: dict[str, dict] = {}
    for row in rows:
        into = out.setdefault(row["variant"], dict.fromkeys(EXPERIMENT_METRIC_COLUMNS, 0))
        if row["bucket"] == EXPERIMENT_ALL_TIME:
            into["titles_shown"] = int(row.get("titles_shown") or 0)
            continue
        for counter in EXPERIMENT_COUNTERS:
            into[counter] += row.get(counter) or 0     # counts are ints, the reciprocal-rank sum a float
    return out


def hourly(variants: list[Variant], rows: Iterable[Mapping]) -> dict:
    """Lists served and CTR per variant per hour bucket (``EXPERIMENT_BUCKET_MS``), oldest first; an hour in
    which a variant served nothing is None for it."""
    by_hour: dict[int, dict[str, tuple[int, int]]] = {}
    for row in rows:
        if row["bucket"] != EXPERIMENT_ALL_TIME:
            seen = by_hour.setdefault(int(row["bucket"]), {})
            n, clicked = seen.get(row["variant"], (0, 0))
            seen[row["variant"]] = (n + int(row.get("impressions") or 0), clicked + int(row.get("lists_clicked") or 0))
    hours = sorted(by_hour)
    series = {}
    for variant in variants:
        cells = [by_hour[h].get(variant.name, (0, 0)) for h in hours]
        series[variant.name] = {"impressions": [n for n, _ in cells],
                                "ctr": [clicked / n if n else None for n, clicked in cells]}
    starts = [datetime.fromtimestamp(h * EXPERIMENT_BUCKET_MS / 1000, timezone.utc).isoformat() for h in hours]
    return {"hours": starts, "variants": series}


def summarise(variants: list[Variant], rows: Iterable[Mapping], catalog_size: int, alpha: float = 0.05) -> dict:
    rows = list(rows)
    counts = totals(rows)
    empty = dict.fromkeys(EXPERIMENT_METRIC_COLUMNS, 0)
    control = counts.get(variants[0].name, empty)
    per_variant = []
    for variant in variants:
        c = counts.get(variant.name, empty)
        n, clicked = c["impressions"], c["lists_clicked"]
        entry = {"variant": variant.name, "share": variant.share, **c,
                 "ctr": clicked / n if n else None, "ctr_ci95": list(wilson(clicked, n)),
                 "item_ctr": c["clicks"] / c["items_shown"] if c["items_shown"] else None,
                 "clicks_at_5_per_list": c["clicks_at_5"] / n if n else None,
                 "clicks_at_10_per_list": c["clicks_at_10"] / n if n else None,
                 "mrr_of_clicks": c["rr_sum"] / c["clicks"] if c["clicks"] else None,
                 "coverage": c["titles_shown"] / catalog_size if catalog_size else None}
        if variant is not variants[0]:
            test = two_proportions(control["lists_clicked"], control["impressions"], clicked, n)
            entry["vs_control"] = {**test, "significant": test["p_value"] is not None and test["p_value"] < alpha}
        per_variant.append(entry)
    served = [counts.get(v.name, empty)["impressions"] for v in variants]
    srm = {"lists": served, "expected_shares": [v.share for v in variants], "p_value": None, "mismatch": False}
    if sum(served) > 0:
        expected = [sum(served) * v.share for v in variants]
        p = float(chisquare(served, expected).pvalue)
        srm.update(p_value=p, mismatch=p < SRM_ALPHA)
    ranked = [e for e in per_variant if e.get("vs_control", {}).get("significant")]
    leader = None
    if ranked:
        best = max(ranked, key=lambda e: e["vs_control"]["difference"])
        leader = best["variant"] if best["vs_control"]["difference"] > 0 else variants[0].name
    return {"variants": per_variant, "sample_ratio": srm, "alpha": alpha,
            "significantly_better": None if srm["mismatch"] else leader, "hourly": hourly(variants, rows)}
