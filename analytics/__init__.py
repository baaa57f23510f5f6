"""Pure statistics over metric series: the capacity forecast, unusual values, daily means.

numpy, pandas and SciPy only; nothing of the project, no web framework, no database (an
import contract keeps it a leaf), so the page, the PDF, the API and the alerts share one
computation and it can be tested on tiny frames.
"""
