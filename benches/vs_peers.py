#!/usr/bin/env python3
"""The performance table of issue 20: convoy against ffmpeg `afir` and sox `fir` on the standard
workloads, plus `convoy bench` and `denoise`, as whole-process CPU (user + sys).

    python3 ../shared/bench/make_workloads.py /tmp/wl        # the workloads (W1, W2, W3)
    python3 benches/vs_peers.py /tmp/wl [--convoy BIN] [--runs N] [--verify ../shared/bench/verify.py]

Each row runs convoy and its peer in turn, A B A B ..., N pairs (default 10), and reports the
median CPU of each and the median of the per-pair ratios (pairing keeps a ratio meaningful while
the machine's speed drifts; on these 2-core VMs it moves by ~30 % between hours). The peers'
command lines are the ones ../shared/bench/README.md gives (ffmpeg afir tuned: minp=maxp=32768,
or minp=64 for the low-latency row; sox fir padded to the full length). With --verify, every
output is checked by that script first (full length, lag 0, gain 1, error against float64).

Needs sox and ffmpeg; `hyperfine -N 'CMD_A' 'CMD_B'` times the same pairs by hand.
"""
import json, os, resource, statistics, subprocess, sys, tempfile


def cpu_of(cmd):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, shell=True, check=True, stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def paired(a, b, runs):
    cpu_of(a), cpu_of(b)  # warm the page cache
    ta, tb = [], []
    for _ in range(runs):
        ta.append(cpu_of(a))
        tb.append(cpu_of(b))
    ratios = [x / y for x, y in zip(ta, tb)]
    return statistics.median(ta), statistics.median(tb), statistics.median(ratios)


def bench_json(convoy, args):
    out = subprocess.run(f"{convoy} bench {args} --json", shell=True, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def main():
    args = sys.argv[1:]
    if not args or args[0].startswith("-"):
        sys.exit(__doc__)
    wl = os.path.abspath(args[0])
    convoy, runs, verify = "target/release/convoy", 10, None
    rest = args[1:]
    while rest:
        flag, value, rest = rest[0], rest[1], rest[2:]
        if flag == "--convoy":
            convoy = value
        elif flag == "--runs":
            runs = int(value)
        elif flag == "--verify":
            verify = value
        else:
            sys.exit(f"unknown option {flag}")
    convoy = os.path.abspath(convoy)
    tmp = tempfile.mkdtemp()
    out_a, out_b = os.path.join(tmp, "a.wav"), os.path.join(tmp, "b.wav")
    ff = "ffmpeg -nostdin -hide_banner -loglevel error -y"

    def afir(w, pad, minp):
        return (f"{ff} -i {wl}/{w}/in.wav -i {wl}/{w}/ir.wav -filter_complex "
                f"'[0:a]apad=pad_len={pad}[x];[x][1:a]afir=gtype=none:irgain=0.5:"
                f"minp={minp}:maxp=32768' -c:a pcm_f32le {out_b}")

    def run(w, extra=""):
        return f"{convoy} run -q {extra} -i {wl}/{w}/in.wav -o {out_a} fir:{wl}/{w}/ir.wav,mode=full"

    rows = [
        ("W1 60 s stereo x 65,536 taps vs ffmpeg afir tuned", "w1", run("w1"),
         afir("w1", 65535, 32768), "<= 0.30"),
        ("W3 60 s mono x 262,144 taps vs ffmpeg afir tuned", "w3", run("w3"),
         afir("w3", 262143, 32768), "<= 0.25"),
        ("W3 at --block 64 vs afir minp=64", "w3", run("w3", "--block 64"),
         afir("w3", 262143, 64), "<= 0.20"),
        ("W2 2^22 x 31-tap MA vs sox fir", "w2", run("w2"),
         f"sox -V1 {wl}/w2/in.wav -e floating-point -b 32 {out_b} pad 15s 15s fir {wl}/w2/ir.txt",
         "<= 0.20"),
    ]
    print("| workload | convoy CPU | peer CPU | convoy / peer (median of pairs) | target |")
    print("|---|---|---|---|---|")
    for name, w, a, b, target in rows:
        if verify:
            for cmd, out in ((a, out_a), (b, out_b)):
                subprocess.run(cmd, shell=True, check=True)
                ref = os.path.join(tmp, f"ref_{w}")
                subprocess.run([sys.executable, verify, os.path.join(wl, w), ref, out], check=True,
                               stdout=subprocess.DEVNULL)
        ca, cb, r = paired(a, b, runs)
        print(f"| {name} | {ca:.3f} s | {cb:.3f} s | {r:.3f} | {target} |", flush=True)
    # The streaming engine alone, and denoise on a minute of 48 kHz mono (no peer: real time).
    fast = [bench_json(convoy, "--kernel-len 65536 --block 128 --channels 2")["realtime_factor"]
            for _ in range(max(3, runs // 2))]
    print(f"| convoy bench 2^16 taps, block 128, stereo | {statistics.median(fast):.0f}x realtime "
          f"| | | >= 400x |")
    core = [bench_json(convoy, "--kernel-len 262144 --block 64 --channels 2")["cpu_percent"]
            for _ in range(max(3, runs // 2))]
    print(f"| convoy bench 2^18 taps, block 64, stereo | {statistics.median(core):.3f} % of a core "
          f"| | | <= 0.40 % |")
    mono = os.path.join(tmp, "mono60.wav")
    subprocess.run(f"sox {wl}/w3/in.wav {mono} trim 0 60", shell=True, check=True)
    for words, label in (("denoise", "hybrid (default)"), ("denoise,model=spectral", "spectral")):
        t = statistics.median(cpu_of(f"{convoy} run -q -i {mono} -o {out_a} {words}")
                              for _ in range(runs))
        print(f"| `{words}` ({label}) 60 s 48 kHz mono | {t:.3f} s, {60 / t:.0f}x realtime | | | "
              f">= 300x |", flush=True)


if __name__ == "__main__":
    main()
