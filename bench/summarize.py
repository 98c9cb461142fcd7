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

    health_s = by.get("health signerd", {}).get("calls_per_s", 0)
    health_v = by.get("health verifierd", {}).get("calls_per_s", 0)
    print("### Health/Check (trivial-RPC ceiling)\n")
    print("| daemon | calls/s | p50 / p99 / p999 µs |\n| --- | ---: | --- |")
    for name in ("health signerd", "health verifierd"):
        if name in by:
            print("| %s | %.0f | %s |" % (name.split()[1], by[name]["calls_per_s"], lat(by[name])))
    print()

    speed = {"EC": by.get("openssl speed -multi 2 ecdsap256", {}).get("sign_per_s", 0),
             "RSA": by.get("openssl speed -multi 2 rsa2048", {}).get("sign_per_s", 0)}
    # The token's own ceiling (bench/p11_speed) for the PKCS#11 identities, by identity name.
    token = {name: by.get("p11_speed " + name, {}).get("sign_per_s", 0) for name in ("dev-hsm", "dev-hsm-rsa")}
    print("### Sign\n")
    print("Baselines: `openssl speed -multi 2` ecdsap256 %.0f sign/s, rsa2048 %.0f sign/s; the SoftHSM2 token itself "
          "(bench/p11_speed, 2 sessions, no Sigil): dev-hsm %.0f sign/s, dev-hsm-rsa %.0f sign/s.\n" % (
              speed["EC"], speed["RSA"], token["dev-hsm"], token["dev-hsm-rsa"]))
    print("| run | signatures/s | vs openssl speed | vs the token itself | vs Health/Check calls "
          "| p50 / p99 / p999 µs per call | target |")
    print("| --- | ---: | ---: | ---: | ---: | --- | --- |")
    for r in results:
        label = r["label"]
        if not label.startswith("sign"):
            continue
        identity = label.split()[1]
        ec = identity in ("dev-ecdsa", "dev-hsm")
        base = speed["EC"] if ec else speed["RSA"]
        rate = r["items_per_s"]
        if ec:
            target = "ECDSA ≥ 30000/s: %s" % met(rate >= 30000)
        else:
            target = "RSA ≥ 85%% of openssl: %s" % met(base and rate / base >= 0.85)
        ceiling = token.get(identity, 0)
        print("| %s | %.0f | %.2f | %s | %.2f | %s | %s |" % (
            label, rate, rate / base if base else 0, "%.2f" % (rate / ceiling) if ceiling else "-",
            r["calls_per_s"] / health_s if health_s else 0, lat(r), target))
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
