"""What the service tells its operators: Prometheus metrics and structured logs. Nothing
about certificates is decided here; every package may count and log through it."""
