#!/usr/bin/env python3
"""Writes a synthetic click-stream trace in ftsim's trace format (README: "Replaying a trace").

    scripts/make-trace.py [--seed 1] [--duration 60] [--rate 300] [--out scenarios/traces/clicks.csv]

A shop's page views: `time_s` (arrival, in microseconds), `key` (the page), `value` (the user id)
and `event_time_s` (left empty, i.e. equal to `time_s`, except for the views a mobile client
sent late). The arrival rate is a Poisson process around `--rate` views per second with a slow
swell, and four bursts (flash sales) of 3 to 6 times the rate; pages are Zipf-skewed (`/home`
hottest), and during a burst the page on sale takes a third of the views. Every draw comes from
one `random.Random(seed)` through `random()` alone, so the same seed writes the same file.
"""

import argparse
import bisect
import math
import random

# (start s, length s, rate multiplier, the page on sale)
BURSTS = [(8.0, 3.0, 4.0, "/sale/espresso-machine"), (21.0, 2.0, 6.0, "/sale/headphones"),
          (37.0, 4.0, 3.0, "/sale/winter-jacket"), (50.0, 2.5, 5.0, "/sale/headphones")]

PAGES = 1500
USERS = 20000
ZIPF_S = 1.1
LATE_SHARE = 0.005  # views from mobile clients, sent up to LATE_MAX late
LATE_MAX = 2.0


def page_names(rng):
    fixed = ["/home", "/search", "/cart", "/checkout", "/account", "/deals"]
    products = [f"/product/{i:04d}" for i in range(1, PAGES - len(fixed) + 1)]
    # Shuffle with random() only (random.shuffle's algorithm is not promised across versions).
    for i in range(len(products) - 1, 0, -1):
        j = int(rng.random() * (i + 1))
        products[i], products[j] = products[j], products[i]
    return fixed + products


def zipf_table(n, s):
    cum, total = [], 0.0
    for rank in range(1, n + 1):
        total += 1.0 / rank**s
        cum.append(total)
    return cum


def draw(rng, cum):
    return min(bisect.bisect_left(cum, rng.random() * cum[-1]), len(cum) - 1)


def rate_at(t, base):
    swell = 1.0 + 0.25 * math.sin(2 * math.pi * t / 60.0)
    for start, length, mult, _ in BURSTS:
        if start <= t < start + length:
            return base * swell * mult
    return base * swell


def sale_at(t):
    for start, length, _, page in BURSTS:
        if start <= t < start + length:
            return page
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of trace")
    ap.add_argument("--rate", type=float, default=300.0, help="mean views per second outside bursts")
    ap.add_argument("--out", default="scenarios/traces/clicks.csv")
    a = ap.parse_args()

    rng = random.Random(a.seed)
    pages = page_names(rng)
    page_cum = zipf_table(len(pages), ZIPF_S)
    user_cum = zipf_table(USERS, 0.8)
    peak = a.rate * 1.25 * max(m for _, _, m, _ in BURSTS)

    rows = []
    t = 0.0
    while True:
        # Thinning: candidate arrivals at the peak rate, each kept with rate(t) / peak.
        t += -math.log(1.0 - rng.random()) / peak
        if t >= a.duration:
            break
        if rng.random() * peak >= rate_at(t, a.rate):
            continue
        sale = sale_at(t)
        page = sale if sale is not None and rng.random() < 1 / 3 else pages[draw(rng, page_cum)]
        user = 1 + draw(rng, user_cum)
        arrival = round(t, 6)
        event = ""
        if rng.random() < LATE_SHARE:
            event = f"{max(0.0, arrival - rng.random() * LATE_MAX):.6f}"
        rows.append(f"{arrival:.6f},{page},{user},{event}\n")

    with open(a.out, "w", newline="\n") as f:
        f.write(f"# A synthetic shop click stream for ftsim: {a.duration:g} s of page views around {a.rate:g}/s,\n")
        f.write("# four flash-sale bursts (8 s, 21 s, 37 s, 50 s) of 3 to 6 times the rate, Zipf-skewed pages;\n")
        f.write("# event_time_s is empty (= time_s) except for views a mobile client sent late.\n")
        f.write(f"# Made by: scripts/make-trace.py --seed {a.seed} --duration {a.duration:g} --rate {a.rate:g}\n")
        f.write("time_s,key,value,event_time_s\n")
        f.writelines(rows)
    print(f"wrote {a.out}: {len(rows)} rows")


if __name__ == "__main__":
    main()
