"""Customer data platform: event sources, Segment-compatible ingestion and the event log.

Identity resolution, profiles and matching build on the event log in later slices.
"""
