"""`rapport leads <action>`: the leads app's command-line work.

    rapport leads train      learn from closed leads, store the model version, score every open lead
    rapport leads evaluate   ROC AUC, Brier score and calibration table of the model in use (its holdout)
    rapport leads score      score every open lead with the model in use (or the rule scores)
    rapport leads escalate   flag leads past their first-response deadline, tell their managers (routing)

To add an action: write a function `def name(command, **options)` below, and a line in
`ACTIONS` with its help text and a function adding its arguments.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

from django.core.management.base import BaseCommand, CommandError

from rapport.leads.routing.command import escalate, escalate_arguments


def _no_arguments(parser) -> None:
    pass


def _train_arguments(parser) -> None:
    parser.add_argument("--no-score", action="store_true", help="Train only; leave the open leads' scores as they are")


def _evaluate_arguments(parser) -> None:
    parser.add_argument("--json", action="store_true", help="Print the evaluation as one line of JSON")


def _when(seconds) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%d") if seconds else "?"


def _print_scoring(command, run) -> None:
    how = "the rule scores (fit and engagement)" if run.version == "rules" else f"model {run.version}"
    command.stdout.write(f"Scored {run.leads:,} open leads with {how} in {sum(run.seconds.values()):.1f} s.")
    if run.problem:
        command.stdout.write(command.style.WARNING(f"The stored model was not used: {run.problem}"))


def train(command, *, no_score=False, **options) -> None:
    from rapport.leads.scoring.services import score_open_leads, train_model

    row = train_model()
    if row.status == "too_few":
        command.stdout.write(command.style.WARNING(f"Not enough outcomes to train a model: {row.note}"))
    else:
        m = row.metrics
        command.stdout.write(
            f"Model {row.version} trained on {row.outcomes:,} closed leads ({row.wins:,} won). Holdout (newest "
            f"{m['holdout']:,}): ROC AUC {m['roc_auc'] if m['roc_auc'] is not None else 'n/a'}, "
            f"Brier {m['brier']} (always guessing the base rate: {m['brier_base_rate']}).")
    if not no_score:
        _print_scoring(command, score_open_leads())


def evaluate(command, *, json: bool = False, **options) -> None:  # noqa: A002 - the option's name
    from rapport.leads.scoring.selectors import evaluation

    report = evaluation()
    if report is None:
        raise CommandError("No model has been trained yet; run `rapport leads train`.")
    if json:
        command.stdout.write(_json_dumps(report))
        return
    out = command.stdout.write
    out(f"Lead model {report['version']}, trained {report['trained_at'][:16].replace('T', ' ')} UTC "
        f"on {report['outcomes']:,} closed leads ({report['wins']:,} won).")
    if report["status"] != "ready":
        out(command.style.WARNING(f"No model in use: {report['note']}"))
        return
    m = report["metrics"]
    out(f"Holdout: the newest {m['holdout']:,} closed leads ({_when(m.get('holdout_from'))} to "
        f"{_when(m.get('holdout_to'))}); trained on the {m['train']:,} before them.")
    auc = m["roc_auc"]
    out(f"  ROC AUC      {auc if auc is not None else 'n/a (the holdout has only one kind of outcome)'}"
        "   (0.5 is a coin toss, 1.0 ranks every win above every loss)")
    out(f"  Brier score  {m['brier']}   (lower is better; always guessing the base rate "
        f"{m['base_rate']:.1%} scores {m['brier_base_rate']})")
    out("")
    out("  Calibration: holdout leads in ten groups by predicted chance")
    out(f"  {'leads':>7} {'predicted':>10} {'won':>8} {'wins':>6}")
    for row in m["calibration"]:
        out(f"  {row['leads']:>7,} {row['predicted']:>10.1%} {row['observed']:>8.1%} {row['wins']:>6,}")
    if report.get("problem"):
        out(command.style.WARNING(f"The stored model cannot be used here: {report['problem']}"))


def _json_dumps(report: dict) -> str:
    return json.dumps(report, default=str)


def score(command, **options) -> None:
    from rapport.leads.scoring.services import score_open_leads

    _print_scoring(command, score_open_leads())


ACTIONS: dict[str, tuple[str, Callable, Callable]] = {
    "train": ("Learn from closed leads, store the model and score every open lead", _train_arguments, train),
    "evaluate": ("Print ROC AUC, Brier score and the calibration table of the model in use", _evaluate_arguments,
                 evaluate),
    "score": ("Score every open lead (fit, engagement and the model's chance)", _no_arguments, score),
    "escalate": ("Flag leads past their first-response deadline and tell their managers", escalate_arguments,
                 escalate),
}


class Command(BaseCommand):
    help = "Leads: " + "; ".join(f"`{name}` {text[0].lower()}{text[1:]}" for name, (text, _, _) in ACTIONS.items())

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="{" + ",".join(ACTIONS) + "}")
        for name, (text, arguments, _) in ACTIONS.items():
            arguments(actions.add_parser(name, help=text))

    def handle(self, *args, action, **options):
        if action not in ACTIONS:
            raise CommandError(f"unknown action {action}; choose one of {', '.join(ACTIONS)}")
        return ACTIONS[action][2](self, **options)
