"""Incidents: classified articles go in; incident states (grouped, merged, scored, under a ceasefire) come out.

Pure logic: group (join or open), similarity (TF-IDF, SimHash), materiality (severity, what is news), ceasefires.
"""
