#!/usr/bin/env python3
"""Turns bench/run.sh's results.jsonl into the Markdown tables of BENCHMARKS.md (ratios against the baselines
measured in the same run, and whether each target is met).

Usage: bench/summarize.py RESULTS.jsonl MACHINE.txt > summary.md
"""
import json
import sys


def main():
    results = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
    by = {r["label"]: r for r in results}
    print(open(sys.argv[2]).read().rstrip())
    print()

    def lat(r):
        l = r.get("latency_us", {})
        return "%s / %s / %s" % (l.get("p50", "-"), l.get("p99", "-"), l.get("p999", "-"))

    def met(ok):
        return "**met**" if ok else "**missed**"

    # Section 2 of run.sh repeats the signer's baselines and runs in rounds ("round": N); each ratio is taken
    # within its round, and the tables show medians over the rounds (with each round's value for the ratios).
    rounds = sorted({r["round"] for r in results if "round" in r})
    in_round = {n: {r["label"]: r for r in results if r.get("round") == n} for n in rounds}

    def per_round(label, field):
        return [in_round[n].get(label, {}).get(field, 0) for n in rounds]

    def median(values):
        values = sorted(values)
        return values[len(values) // 2] if values else 0

    def values(v):
        return ", ".join("%.0f" % x for x in v)

    health_v = by.get("health verifierd", {}).get("calls_per_s", 0)
    health_s_rounds = per_round("health signerd", "calls_per_s")
    print("### Health/Check (trivial-RPC ceiling)\n")
    print("| daemon | calls/s | p50 / p99 / p999 µs |\n| --- | ---: | --- |")
    if "health verifierd" in by:
        print("| verifierd | %.0f | %s |" % (health_v, lat(by["health verifierd"])))
    if rounds:
        print("| signerd (median of %d rounds: %s) | %.0f | %s |" % (
            len(rounds), values(health_s_rounds), median(health_s_rounds),
            lat(in_round[rounds[0]].get("health signerd", {}))))
    print()

    speed = {"EC": per_round("openssl speed -multi 2 ecdsap256", "sign_per_s"),
             "RSA": per_round("openssl speed -multi 2 rsa2048", "sign_per_s")}
    # The token's own ceiling (bench/p11_speed) for the PKCS#11 identities, by identity name.
    token = {name: per_round("p11_speed " + name, "sign_per_s") for name in ("dev-hsm", "dev-hsm-rsa")}

    print("### Sign\n")
    print("Baselines, per round: `openssl speed -multi 2` ecdsap256 %s sign/s, rsa2048 %s sign/s; the SoftHSM2 "
          "token itself (bench/p11_speed, 2 sessions, no Sigil): dev-hsm %s sign/s, dev-hsm-rsa %s sign/s. "
          "Each ratio below is taken within its round; the table shows medians over the rounds, each round's "
          "ratio in brackets.\n" % (values(speed["EC"]), values(speed["RSA"]), values(token["dev-hsm"]),
                                    values(token["dev-hsm-rsa"])))
    print("| run | signatures/s | vs openssl speed | vs the token itself | vs Health/Check calls "
          "| p50 / p99 / p999 µs per call (round 1) | target (on the medians) |")
    print("| --- | ---: | ---: | ---: | ---: | --- | --- |")
    labels = []
    for r in results:
        if r["label"].startswith("sign") and r["label"] not in labels:
            labels.append(r["label"])

    def ratio_cell(rates, bases):
        ratios = [a / b for a, b in zip(rates, bases) if b]
        if not ratios:
            return "-", 0
        return "%.2f (%s)" % (median(ratios), ", ".join("%.2f" % x for x in ratios)), median(ratios)

    for label in labels:
        identity = label.split()[1]
        ec = identity in ("dev-ecdsa", "dev-hsm")
        rates = per_round(label, "items_per_s")
        calls = per_round(label, "calls_per_s")
        vs_speed, speed_ratio = ratio_cell(rates, speed["EC"] if ec else speed["RSA"])
        vs_token, _ = ratio_cell(rates, token[identity]) if identity in token else ("-", 0)
        vs_health, _ = ratio_cell(calls, health_s_rounds)
        if ec:
            target = "ECDSA ≥ 30000/s: %s" % met(median(rates) >= 30000)
        else:
            target = "RSA ≥ 85%% of openssl: %s" % met(speed_ratio >= 0.85)
        print("| %s | %.0f | %s | %s | %s | %s | %s |" % (label, median(rates), vs_speed, vs_token, vs_health,
                                                          lat(in_round[rounds[0]][label]), target))
    print()

    print("### VerifyPeer (3-certificate chain, 2 OCSP-eligible links)\n")
    print("| run | calls/s | vs verifierd Health/Check | p50 / p99 / p999 µs | note |")
    print("| --- | ---: | ---: | --- | --- |")
    for r in results:
        label = r["label"]
        if not label.startswith("verify_peer") or "calls_per_s" not in r:
            continue
        note = ""
        if label == "verify_peer warm":
            note = "target ≥ 0.70: %s" % met(health_v and r["calls_per_s"] / health_v >= 0.70)
        print("| %s | %.0f | %.2f | %s | %s |" % (label, r["calls_per_s"],
                                                  r["calls_per_s"] / health_v if health_v else 0, lat(r), note))
    burst = by.get("verify_peer burst responder requests")
    if burst:
        print("\nResponder requests during the concurrent cold burst: leaf link %d, intermediate link %d "
              "(target: exactly one per link: %s)." % (burst["leaf_link_fetches"], burst["intermediate_link_fetches"],
                                                        met(burst["leaf_link_fetches"] == 1 and
                                                            burst["intermediate_link_fetches"] == 1)))
    print()

    cache = by.get("cache")
    if cache:
        print("### OCSP response cache\n")
        print("| entries | write (puts/s) | RocksDB bytes | open s | lookup p50 / p99 / p999 µs | cache.json bytes "
              "| RocksDB / cache.json | cache.json parse s (Sigil's parser) |")
        print("| ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |")
        print("| %d | %.0f | %d | %.3f | %s / %s / %s | %d | %.2f | %.2f |" % (
            cache["entries"], cache["puts_per_s"], cache["rocksdb_bytes"], cache["open_s"],
            cache["lookup_us"]["p50"], cache["lookup_us"]["p99"], cache["lookup_us"]["p999"],
            cache["cache_json_bytes"], cache["rocksdb_bytes"] / cache["cache_json_bytes"],
            cache["cache_json_parse_s"]))
        print()
    local = by.get("tls local key, no peer verification")
    remote = by.get("tls remote key + peer verification")
    if local or remote:
        print("### TLS handshakes of the example server (client/examples/echo_server)\n")
        print("| run | handshakes/s | vs local key, no verification | p50 / p99 / p999 µs per connection |")
        print("| --- | ---: | ---: | --- |")
        base = local["calls_per_s"] if local else 0
        for r in (local, remote):
            if r:
                print("| %s | %.0f | %.2f | %s |" % (r["label"], r["calls_per_s"],
                                                     r["calls_per_s"] / base if base else 0, lat(r)))
        print()
    for r in results:
        if "status" in r:
            print("- %s: %s" % (r["label"], r["status"]))


if __name__ == "__main__":
    main()
