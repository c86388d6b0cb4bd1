"""pylttng.sessiond."""
