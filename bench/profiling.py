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


class Stopwatch:
    """Time named functions while they run (module attributes, looked up at each call).

    parts: (module name, function name, label) triples; each call adds to its label's ms.
    """

    def __init__(self, parts: list[tuple[str, str, str]]):
        import importlib
        from time import perf_counter

        self._clock = perf_counter
        self.ms: dict[str, float] = {}
        for module_name, name, label in parts:
            module = importlib.import_module(module_name)
            setattr(module, name, self._timed(getattr(module, name), label))

    def _timed(self, fn, label):
        def timed(*args, **kwargs):
            t0 = self._clock()
            try:
                return fn(*args, **kwargs)
            finally:
                self.ms[label] = self.ms.get(label, 0.0) + (self._clock() - t0) * 1000
        return timed

    def reset(self) -> None:
        """Start a new run."""
        self.ms = {}
