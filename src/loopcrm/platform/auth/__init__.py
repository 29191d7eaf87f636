"""Users, roles, teams, sessions, API tokens and password resets."""
