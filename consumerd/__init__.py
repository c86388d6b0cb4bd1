"""pylttng.consumerd."""
