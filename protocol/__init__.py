"""pylttng.protocol."""
