"""gunicorn settings for test_serving.py: workers stopped by the test exit at once.

A worker told to stop once the test has its answers need not tear its interpreter down
(most of a second each); gunicorn's master still reaps it as usual. A worker that
failed to boot or crashed exits as gunicorn would have it.
"""

import os


def worker_exit(server, worker):
    if worker.booted and not worker.alive:
        os._exit(0)
