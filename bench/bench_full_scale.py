"""Full-scale benchmark: every stage of nextbest on a synthetic bank of the competition's size.

Usage::

    python bench/bench_full_scale.py [--customers 931453] [--dir /tmp/nextbest-bench-full]
                                     [--stages generate,pandas,ingest,examples,train,run,score]

Each stage runs in its own process, so that its wall time and peak memory (the maximum resident
set size that the kernel reports for that child) are its own. Stages and their references:

- generate: `nextbest synth` writes the training file (about 13.6M rows, 2.2 GB) and the test
  file (about 930k customers) as plain CSV, as `train_ver2.csv` and `test_ver2.csv` are once
  unzipped;
- pandas: reference for ingest, pandas reading the training file in chunks of 1M rows;
- ingest: `nextbest ingest` of both files into a fresh workspace;
- examples: building the examples of one target month (2016-05) in that workspace;
- train: `MultiLabelNet` with the run's default settings, three epochs over rows of the examples
  of 2016-05, against a bare Keras network of the same layer sizes on the same numeric columns.
  Rows per second come from the epochs after the first, because the first also compiles the
  training step.
  Then that network scores and ranks every customer of 2016-06 (its examples are built first
  when the workspace lacks them);
- run: `nextbest run` with its defaults on the two files, in the workspace of the ingest stage,
  which already holds both files unchanged, so the run skips its own ingest; the whole run is
  this stage plus the ingest stage;
- score: loading the run's model, then scoring and ranking every customer of the test month.

Results are printed as a table and written to DIR/results.json. The generated files and
workspaces stay in DIR until `--clean` is given.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

DEFAULT_DIR = Path("/tmp/nextbest-bench-full")
STAGES = ["generate", "pandas", "ingest", "examples", "train", "run", "score"]
GOALS = {"ingest": 120, "examples": 60, "run": 1800, "score": 30}
MEMORY_GOAL_GIB = 8

PANDAS_READ = """
import sys, time, pandas as pd
rows = 0
for chunk in pd.read_csv(sys.argv[1], chunksize=1_000_000, low_memory=False):
    rows += len(chunk)
print({"rows": rows})
"""

EXAMPLES = """
import sys
from nextbest.banking.features import build_examples
from nextbest.banking.workspace import Workspace
summary = build_examples(Workspace(sys.argv[1]), [sys.argv[2]])
print({"month": sys.argv[2]})
"""

TRAIN = """
import sys, time
import numpy as np
import nextbest
import keras
from nextbest.banking.features import build_examples
from nextbest.banking.features_manifest import read_manifest
from nextbest.banking.run_steps import DEFAULT_NETWORK, load_arrays
from nextbest.banking.workspace import Workspace
from nextbest.multilabel import MultiLabelNet
from nextbest.multilabel.metrics import rank_labels

EPOCHS = 3


class EpochTimes(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.started)


def steady_rows_per_s(rows, seconds):
    # Epochs after the first: the first also compiles the training step.
    return round(rows / (sum(seconds[1:]) / len(seconds[1:])))


workspace = Workspace(sys.argv[1])
rows = int(sys.argv[3])
if sys.argv[4] not in read_manifest(workspace.path).months:
    build_examples(workspace, [sys.argv[4]])
data = load_arrays(workspace, [sys.argv[2]], workspace.schema.product_names)
index = np.random.default_rng(0).permutation(len(data.Y))[:rows]
X, Y, owned = data.X.iloc[index], data.Y[index], data.owned[index]
# The whole month is no longer needed; keeping it would add about 2 GiB to the stage's peak.
del data
categorical = [c for c in X.columns if str(X[c].dtype) == "category"]
settings = {**DEFAULT_NETWORK, "epochs": EPOCHS, "patience": None}
network = MultiLabelNet(**settings, categorical_features=categorical, random_state=0)
ours = EpochTimes()
network_callbacks = network._callbacks
network._callbacks = lambda *args: network_callbacks(*args) + [ours]
started = time.perf_counter()
network.fit(X, Y, mask=owned)
nextbest_seconds = time.perf_counter() - started

numeric = X.drop(columns=categorical).to_numpy(dtype="float32")
with np.errstate(all="ignore"):
    numeric = np.nan_to_num((numeric - np.nanmean(numeric, axis=0)) / (np.nanstd(numeric, axis=0) + 1e-6))
bare = keras.Sequential([keras.Input((numeric.shape[1],))] + [keras.layers.Dense(u, activation="relu") for u in settings["hidden_units"]]
                        + [keras.layers.Dense(Y.shape[1], activation="sigmoid")])
bare.compile(optimizer=keras.optimizers.Adam(settings["learning_rate"]), loss="binary_crossentropy")
reference = EpochTimes()
bare.fit(numeric, Y.astype("float32"), batch_size=settings["batch_size"], epochs=EPOCHS, verbose=0, callbacks=[reference])

# Scoring and ranking every customer of the month to predict with this network.
numeric_columns = numeric.shape[1]
del X, numeric, bare
target = load_arrays(workspace, [sys.argv[4]], workspace.schema.product_names)
started = time.perf_counter()
ranked = rank_labels(network.predict_proba(target.X), 7, exclude=target.owned)
score_seconds = time.perf_counter() - started
ours_rate, bare_rate = steady_rows_per_s(len(Y), ours.seconds), steady_rows_per_s(len(Y), reference.seconds)
print({"rows": len(Y), "epochs": EPOCHS, "fit_seconds": round(nextbest_seconds, 1),
       "nextbest_epoch_seconds": [round(s, 1) for s in ours.seconds], "bare_epoch_seconds": [round(s, 1) for s in reference.seconds],
       "nextbest_rows_per_s": ours_rate, "bare_keras_rows_per_s": bare_rate, "ratio": round(ours_rate / bare_rate, 2),
       "numeric_columns": numeric_columns, "categorical_columns": len(categorical),
       "scored_customers": len(ranked), "score_and_rank_seconds": round(score_seconds, 1)})
"""

SCORE = """
import sys, time
from nextbest.banking.recommender_model import RecommenderModel
from nextbest.banking.run_steps import load_arrays
from nextbest.banking.workspace import Workspace
from nextbest.multilabel.metrics import rank_labels

workspace = Workspace(sys.argv[1])
started = time.perf_counter()
model = RecommenderModel.load(sys.argv[2])
data = load_arrays(workspace, [sys.argv[3]], model.products)
loaded = time.perf_counter()
scores = model.score(data)
ranked = rank_labels(scores, 7, exclude=data.owned)
done = time.perf_counter()
print({"customers": len(ranked), "load_seconds": loaded - started, "score_and_rank_seconds": done - loaded})
"""


def run_stage(name: str, command: list[str], log_dir: Path) -> dict:
    """Run one stage in a child process; return its wall time, peak memory and last output line."""
    print(f"[{time.strftime('%H:%M:%S')}] {name}: {' '.join(command)[:160]}", flush=True)
    log_path = log_dir / f"{name}.log"
    started = time.perf_counter()
    with log_path.open("w") as log:
        child = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    exit_code = os.waitstatus_to_exitcode(status)
    lines = log_path.read_text(errors="replace").strip().splitlines()
    result = {
        "seconds": round(seconds, 1),
        "peak_memory_gib": round(usage.ru_maxrss / 2**20, 2),
        "exit_code": exit_code,
        "output": lines[-1] if lines else "",
    }
    print(f"    {result}", flush=True)
    return result


def python_stage(code: str, *args: str) -> list[str]:
    return [sys.executable, "-c", code, *args]


def nextbest(*args: str) -> list[str]:
    return [sys.executable, "-m", "nextbest", "-q", *args]


def stage_commands(folder: Path, customers: int, train_rows: int) -> dict[str, list[str]]:
    train, test = folder / "train.csv", folder / "test.csv"
    workspace = folder / "workspace"
    return {
        "generate": nextbest("synth", "--customers", str(customers), "--out-train", str(train), "--out-test", str(test)),
        "pandas": python_stage(PANDAS_READ, str(train)),
        "ingest": nextbest("ingest", str(train), str(test), "--workspace", str(workspace)),
        "examples": python_stage(EXAMPLES, str(workspace), "2016-05"),
        "train": python_stage(TRAIN, str(workspace), "2016-05", str(train_rows), "2016-06"),
        # Without -q, so that the log shows each stage's time as the run goes.
        "run": [sys.executable, "-m", "nextbest", "run", "--train", str(train), "--test", str(test), "--workspace", str(workspace)],
        "score": python_stage(SCORE, str(workspace), str(workspace / "runs" / "latest" / "model"), "2016-06"),
    }


def print_table(results: dict) -> None:
    print(f"\n{'stage':<10} {'wall s':>9} {'peak GiB':>9} {'goal':>10}  output")
    for name, result in results.items():
        goal = f"< {GOALS[name]} s" if name in GOALS else ""
        print(f"{name:<10} {result['seconds']:>9.1f} {result['peak_memory_gib']:>9.2f} {goal:>10}  {result['output'][:200]}")
    if "ingest" in results and "run" in results:
        whole = results["ingest"]["seconds"] + results["run"]["seconds"]
        print(f"whole run (ingest + run): {whole:.1f} s, goal < {GOALS['run']} s")
    print(f"peak memory goal: < {MEMORY_GOAL_GIB} GiB in every stage")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=931_453, help="customers in the last training month")
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="folder for the generated files and workspaces")
    parser.add_argument("--stages", default=",".join(STAGES), help="comma-separated stages to run, in this order")
    parser.add_argument("--train-rows", type=int, default=300_000, help="rows of the training-throughput stage")
    parser.add_argument("--results", default="results.json", help="file in DIR that collects the results")
    parser.add_argument("--clean", action="store_true", help="delete DIR at the end")
    args = parser.parse_args()

    stages = args.stages.split(",")
    unknown = sorted(set(stages) - set(STAGES))
    if unknown:
        parser.error(f"unknown stage(s) {unknown}; choose from {STAGES}")
    args.dir.mkdir(parents=True, exist_ok=True)
    if "ingest" in stages:
        shutil.rmtree(args.dir / "workspace", ignore_errors=True)

    commands = stage_commands(args.dir, args.customers, args.train_rows)
    results_path = args.dir / args.results
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    for name in stages:
        results[name] = run_stage(name, commands[name], args.dir)
        results_path.write_text(json.dumps(results, indent=2) + "\n")
    run_json = args.dir / "workspace" / "runs" / "latest" / "run.json"
    if run_json.exists():
        print("\nstage timings of the whole run (run.json):", json.loads(run_json.read_text()).get("stage_seconds"))
    print_table(results)
    if args.clean:
        shutil.rmtree(args.dir)


if __name__ == "__main__":
    main()
