#!/usr/bin/env python3
"""`make bench`: measure the watcher and write docs/performance.md and docs/performance.png.

Every figure is measured in this run, next to what it is compared with:

1. batch concurrency - one invocation for 1, 10 and 100 records whose runs all end 3 s in
   (Apify simulator over real HTTP, moto's server for SQS), as a ratio to the 1-record time;
2. cold start - a fresh interpreter importing the handler module (which makes its clients)
   against `import boto3` plus the same clients;
3. peak memory (RSS) of a 100-record batch, in a child process;
4. alert latency and cost over 1,000 runs of 10 s-24 h (log-uniform): the product's own RunWatcher
   (its policy, push arming, settle and safety net) on a virtual clock with the costs measured in
   1. (localdev/virtual_watch.py), beside a blocking waiter and fixed 60 s polling (models of the
   alternatives), plus a sweep of the re-enqueue cap.

Medians of repeated runs. Nothing leaves 127.0.0.1.
"""
