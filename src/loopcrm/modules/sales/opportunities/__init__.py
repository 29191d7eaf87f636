"""Pipelines, stages, lost reasons, currencies, opportunities with their contacts' buying roles,
and the stage history that conversion rates and time in stage are computed from."""
