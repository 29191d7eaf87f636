"""The platform kernel: data layer, auth and permissions, audit, jobs, errors, i18n, web shell.

The platform holds no business rules and imports no module; modules build on it.
"""
