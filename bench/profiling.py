"""cProfile one call and print where its time goes, docctl's own functions first."""

import cProfile
import io
import pstats


def profile(report, label: str, fn, *, limit: int = 15, only: str = "/docctl/"):
    """Run fn under cProfile; print the top `limit` functions under `only` by cumulative time."""
    prof = cProfile.Profile()
    prof.enable()
    try:
        return fn()
    finally:
        prof.disable()
        out = io.StringIO()
        stats = pstats.Stats(prof, stream=out).sort_stats("cumulative")
        stats.print_stats(only, limit)
        report.context(f"cProfile of one {label} (cumulative, {only} functions, top {limit}):")
        for line in out.getvalue().splitlines():
            if line.strip() and ("/" in line or "ncalls" in line):
                print("        " + line.strip()[:170], flush=True)
