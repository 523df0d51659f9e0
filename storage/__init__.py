"""The lowest floor: database sessions and the UTC clock every table uses."""
