"""Processes the tests start (a Celery worker, a crashing sweep) keep the test session's clock.

Under CARE_TEST_CLOCK the session's conftest puts this folder on PYTHONPATH and says how far the session's
clock is from the real one; a child then ticks at the same distance, so parent and child agree on "now".
"""

import os
import time

_offset = os.environ.get("CARE_TEST_CLOCK_OFFSET_SECONDS")
if _offset:
    import time_machine

    time_machine.travel(time.time() + float(_offset), tick=True).start()
