"""Sales reads, one module per area; every function takes the acting user."""
