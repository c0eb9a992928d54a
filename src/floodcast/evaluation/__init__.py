"""Honest evaluation: contingency scores per event and overall, baselines, reports, speed."""
