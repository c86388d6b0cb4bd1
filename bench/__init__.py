"""`make bench`: pylttng against ftrace, perf, trace-cmd and the stock daemons on pylttng.ko.

Runs inside the test VM (bench/guest.sh, booted by `tests/vm/runner.py bench`); the host
renders the results (bench/report.py). See bench/README.md.
"""
