"""Percentiles and the printed lines of the bench."""

import math
import statistics


def percentile(samples: list[float], pct: float) -> float:
    """Return the nearest-rank percentile of samples."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def summary(samples_ms: list[float]) -> dict:
    """Return n, p50, p95, max and mean of samples in milliseconds."""
    return {"n": len(samples_ms), "p50": percentile(samples_ms, 50),
            "p95": percentile(samples_ms, 95), "max": max(samples_ms),
            "mean": statistics.fmean(samples_ms)}


class Report:
    """Collect figures, print each beside its target as it is measured."""

    WIDTH = 46

    def __init__(self):
        self.figures: list[dict] = []

    def figure(self, label: str, stat: str, value: float, unit: str, target: float,
               extra: str = "") -> dict:
        """Print one measured figure against its target (a ceiling)."""
        ok = value <= target
        verdict = "OK" if ok else f"MISSING (gap +{_num(value - target)} {unit})"
        line = (f"{label:<{self.WIDTH}} {stat:>4} {_num(value):>8} {unit:<3}  "
                f"target ≤ {_num(target)} {unit:<3}  {verdict}")
        if extra:
            line += f"   [{extra}]"
        print(line, flush=True)
        row = {"label": label, "stat": stat, "value": round(value, 3), "unit": unit,
               "target": target, "ok": ok, "extra": extra}
        self.figures.append(row)
        return row

    def floor_figure(self, label: str, value: float, unit: str, target: float, extra: str = "",
                     *, ceiling: float | None = None, ceiling_text: str = "") -> dict:
        """Print one measured figure against its target (a floor: more is better).

        When missed, `ceiling` (what this machine reaches at best, e.g. for a static file)
        is printed beside it, so a missed target can be told from a slow machine.
        """
        ok = value >= target
        verdict = "OK" if ok else f"MISSING (gap -{_num(target - value)} {unit})"
        line = (f"{label:<{self.WIDTH}} {'rate':>4} {_num(value):>8} {unit:<3}  "
                f"target ≥ {_num(target)} {unit:<3}  {verdict}")
        if ceiling is not None and not ok:
            line += f"  (this machine's ceiling: {_num(ceiling)} {unit}, {ceiling_text})"
        if extra:
            line += f"   [{extra}]"
        print(line, flush=True)
        row = {"label": label, "stat": "rate", "value": round(value, 3), "unit": unit,
               "target": target, "floor": True, "ok": ok, "extra": extra,
               "ceiling": None if ceiling is None else round(ceiling, 1)}
        self.figures.append(row)
        return row

    def context(self, text: str) -> None:
        """Print a line that explains, without a target."""
        print(f"    · {text}", flush=True)

    def heading(self, text: str) -> None:
        """Print a section heading."""
        print(f"\n{text}", flush=True)


def _num(value: float) -> str:
    return f"{value:.1f}" if abs(value) < 1000 else f"{value:,.0f}"


def ms_extra(stats: dict) -> str:
    """Return the short 'p50 …, max …, n=…' note of a timing."""
    return f"p50 {stats['p50']:.1f} ms, max {stats['max']:.1f} ms, n={stats['n']}"
