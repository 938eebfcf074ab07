"""The frontline side of the project: briefings for reps and the one-customer view (server-rendered pages)."""
