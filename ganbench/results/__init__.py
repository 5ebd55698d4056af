"""Results: the store (atomic, one folder per run), verification, loading, the suite
record, and the one aggregation over seeds.

Every file is written to a temporary name in the same folder (``.NAME.XXXXXXXX.tmp``) and
renamed into place, so a crash never leaves a half-written file that the loader would take
as valid; temporaries left by a killed write are removed when a run starts
(``remove_stale_temporaries``, under the folder's lock).

Results are verified, not trusted (``inspect_run``); the loaders count only verified runs
and list the others with the reason (``results_problems``); ``ganbench run`` trains them
again. This stage sits below the trainer and the executors: both write through the store.
"""

from ganbench.results.load import (
    load_history,
    load_results,
    metric_columns,
    ordered_results,
    tidy_results,
)
from ganbench.results.record import (
    RECORD_TYPES,
    SUITE_RECORD,
    ResultsError,
    read_suite_record,
    recorded_runs,
    write_suite_record,
)
from ganbench.results.store import RunDir, remove_stale_temporaries
from ganbench.results.verify import (
    STATUSES,
    RunCheck,
    describe_problems,
    inspect_run,
    not_counted,
    results_problems,
    warn_not_counted,
)

__all__ = ["RECORD_TYPES", "STATUSES", "SUITE_RECORD", "ResultsError", "RunCheck", "RunDir",
           "describe_problems", "inspect_run", "load_history", "load_results", "metric_columns",
           "not_counted", "ordered_results", "read_suite_record", "recorded_runs",
           "remove_stale_temporaries", "results_problems", "tidy_results", "warn_not_counted",
           "write_suite_record"]
