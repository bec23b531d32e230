"""Incidents: classified articles go in; incident states (grouped, merged, scored, under a ceasefire) come out.

Pure logic: state (the values), group (join or open, merge rules: who survives, which reasons), similarity
(TF-IDF, SimHash), materiality (severity, what is news), ceasefires (which one an incident falls under).
"""
