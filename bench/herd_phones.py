"""The locustfile of bench/herd.py: phones that got a schedule-change push.

Each simulated phone takes the next line of HERD_PHONES ("token<TAB>etag<TAB>version"),
waits until the push lands (HERD_PUSH_AT, a Unix time) plus a random delay of up to
HERD_SPREAD seconds (people open the app within seconds), then fetches /me/schedule with
its ETag and the changes since its version, once; then it idles until the run ends.
"""

import itertools
import os
import random
import time

import gevent
from locust import FastHttpUser, constant, task

PHONES = [line.rstrip("\n").split("\t") for line in open(os.environ["HERD_PHONES"])]
NEXT = itertools.count()
PUSH_AT = float(os.environ["HERD_PUSH_AT"])
SPREAD = float(os.environ.get("HERD_SPREAD", "10"))
SLUG = "alliance-2020"


class Phone(FastHttpUser):
    wait_time = constant(3600)

    def on_start(self):
        self.token, self.etag, self.version = PHONES[next(NEXT) % len(PHONES)]

    @task
    def after_the_push(self):
        gevent.sleep(max(0.0, PUSH_AT + random.uniform(0, SPREAD) - time.time()))
        headers = {"Authorization": f"Bearer {self.token}", "If-None-Match": self.etag}
        with self.client.get("/api/v1/me/schedule", headers=headers, name="/me/schedule",
                             catch_response=True) as response:
            if response.status_code in (200, 304):
                response.success()
            else:
                response.failure(f"status {response.status_code}")
        with self.client.get(f"/api/v1/events/{SLUG}/schedule/changes",
                             params={"since": self.version}, name="/schedule/changes?since=",
                             catch_response=True) as response:
            if response.status_code == 200 and response.json()["version"] > int(self.version):
                response.success()
            else:
                response.failure(f"status {response.status_code}")
