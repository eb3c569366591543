"""Benchmarks: scripts that print timings and memory as JSON, run from the repository root as modules:

    python -m benchmarks.time_prepare --data ../shared/data/mnist.npz     # preparing uploads, by kind
    python -m benchmarks.time_serve_start                                  # `python -m uplink_server` to ready
    python -m benchmarks.bench_feedback --sqlite --throwaway-postgres      # the feedback store's writes
    python -m benchmarks.bench_web_page                                    # the page in Chromium, end to end
    python -m benchmarks.cpu_share --data ../shared/data/mnist.npz        # 0.25, 0.5, 1 vCPU and every core
    python -m digits.bench                                                  # the engine: batching, threads

Compare figures from one run (ratios); absolute times drift with the machine's load. The web page's and
the serve-start benchmarks stand on harness/ (the stand-ins the tests use), so they need the test extra.
"""
