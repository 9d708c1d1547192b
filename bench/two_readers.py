"""Two demo vets read slices through the running app's HTTP API; prints the agreement.

Usage (with `make demo` running):
    python bench/two_readers.py [--url http://127.0.0.1:8000] [--data data] [--slices 150]
        [--miss 0.2] [--seed 0]

Both vets (`vet1`, `vet2` from data/demo-logins.txt) take slices from the labeling queue
and answer from the cohort's manifest, as a careful reader would; the second misses a
lesion (answers "unremarkable") with probability --miss, so their double reads disagree
now and then. The double-read slices the queue gives to both are then in the agreement
statistics, which the demo `reviewer` fetches from /api/quality/agreement/. The answers
are simulated; the queue, the double-read rule and the statistics are the app's own.
"""

import argparse
import csv
import http.cookiejar
import json
import random
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path


class Session:
    """A signed-in browser session: cookies, the CSRF token, JSON requests."""

    def __init__(self, base: str, username: str, password: str) -> None:
        self.base = base.rstrip("/")
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.opener.open(f"{self.base}/accounts/login/").read()
        form = urllib.parse.urlencode(
            {"username": username, "password": password, "csrfmiddlewaretoken": self.csrf()}
        ).encode()
        request = urllib.request.Request(
            f"{self.base}/accounts/login/", data=form, headers={"Referer": self.base + "/"}
        )
        self.opener.open(request).read()
        if not any(c.name == "sessionid" for c in self.jar):
            raise SystemExit(f"could not sign in as {username}")

    def csrf(self) -> str:
        return next(c.value for c in self.jar if c.name == "csrftoken")

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict | None]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.base + path,
            data=data,
            method=method,
            headers={
                "Content-Type": "application/json",
                "X-CSRFToken": self.csrf(),
                "Referer": self.base + "/",
            },
        )
        try:
            with self.opener.open(request) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")


def answer(truth: list[str], miss: float, rng: random.Random) -> list[str]:
    if miss and truth != ["unremarkable"] and rng.random() < miss:
        return ["unremarkable"]
    return truth


def read(vet: Session, truth: dict[str, list[str]], count: int, miss: float, seed: int) -> int:
    rng = random.Random(seed)
    done = 0
    while done < count:
        status, item = vet.call("POST", "/api/queue/next/", {})
        if status == 204:
            break
        findings = answer(truth[item["slice"]["sop_instance_uid"]], miss, rng)
        status, body = vet.call(
            "POST", "/api/annotations/", {"slice": item["slice"]["id"], "findings": findings}
        )
        if status not in (200, 201):
            raise SystemExit(f"label refused ({status}): {body}")
        done += 1
    return done


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--slices", type=int, default=150, help="slices each vet labels")
    parser.add_argument("--miss", type=float, default=0.2, help="vet2's chance to miss a lesion")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logins = dict(
        line.split(" ", 1) for line in (args.data / "demo-logins.txt").read_text().splitlines()
    )
    with (args.data / "cohort" / "manifest.csv").open() as manifest:
        truth = {
            row["sop_instance_uid"]: row["findings"].split(";") for row in csv.DictReader(manifest)
        }
    vet1 = Session(args.url, "vet1", logins["vet1"])
    vet2 = Session(args.url, "vet2", logins["vet2"])
    labeled = {
        "vet1": read(vet1, truth, args.slices, 0.0, args.seed),
        "vet2": read(vet2, truth, args.slices, args.miss, args.seed + 1),
    }
    reviewer = Session(args.url, "reviewer", logins["reviewer"])
    status, agreement = reviewer.call("GET", "/api/quality/agreement/")
    print(json.dumps({"labeled": labeled, "agreement": agreement}, indent=1))


if __name__ == "__main__":
    main()
