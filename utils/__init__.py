"""Helpers for the course *LSTM in PyTorch, every knowledge point*.

One module per concern, each small enough to read:

- ``models``     the classic LSTM regressor (and, later, an LSTM written from scratch)
- ``training``   seeding, device choice, an environment report, the training loop
- ``data``       the shipped datasets, sliding windows and synthetic tasks
- ``viz``        plots and the drawn LSTM cell
- ``widgets``    one factory per interactive explorer, testable without a browser
- ``checks``     exercise checkers with friendly feedback
- ``curriculum`` the registry of knowledge points and the proof-cell check

Whatever *is* the lesson stays visible in the notebooks; these helpers hold what
repeats across notebooks or would distract from it.
"""

__version__ = "0.1.0"
