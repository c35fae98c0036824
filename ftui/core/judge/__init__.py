"""The A/B judge's pure logic: eval sets, pairwise prompts, verdict parsing, text metrics,
tallies with their intervals, blind ordering and the report.

Nothing here talks to a model: the services generate the answers and call the judge, and hand
the texts to these functions. Imports stay light (rouge-score is loaded on the first metric).
"""
