"""Benchmark: `nextbest run` on the real Santander panel, against the baselines of the same run.

Runs the whole job (ingest, examples, network, popularity and LightGBM baselines, retraining,
recommendations, report) on ../shared/data/santander/panel_2015-12_to_2016-05_may_adders.csv.gz.
The validation month is 2016-05 and the training months are 2016-02..2016-04. It prints MAP@7
of each model and the network's MAP@7 as a ratio of LightGBM's, the reference measured in the
same run. It also prints the time of each stage, the total wall time and the peak memory.

Every customer of the panel adds a product in 2016-05, so the best possible MAP@7 there is 1.0.

Usage:
    python bench/bench_panel_run.py [--panel FILE] [--work DIR] [--lags N] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PANEL = ROOT.parent / "shared" / "data" / "santander" / "panel_2015-12_to_2016-05_may_adders.csv.gz"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--panel", type=Path, default=DEFAULT_PANEL, help="The panel file (training layout).")
    parser.add_argument("--work", type=Path, default=Path("/tmp/nextbest-bench-issue6/panel-run"), help="Scratch directory, deleted first.")
    parser.add_argument("--lags", type=int, default=5, help="Months of product history that become features.")
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument("--keep", action="store_true", help="Keep the scratch workspace after the run.")
    options = parser.parse_args()
    if not options.panel.is_file():
        print(f"panel file {options.panel} not found; it comes with the project's shared/ data folder", file=sys.stderr)
        return 1

    from nextbest.banking.pipeline import run

    shutil.rmtree(options.work, ignore_errors=True)
    options.work.mkdir(parents=True)
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    result = run(
        [options.panel],
        workspace=options.work / "ws",
        validation_month="2016-05",
        training_months="2016-02..2016-04",
        lags=options.lags,
        random_state=options.random_state,
        command=sys.argv,
    )
    wall = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    metrics = result.metrics
    print(f"panel: {options.panel.name}; validation month {metrics['validation_month']}, "
          f"training months {', '.join(metrics['training_months'])} ({metrics['training_rows']} rows), lags {options.lags}")
    print(f"customers {metrics['customers']}, adding {metrics['customers_adding']}, max MAP@7 {metrics['max_map_at_7']:.4f}")
    for model in ("popularity", "lightgbm", "nextbest"):
        values = metrics[model]
        print(f"{model:<11} MAP@7 {values['map_at_7']:.4f}  share of max {values['share_of_max']:.4f}  "
              f"precision@7 {values['precision_at_7']:.4f}  recall@7 {values['recall_at_7']:.4f}")
    ratio = metrics["nextbest"]["map_at_7"] / metrics["lightgbm"]["map_at_7"]
    print(f"nextbest / lightgbm MAP@7 ratio: {ratio:.4f}")
    print("stage seconds: " + json.dumps(result.timings))
    print(f"total wall time {wall:.1f} s, peak memory {peak_mib:.0f} MiB")
    # Other jobs on the same cores slow every stage, so the load beside the time matters.
    print(f"1-minute load average: {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")
    if not options.keep:
        shutil.rmtree(options.work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
