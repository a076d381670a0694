"""Locust users for bench/intake.py: customers who sign in with a letter's code and key and
file reports of suspicious contact, one a second each (the rate is set by the user count)."""

from __future__ import annotations

import csv
import itertools
import os
import re

from locust import HttpUser, constant_throughput, task

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
with open(os.environ["INTAKE_CODES"], encoding="utf-8") as _handle:
    _CODES = itertools.cycle(list(csv.DictReader(_handle)))


class Customer(HttpUser):
    wait_time = constant_throughput(1)

    def on_start(self) -> None:
        code = next(_CODES)
        page = self.client.get("/signin/customer", name="GET /signin/customer")
        token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
        self.client.post(
            "/signin/customer",
            name="POST /signin/customer",
            data={"csrf_token": token, "code": code["registration_code"], "key": code["login_key"]},
        )
        self.csrf = CSRF.search(self.client.get("/me", name="GET /me").text).group(1)  # type: ignore[union-attr]

    @task
    def report(self) -> None:
        self.client.post(
            "/me/report",
            name="POST /me/report",
            data={
                "csrf_token": self.csrf,
                "contact_kind": "mail",
                "business_name": "株式会社ベンチ名簿",
                "description": "教材のダイレクトメールが届いた",
                "addressed_name": "山田 太郎",
                "addressed_address": "東京都千代田区九段南1-2-3",
            },
        )
