"""`manage.py simulate_al`: does active learning save labels on this model? Measured.

Each seed runs in a child process with its own scratch SQLite database and data folder
(never the configured database); the parent writes the cohorts, gathers the curves, prints
them, draws the plot and, with --save, stores the curve in the configured database for the
learning page.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotator.learning.models import BenchmarkCurve
from ml.selection import STRATEGIES

DEFAULTS = {"dogs": 100, "rounds": 6, "batch": 100, "steps": 150, "passes": 10}


def _seeds(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise CommandError(f"--seeds takes integers separated by commas, not {text!r}") from None
    if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
        raise CommandError("--seeds needs distinct non-negative integers")
    return seeds


class Command(BaseCommand):
    help = (
        "Simulate labeling a synthetic cohort with a selection strategy and print the "
        "learning curve (labels used -> test macro AUROC), in a scratch database."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dogs", type=int, default=DEFAULTS["dogs"])
        parser.add_argument("--strategy", choices=STRATEGIES, default="hybrid")
        parser.add_argument("--seeds", default="0,1,2", help="comma-separated, e.g. 0,1,2")
        parser.add_argument("--rounds", type=int, default=DEFAULTS["rounds"])
        parser.add_argument("--batch", type=int, default=DEFAULTS["batch"], help="labels a round")
        parser.add_argument(
            "--steps", type=int, default=DEFAULTS["steps"], help="classifier steps a round"
        )
        parser.add_argument("--passes", type=int, default=DEFAULTS["passes"], help="MC passes")
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument("--plot", type=Path, help="write the learning curve as a PNG")
        parser.add_argument(
            "--compare",
            type=Path,
            action="append",
            default=[],
            help="a previous run's --json output to draw beside this one (repeatable)",
        )
        parser.add_argument(
            "--save", action="store_true", help="keep the curve for the app's learning page"
        )
        parser.add_argument(
            "--cohorts", type=Path, help="a folder to keep (and reuse) the cohorts in"
        )
        parser.add_argument(
            "--jobs", type=int, default=min(2, os.cpu_count() or 1), help="seeds run at once"
        )
        parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)

    def handle(self, *args, **options) -> None:
        if options["child"]:
            return self._child(options)
        seeds = _seeds(options["seeds"])
        others = {}
        for path in options["compare"]:
            try:
                earlier = json.loads(path.read_text())
                others[earlier["settings"]["strategy"]] = earlier["seeds"]
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise CommandError(
                    f"--compare {path}: not a simulate_al --json output ({exc})"
                ) from None
        for name in ("dogs", "rounds", "batch", "steps", "passes", "jobs"):
            if options[name] < 1:
                raise CommandError(f"--{name} must be at least 1")
        if options["dogs"] < 8:
            raise CommandError(
                "--dogs must be at least 8 (the split needs validation and test dogs)"
            )
        plan = {k: options[k] for k in ("dogs", "strategy", "rounds", "batch", "steps", "passes")}
        with tempfile.TemporaryDirectory(prefix="dachs-simulate-") as scratch:
            cohorts = options["cohorts"] or Path(scratch) / "cohorts"
            for seed in seeds:
                self._cohort(cohorts, options["dogs"], seed)
            threads = max(1, settings.TORCH_THREADS // options["jobs"])
            with ThreadPoolExecutor(max_workers=options["jobs"]) as pool:
                curves = dict(
                    zip(
                        [str(s) for s in seeds],
                        pool.map(
                            lambda s: self._run_child(Path(scratch), cohorts, s, plan, threads),
                            seeds,
                        ),
                        strict=True,
                    )
                )
        result = {"settings": {**plan, "seeds": seeds}, "seeds": curves}
        if options["plot"]:
            from annotator.learning.curve_plot import write_png

            write_png(options["plot"], {**others, options["strategy"]: curves})
        if options["save"]:
            BenchmarkCurve.objects.create(
                strategy=options["strategy"], settings=result["settings"], seeds=curves
            )
        if options["json"]:
            self.stdout.write(json.dumps(result))
        else:
            self.stdout.write(_table(result))

    def _cohort(self, cohorts: Path, dogs: int, seed: int) -> Path:
        from annotator.synth.cohort import write_cohort

        folder = cohorts / f"dogs-{dogs}-seed-{seed}"
        if not (folder / "manifest.csv").exists():
            if folder.exists() and any(folder.iterdir()):
                raise CommandError(f"{folder} holds an unfinished cohort: delete it first")
            self.stderr.write(f"writing the cohort of seed {seed} ({dogs} dogs)")
            write_cohort(folder, dogs=dogs, seed=seed)
        return folder

    def _run_child(self, scratch: Path, cohorts: Path, seed: int, plan: dict, threads: int):
        data_dir = scratch / f"seed-{seed}"
        env = {
            **os.environ,
            "DATABASE_URL": "",  # SQLite in the scratch data folder
            "DACHS_DATA_DIR": str(data_dir),
            "REDIS_URL": "",
            "DACHS_RETRAIN_EVERY": str(10**9),  # the simulation retrains by itself
            "DACHS_HELD_OUT_SHARE": "0",
            "DACHS_LOOKAHEAD": "0",
            "DACHS_SHUFFLE_SEED": str(seed),
            "DACHS_TORCH_THREADS": str(threads),
        }
        cohort = cohorts / f"dogs-{plan['dogs']}-seed-{seed}"
        args = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "simulate_al"]
        args += ["--child", str(cohort), "--seeds", str(seed), "--strategy", plan["strategy"]]
        for name in ("rounds", "batch", "steps", "passes"):
            args += [f"--{name}", str(plan[name])]
        done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise CommandError(f"seed {seed} failed:\n{done.stderr[-3000:]}")
        self.stderr.write(f"seed {seed} done")
        return json.loads(done.stdout.strip().splitlines()[-1])

    def _child(self, options: dict) -> None:
        from annotator.learning.simulation import Plan, run  # torch: only in the child

        if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
            raise CommandError("the simulation runs in a scratch SQLite database only")
        call_command("migrate", verbosity=0)
        plan = Plan(
            strategy=options["strategy"],
            seed=_seeds(options["seeds"])[0],
            rounds=options["rounds"],
            batch=options["batch"],
            steps=options["steps"],
            passes=options["passes"],
        )
        self.stdout.write(json.dumps(run(options["child"], plan)))


def _table(result: dict) -> str:
    lines = [f"strategy {result['settings']['strategy']}: labels -> test macro AUROC per seed"]
    for seed, curve in result["seeds"].items():
        points = ", ".join(
            f"{p['labels']}: {p['macro_auroc']:.3f}" if p["macro_auroc"] is not None else "–"
            for p in curve
        )
        lines.append(f"  seed {seed}: {points}")
    return "\n".join(lines)
