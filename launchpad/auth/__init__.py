"""Users, password hashing, JWT tokens and login throttling."""
