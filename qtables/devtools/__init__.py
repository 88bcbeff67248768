"""Developer tools, shipped in the wheel only because the demo uses them.

``samplegen`` makes consistent, realistic fillings (tests, benchmarks, the sample inbox);
``generate`` rewrites the committed generated files (``python -m qtables.devtools templates |
samples | findings``).  Production stages never import this package; only the demo and the CLI's
``demo`` command do.
"""
