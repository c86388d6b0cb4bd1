"""pylttng: a Linux kernel tracer that speaks LTTng."""
