"""Speed benchmarks (one command each; not part of the test suite). See README.md."""
