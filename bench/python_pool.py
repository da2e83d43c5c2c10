"""Python's multiprocessing.Pool on the bench's workloads.

Run by bench/run.ts, one workload per process:
    python3 bench/python_pool.py WORKLOAD
prints {"ms": <time of the measured part>} as JSON. WORKLOAD is one of
tasks (100,000 queued apply_async), latency (one awaited apply, median of
200), map100k, map1m (map(square, range(n)) with the default chunksize)
and seed (the seed's program, printed as it does). There is no CPU-bound
workload: fib in CPython against fib in V8 compares interpreters, not pools.
"""
import json
import multiprocessing
import statistics
import sys
import time


def square(number):
    return number * number


def main(workload):
    if workload == "seed":
        numbers = [1, 2, 3, 4, 5]
        with multiprocessing.Pool(processes=3) as pool:
            results = pool.map(square, numbers)
        print("Original numbers:", numbers)
        print("Squared numbers:", results)
        return
    with multiprocessing.Pool(processes=2) as pool:
        pool.apply(square, (1,))
        started = time.perf_counter()
        if workload == "tasks":
            pending = [pool.apply_async(square, (i,)) for i in range(100_000)]
            for result in pending:
                result.get()
        elif workload == "latency":
            times = []
            for i in range(200):
                one = time.perf_counter()
                pool.apply(square, (i,))
                times.append(time.perf_counter() - one)
            print(json.dumps({"ms": statistics.median(times) * 1000}))
            return
        elif workload == "map100k":
            pool.map(square, range(100_000))
        elif workload == "map1m":
            pool.map(square, range(1_000_000))
        else:
            raise SystemExit(f"unknown workload {workload!r}")
        print(json.dumps({"ms": (time.perf_counter() - started) * 1000}))


if __name__ == "__main__":
    main(sys.argv[1])
