"""Your run against recorded seeds: is a notebook's result the effect, or the luck of one seed?

`benchmarks/seed_spread.py` reruns each notebook's experiments over several seeds on a profile and
saves what it measured in `recorded_seeds.json` (shipped with the package). `seed_spread` prints a
learner's own numbers beside that spread:

    final training loss (5 recorded seeds of the cpu profile)
      plain-20    yours 0.0042    seeds 0.0043 ± 0.0012   (0.0031 to 0.0061)
      plain-56    yours 1.2431    seeds 1.0901 ± 0.1622   (0.8850 to 1.2431)
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping
from pathlib import Path

from ..train import History
from .profiles import Profile

RECORDED = Path(__file__).with_name("recorded_seeds.json")
COMMAND = "python benchmarks/seed_spread.py"


def recorded(profile_name: str, path: Path = RECORDED) -> dict:
    """The experiments recorded for a profile: {experiment: {label: {metric: [one value per seed]}}}."""
    if not path.exists():
        return {}
    return json.loads(path.read_text()).get(profile_name, {}).get("experiments", {})


def history_measures(history: History) -> dict[str, float]:
    """What the recorded runs keep of a training run: final loss, training and test error (%)."""
    measures = {"final training loss": history.final_loss()}
    if history.train_accuracy:
        measures["training error %"] = history.training_error()
    if history.test_accuracy:
        measures["test error %"] = history.test_error()
    return measures


def seed_spread(
    experiment: str, yours: Mapping[str, History | Mapping[str, float]], profile: Profile, path: Path = RECORDED
) -> None:
    """Print each of `yours` (label -> History or {metric: value}) beside the recorded seeds' mean ± std."""
    runs = recorded(profile.name, path).get(experiment)
    if not runs:
        print(
            f"No recorded seeds of '{experiment}' for the {profile.name} profile: `{COMMAND} --profile "
            f"{profile.name}` records them."
        )
        return
    for label, mine in yours.items():
        if label not in runs:
            continue
        measures = history_measures(mine) if isinstance(mine, History) else dict(mine)
        for metric, values in runs[label].items():
            if metric not in measures:
                continue
            spread = statistics.stdev(values) if len(values) > 1 else 0.0
            print(
                f"{label:>14} {metric:<22} yours {measures[metric]:9.4g}   {len(values)} seeds "
                f"{statistics.mean(values):9.4g} ± {spread:<9.3g} ({min(values):.4g} to {max(values):.4g})"
            )
    print(f"(recorded on the {profile.name} profile with `{COMMAND}`; the spread is one standard deviation)")
