"""Reading: a FeedItem's text goes in; a Classification (labels, place, date, casualties, evidence) comes out.

classify drives rules (phrases per language), places (gazetteer + place_scan), dates, casualties and actors.
"""
