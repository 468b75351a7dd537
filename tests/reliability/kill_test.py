#!/usr/bin/python3
"""Crash-safety test: SIGKILL `souplab-cli train` again and again, resume each time, then check
that nothing was lost or corrupted (docs/DESIGN.md §3.1-3.2: checkpoints and run log survive any kill).

    kill_test.py SOUPLAB_CLI [--kills N] [--tmp-kills N] [--steps N] [--long]

Each round starts the run (or resumes its latest complete checkpoint), waits a random moment
and SIGKILLs it. Delays are drawn in 1 ms steps from 0-300 ms after one of three bases (start-up,
first training steps, well into training), so kills land during start-up, run-log writes (every
step logs metrics) and checkpoint writes; besides that, --tmp-kills rounds poll the run folder
and kill the moment a checkpoint's temporary file (.step_*.ckpt.tmp-*) exists. Then the run is
resumed to the end and checked:
  - the latest checkpoint loads (`souplab-cli eval`);
  - every resume continued from the latest complete checkpoint, losing at most one interval;
  - PRAGMA integrity_check is ok;
  - every completed step has exactly one row of each train metric, every evaluation step
    exactly one row per domain and metric;
  - the final parameters and AdamW moments equal those of an uninterrupted run, bit for bit.
--long (or SOUPLAB_KILL_TEST_LONG=1): 30 kills, 6 of them during checkpoint writes."""
import argparse, glob, json, os, random, re, shutil, signal, sqlite3, subprocess, sys, tempfile, time

import numpy as np

INTERVAL = 5
MODEL = ["--layers", "1", "--width", "32", "--heads", "2", "--context", "32", "--batch", "4",
         "--experts", "2", "--checkpoint-interval", str(INTERVAL), "--eval-interval", "10",
         "--eval-windows", "2", "--log-interval", "1", "--keep", "3", "--device", "cpu",
         "--threads", "1", "--seed", "7", "--quiet"]


def fail(msg):
    print("KILL TEST FAILED: " + msg, file=sys.stderr)
    sys.exit(1)


def write_corpus(root):
    rng = random.Random(3)
    words = {
        "prose": "the garden river quiet morning letter walked under bright old house she said".split(),
        "code": "int f ( x ) { return x * 3 + 1 ; } for while if else char".split(),
        "numbers": [str(i) for i in range(40)],
    }
    for name, vocab in words.items():
        os.makedirs(os.path.join(root, name))
        for d in range(4):
            with open(os.path.join(root, name, "doc%d.txt" % d), "w") as f:
                f.write(" ".join(rng.choice(vocab) for _ in range(1500)) + "\n")


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        if e["dtype"] != "F32":
            fail("%s: tensor %s is %s, expected F32" % (path, name, e["dtype"]))
        b, end = e["data_offsets"]
        out[name] = np.frombuffer(data[base + b:base + end], dtype="<f4").reshape(e["shape"])
    return header.get("__metadata__", {}), out


def complete_checkpoints(run_dir):
    return sorted(glob.glob(os.path.join(run_dir, "step_*.ckpt")))


def ckpt_step(path):
    return int(re.search(r"step_(\d+)\.ckpt$", path).group(1))


def max_logged_step(db, run_id):
    try:
        con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=10)
        row = con.execute("SELECT max(step) FROM metrics WHERE run_id=? AND split='train'",
                          (run_id,)).fetchone()
        con.close()
        return row[0] or 0
    except sqlite3.Error:
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cli")
    ap.add_argument("--long", action="store_true")
    ap.add_argument("--kills", type=int)
    ap.add_argument("--tmp-kills", type=int)
    ap.add_argument("--steps", type=int)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--keep-dir", action="store_true")
    a = ap.parse_args()
    long_run = a.long or os.environ.get("SOUPLAB_KILL_TEST_LONG") == "1"
    kills = a.kills or (30 if long_run else 10)
    tmp_kills = a.tmp_kills if a.tmp_kills is not None else (6 if long_run else 3)
    steps = a.steps or (300 if long_run else 150)
    rng = random.Random(a.seed)
    print("kill test: %d kills (%d during checkpoint writes), %d steps, seed %d"
          % (kills, tmp_kills, steps, a.seed))

    work = tempfile.mkdtemp(prefix="souplab-kill-")
    env = dict(os.environ, SOUPLAB_DATA_DIR=work + "/data", SOUPLAB_CACHE_DIR=work + "/cache",
               OMP_NUM_THREADS="1")
    corpus = work + "/corpus"
    write_corpus(corpus)
    common = MODEL + ["--corpus", corpus, "--steps", str(steps)]

    # The uninterrupted reference; it also tells how long start-up and a step take.
    t0 = time.monotonic()
    ref = subprocess.run([a.cli, "train", *common, "--out", work + "/ref", "--run-log",
                          work + "/ref.sqlite"], env=env, capture_output=True, text=True)
    ref_s = time.monotonic() - t0
    if ref.returncode != 0:
        fail("reference run failed:\n" + ref.stdout + ref.stderr)
    ref_final = os.path.join(work, "ref", "step_%08d.ckpt" % steps)
    if not os.path.exists(ref_final):
        fail("reference run left no " + ref_final)
    # Start-up: time to reach step 1, measured on a run stopped by its first checkpoint file.
    t0 = time.monotonic()
    p = subprocess.Popen([a.cli, "train", *common, "--out", work + "/probe", "--run-log",
                          work + "/probe.sqlite"], env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    while p.poll() is None and not complete_checkpoints(work + "/probe"):
        time.sleep(0.002)
    first_ckpt_s = time.monotonic() - t0
    p.kill()
    p.wait()
    step_s = max(1e-4, (ref_s - first_ckpt_s) / max(1, steps - INTERVAL))
    startup_s = max(0.0, first_ckpt_s - INTERVAL * step_s)
    print("reference: %.1f s; start-up ~%.0f ms, ~%.1f ms per step"
          % (ref_s, startup_s * 1000, step_s * 1000))

    run_dir, db = work + "/run", work + "/runs.sqlite"
    landed = 0
    tmp_landed = 0
    rounds = 0
    worst_loss = 0
    resumes = []  # (checkpoint step resumed from, steps logged before the kill)
    while landed < kills:
        rounds += 1
        if rounds > kills * 8:
            fail("the run finished too early to land %d kills (landed %d); raise --steps" % (kills, landed))
        ckpts = complete_checkpoints(run_dir)
        if ckpts:
            cmd = [a.cli, "resume", ckpts[-1], "--run-log", db, "--quiet"]
        else:
            cmd = [a.cli, "train", *common, "--out", run_dir, "--run-log", db]
        resumed_from = ckpt_step(ckpts[-1]) if ckpts else 0
        p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        tmp_missing = tmp_kills - tmp_landed
        hunting = tmp_missing > 0 and (landed >= kills - tmp_missing or rng.random() < 0.3)
        killed_in_tmp = False
        if hunting:
            deadline = time.monotonic() + 60
            while p.poll() is None and time.monotonic() < deadline:
                if glob.glob(os.path.join(run_dir, ".step_*.ckpt.tmp-*")):
                    # A random few hundred microseconds into the write.
                    time.sleep(rng.randrange(0, 4) * 0.0002)
                    p.send_signal(signal.SIGKILL)
                    killed_in_tmp = True
                    break
                time.sleep(0.0003)
        else:
            room = max(2, min(3 * INTERVAL, steps - resumed_from))  # steps this round can take
            base = rng.choice([0.0, startup_s, startup_s + rng.randrange(1, room) * step_s])
            time.sleep(base + rng.randrange(0, 301) / 1000.0)
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
        out, _ = p.communicate()
        if p.returncode == -signal.SIGKILL:
            landed += 1
            tmp_landed += killed_in_tmp
        elif p.returncode == 0:
            if landed < kills:
                # Finished before the kill: start over in a fresh run folder and log.
                print("  round %d: the run finished before the kill; starting over" % rounds)
                shutil.rmtree(run_dir, ignore_errors=True)
                continue
        else:
            fail("round %d: %s exited with %d:\n%s" % (rounds, " ".join(cmd), p.returncode, out))
        # Progress lost by this kill: steps logged minus the checkpoint the next round resumes.
        ckpts = complete_checkpoints(run_dir)
        if ckpts:
            meta, _ = read_safetensors(ckpts[-1])
            logged = max_logged_step(db, int(meta["run_id"]))
            if logged is None:
                fail("round %d: the run log cannot be read after the kill" % rounds)
            lost = logged - ckpt_step(ckpts[-1])
            worst_loss = max(worst_loss, lost)
            if lost > INTERVAL:
                fail("round %d: steps up to %d were logged but the latest checkpoint is step %d "
                     "(lost more than one interval of %d)" % (rounds, logged, ckpt_step(ckpts[-1]), INTERVAL))
            resumes.append((resumed_from, logged))
            print("  round %2d: %s from step %3d, killed %s; logged up to step %3d, latest checkpoint %3d"
                  % (rounds, cmd[1], resumed_from,
                     "during a checkpoint write" if killed_in_tmp else "at a random moment",
                     logged, ckpt_step(ckpts[-1])))
    print("landed %d kills in %d rounds, %d during checkpoint writes; worst loss %d steps"
          % (landed, rounds, tmp_landed, worst_loss))
    if tmp_landed < tmp_kills:
        fail("only %d kills landed during checkpoint writes, wanted %d" % (tmp_landed, tmp_kills))

    # Resume to the end, without kills.
    for _ in range(3):
        ckpts = complete_checkpoints(run_dir)
        if ckpts and ckpt_step(ckpts[-1]) == steps:
            break
        cmd = ([a.cli, "resume", ckpts[-1], "--run-log", db, "--quiet"] if ckpts else
               [a.cli, "train", *common, "--out", run_dir, "--run-log", db])
        r = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if r.returncode != 0:
            fail("final resume failed:\n" + r.stdout + r.stderr)
    final = os.path.join(run_dir, "step_%08d.ckpt" % steps)
    if not os.path.exists(final):
        fail("no final checkpoint " + final)
    leftovers = glob.glob(os.path.join(run_dir, ".*tmp-*"))
    print("temporary files left by kills (harmless, never read): %d" % len(leftovers))

    # 1. The latest checkpoint loads.
    r = subprocess.run([a.cli, "eval", final, "--weights", "uniform", "--device", "cpu",
                        "--windows", "2", "--run-log", db, "--json"], env=env, capture_output=True, text=True)
    if r.returncode != 0:
        fail("the final checkpoint does not load:\n" + r.stdout + r.stderr)
    if json.loads(r.stdout)["step"] != steps:
        fail("the final checkpoint is not at step %d" % steps)

    # 2. Every resume event continued from a complete checkpoint of the run.
    meta, params = read_safetensors(final)
    run_id = int(meta["run_id"])
    con = sqlite3.connect(db)
    ok = con.execute("PRAGMA integrity_check").fetchall()
    if ok != [("ok",)]:
        fail("PRAGMA integrity_check: %s" % ok)
    events = con.execute("SELECT detail_json FROM events WHERE run_id=? AND kind='resume'",
                         (run_id,)).fetchall()
    for (detail,) in events:
        d = json.loads(detail)
        if d["step"] % INTERVAL != 0 or not d["checkpoint"].endswith("step_%08d.ckpt" % d["step"]):
            fail("a resume started from %s at step %s" % (d["checkpoint"], d["step"]))

    # 3. Metric rows: exactly one per completed step and name (train), per eval step, domain and
    #    name (val).
    rows = con.execute("SELECT step, split, domain, name, count(*) FROM metrics WHERE run_id=? "
                       "GROUP BY step, split, domain, name", (run_id,)).fetchall()
    counts = {(s, sp, d, n): c for s, sp, d, n, c in rows}
    dups = [k for k, c in counts.items() if c != 1]
    if dups:
        fail("duplicate metric rows: %s" % dups[:5])
    for s in range(1, steps + 1):
        for n in ("loss", "lr", "tokens_per_sec"):
            if (s, "train", "", n) not in counts:
                fail("missing train metric %s at step %d" % (n, s))
    domains = sorted(os.listdir(corpus))  # the corpus' domain folders, in the engine's order
    for s in list(range(0, steps + 1, 10)) + [steps]:
        for d in domains:
            for n in ("loss_uniform", "loss_specialist"):
                if (s, "val", d, n) not in counts:
                    fail("missing val metric %s/%s at step %d" % (d, n, s))
    extra = [k for k in counts if k[0] > steps]
    if extra:
        fail("metric rows beyond the last step: %s" % extra[:5])
    status = con.execute("SELECT status FROM runs WHERE id=?", (run_id,)).fetchone()[0]
    if status != "finished":
        fail("run %d ends with status %s" % (run_id, status))
    con.close()

    # 4. Bit-identical to the uninterrupted run.
    _, ref_params = read_safetensors(ref_final)
    if sorted(ref_params) != sorted(params):
        fail("tensor names differ: %s vs %s" % (sorted(ref_params), sorted(params)))
    for name in sorted(params):
        if not np.array_equal(ref_params[name], params[name]):
            diff = np.max(np.abs(ref_params[name] - params[name]))
            fail("tensor %s differs from the uninterrupted run (max |diff| %g)" % (name, diff))
    print("OK: %d kills survived (%d during checkpoint writes, %d resumes); %d tensors equal the "
          "uninterrupted run's; integrity ok; %d metric rows, none missing or duplicated"
          % (landed, tmp_landed, len(resumes), len(params), len(counts)))
    if not a.keep_dir:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
