"""Checkers for the exercises of notebook 08 (training on real data)."""

from __future__ import annotations

import math

import numpy as np

from . import Verdict, as_number, as_shape, as_whole_number, feedback

__all__ = ["check_window_count", "check_train_mean", "early_stop_epochs", "check_early_stop",
           "check_seasonal_naive_mape"]


def check_window_count(answer: object, n: int = 120, lookback: int = 24,
                       horizon: int = 12) -> Verdict:
    """Exercise 08.1: how many (lookback, horizon) windows fit in n steps."""
    expected = n - lookback - horizon + 1
    count = as_whole_number(answer)
    if count is None:
        return feedback(False, "", f"give a whole number, got {answer!r}.")
    if count == n - lookback - horizon:
        hint = "off by one: the first window starts at 0 and the last one ends exactly at n."
    elif count == n - lookback:
        hint = "each window also needs its horizon of targets after the lookback."
    else:
        hint = (f"{count} is not it. A window uses lookback + horizon consecutive steps; "
                f"count the start positions that leave room for all of them.")
    return feedback(count == expected,
                    f"n - lookback - horizon + 1 = {n} - {lookback} - {horizon} + 1 = "
                    f"{expected} start positions.", hint)


def check_train_mean(answer: object, values=None, train_size: int = 120,
                     val_size: int = 12) -> Verdict:
    """Exercise 08.2: the mean a leak-free scaler subtracts (training months only)."""
    if values is None:
        from ..data import load_airline
        values = load_airline()[1]
    values = np.asarray(values, dtype=float)
    number = as_number(answer)
    if number is None:
        return feedback(False, "", f"give one number (scaler.mean), got {answer!r}.")
    expected = values[:train_size].mean()
    if math.isclose(number, values.mean(), rel_tol=1e-6):
        hint = ("that is the mean of all months: the validation and test months leaked into "
                "the scaler. Fit it on values[split.train] only.")
    elif math.isclose(number, values[:train_size + val_size].mean(), rel_tol=1e-6):
        hint = "that includes the validation months; the scaler sees the training part only."
    else:
        hint = f"{number:g} is not it. Fit StandardScaler on the first {train_size} months."
    return feedback(math.isclose(number, expected, rel_tol=1e-6),
                    f"{expected:.2f}: the mean of the {train_size} training months only; "
                    f"validation and test play no part.", hint)


def early_stop_epochs(val_losses, patience: int) -> tuple[int, int]:
    """(the epoch after which training stops, the best epoch), both 1-based."""
    best, best_epoch, waited = math.inf, 0, 0
    for epoch, loss in enumerate(val_losses, start=1):
        if loss < best:
            best, best_epoch, waited = loss, epoch, 0
        else:
            waited += 1
            if waited >= patience:
                return epoch, best_epoch
    return len(val_losses), best_epoch


def check_early_stop(answer: object, val_losses=(0.90, 0.60, 0.50, 0.52, 0.48, 0.49, 0.50,
                                                 0.51, 0.47, 0.46),
                     patience: int = 3) -> Verdict:
    """Exercise 08.3: (stop epoch, restored epoch) for these validation losses."""
    stop, best = early_stop_epochs(val_losses, patience)
    epochs = as_shape(answer)  # a tuple (or list) of whole numbers
    if epochs is None or len(epochs) != 2:
        return feedback(False, "", f"give a pair of two whole numbers (stop_epoch, "
                                   f"restored_epoch), got {answer!r}.")
    answer = epochs
    if answer == (best, stop):
        hint = "the two are swapped: first the epoch it stops after, then the one restored."
    elif answer[1] == len(val_losses) or answer[0] == len(val_losses):
        hint = ("training never reaches the last epochs: count the epochs without "
                "improvement after the best one, and stop when there are `patience` of them.")
    else:
        hint = (f"{answer} is not it. Track the best loss so far; after it, count epochs that "
                f"do not beat it; stop when the count reaches {patience}.")
    return feedback(answer == (stop, best),
                    f"the best loss is at epoch {best}; epochs {best + 1}..{stop} do not beat "
                    f"it, so with patience {patience} training stops after epoch {stop} and "
                    f"restores epoch {best}'s weights.", hint)


def check_seasonal_naive_mape(answer: object, values=None, horizon: int = 12) -> Verdict:
    """Exercise 08.4: the MAPE (percent) of the seasonal-naive forecast on the test months."""
    if values is None:
        from ..data import load_airline
        values = load_airline()[1]
    values = np.asarray(values, dtype=float)
    history, truth = values[:-horizon], values[-horizon:]
    forecast = history[-12:][:horizon]
    expected = 100 * np.mean(np.abs(forecast - truth) / truth)
    rmse = np.sqrt(np.mean((forecast - truth) ** 2))
    number = as_number(answer)
    if number is None:
        return feedback(False, "", f"give one number in percent, got {answer!r}.")
    if math.isclose(number, expected / 100, rel_tol=1e-3):
        hint = "that is a fraction; MAPE is given in percent (multiply by 100)."
    elif math.isclose(number, rmse, rel_tol=1e-3):
        hint = "that is the RMSE; MAPE averages |error| / truth."
    elif math.isclose(number, 100 * np.mean(np.abs(forecast - truth) / forecast),
                      rel_tol=1e-3):
        hint = "divide by the truth, not by the forecast."
    else:
        hint = (f"{number:g} is not it. The forecast for 1960 repeats 1959 month by month; "
                f"average |forecast - truth| / truth and multiply by 100.")
    return feedback(math.isclose(number, expected, rel_tol=1e-3),
                    f"{expected:.2f}%: repeating last year is off by about a tenth, the growth "
                    f"of one year.", hint)
