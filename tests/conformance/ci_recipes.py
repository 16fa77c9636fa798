#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The CI recipes of docs/ci.md, run here: ci_recipes.py SOURCE_DIR BUILD_DIR SANITIZE

contrib/Dockerfile, contrib/ci/github-actions.yml and contrib/ci/gitlab-ci.yml
are read, not trusted:

- every command they run is a step of contrib/ci/ci.sh (deps, build,
  scenarios) or contrib/junit-merge.py, the same in all three: a shard job of
  K of N runs `ci.sh scenarios DIR --shard K/N --junit junit-K.xml`, with N the
  number of jobs the recipe starts, and the report job merges exactly the N
  files the shard jobs write;
- docs/ci.md shows the two YAML files as they are;
- then the steps run here: `deps --check` (nothing is installed by a test),
  `configure` into a new directory (with CI set, outside a sanitizer build, the
  whole `build` as the Dockerfile runs it), the GitLab jobs' own script lines
  through sh with CI_NODE_INDEX/CI_NODE_TOTAL set, on this build (the shards
  of the library, then the merge), and the merged report is checked: valid by
  tests/conformance/junit.xsd (xmllint), and naming each scenario
  `fakesys test --list` prints exactly once.

Exit status 0, 1 with the reason, 77 when this machine lacks python3-yaml,
xmllint or the build packages (ctest: skipped).
"""
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET


def fail(msg):
    print(f"FAIL: {msg}")
    sys.exit(1)


def skip(msg):
    print(f"SKIP: {msg}")
    sys.exit(77)


try:
    import yaml
except ImportError:
    skip("python3-yaml is not installed for this python3 (apt-get install python3-yaml)")

src, build, sanitize = sys.argv[1], sys.argv[2], sys.argv[3] not in ("0", "", "OFF", "FALSE")
CI_SH = "contrib/ci/ci.sh"
MERGE = "contrib/junit-merge.py"


def read(rel):
    with open(os.path.join(src, rel), encoding="utf-8") as f:
        return f.read()


# ---- the recipes' commands ----

def dockerfile():
    """(RUN argv lists, ENTRYPOINT argv) of contrib/Dockerfile."""
    runs, entry, base = [], None, None
    for line in read("contrib/Dockerfile").splitlines():
        word, _, rest = line.strip().partition(" ")
        if word == "FROM":
            base = rest.strip()
        elif word == "RUN":
            runs.append(shlex.split(rest))
        elif word == "ENTRYPOINT":
            entry = json.loads(rest)
    if base != "debian:12":
        fail(f"contrib/Dockerfile: FROM {base}, not debian:12")
    if not runs or entry is None:
        fail("contrib/Dockerfile: no RUN or no ENTRYPOINT")
    return runs, entry


def shard_job(doc, what):
    """The job of @doc that runs shards, and the one that merges."""
    jobs = doc.get("jobs", doc)
    shard = [j for j in jobs.values() if isinstance(j, dict) and ("parallel" in j or "matrix" in j.get("strategy", {}))]
    merge = [j for j in jobs.values() if isinstance(j, dict) and j not in shard and
             any(MERGE in c for c in commands(j))]
    if len(shard) != 1 or len(merge) != 1:
        fail(f"{what}: expected one shard job and one merge job, found {len(shard)} and {len(merge)}")
    return shard[0], merge[0]


def commands(job):
    if "script" in job:
        return list(job["script"])
    return [s["run"] for s in job.get("steps", []) if "run" in s]


def expand_github(cmd, k):
    cmd = cmd.replace("${{ matrix.shard }}", str(k))
    if "${{" in cmd:
        fail(f"github-actions.yml: an expression this test does not know: {cmd}")
    return shlex.split(cmd)


def expand_gitlab(cmd, k, n):
    env = {"CI_NODE_INDEX": str(k), "CI_NODE_TOTAL": str(n)}
    cmd = re.sub(r"\$\{?(\w+)\}?", lambda m: env.get(m.group(1), m.group(0)), cmd)
    if "$" in cmd:
        fail(f"gitlab-ci.yml: a variable this test does not know: {cmd}")
    return shlex.split(cmd)


def check_steps(what, argvs, k, n):
    """The shard job's commands: deps, build DIR, scenarios DIR --shard k/n --junit FILE.
    Returns (DIR, FILE)."""
    steps = [a for a in argvs if a and a[0] == CI_SH]
    if len(steps) != len(argvs):
        fail(f"{what}: a command that is not a step of {CI_SH}: {argvs}")
    if [a[1] for a in steps] != ["deps", "build", "scenarios"]:
        fail(f"{what}: the steps are {[a[1] for a in steps]}, not deps, build, scenarios")
    if steps[0] != [CI_SH, "deps"] or len(steps[1]) != 3:
        fail(f"{what}: {steps[0]}, {steps[1]}")
    bdir = steps[1][2]
    sc = steps[2]
    if sc[:3] != [CI_SH, "scenarios", bdir]:
        fail(f"{what}: scenarios does not run on the build it made: {sc}")
    opts = sc[3:]
    if "--shard" not in opts or "--junit" not in opts:
        fail(f"{what}: scenarios without --shard or --junit: {sc}")
    shard = opts[opts.index("--shard") + 1]
    if shard != f"{k}/{n}":
        fail(f"{what}: job {k} of {n} runs --shard {shard}")
    return bdir, opts[opts.index("--junit") + 1]


runs, entry = dockerfile()
gh = yaml.safe_load(read("contrib/ci/github-actions.yml"))
gl = yaml.safe_load(read("contrib/ci/gitlab-ci.yml"))
gh_shard, gh_merge = shard_job(gh, "github-actions.yml")
gl_shard, gl_merge = shard_job(gl, "gitlab-ci.yml")
n_gh = len(gh_shard["strategy"]["matrix"]["shard"])
n_gl = int(gl_shard["parallel"])
if gh_shard["strategy"]["matrix"]["shard"] != list(range(1, n_gh + 1)):
    fail("github-actions.yml: matrix.shard is not 1..N")
if gh_shard.get("strategy", {}).get("fail-fast", True):
    fail("github-actions.yml: fail-fast would cancel the other shards at the first failure")
if n_gh != n_gl:
    fail(f"the GitHub matrix has {n_gh} shards, GitLab {n_gl}")
n = n_gl
junits = {"github": [], "gitlab": []}
for k in range(1, n + 1):
    a = [expand_github(c, k) for c in commands(gh_shard)]
    b = [expand_gitlab(c, k, n) for c in commands(gl_shard)]
    if a != b:
        fail(f"shard {k}: GitHub runs {a}, GitLab {b}")
    junits["github"].append(check_steps("github-actions.yml", a, k, n)[1])
    junits["gitlab"].append(check_steps("gitlab-ci.yml", b, k, n)[1])
    # the container: its RUN steps, then its ENTRYPOINT with the shard's options
    d_steps = runs + [entry + b[2][3:]]
    d_dir, _ = check_steps("contrib/Dockerfile", d_steps, k, n)
if len(set(junits["gitlab"])) != n:
    fail(f"the shards write {junits['gitlab']}: not one file each")
for what, job in (("github-actions.yml", gh_merge), ("gitlab-ci.yml", gl_merge)):
    merges = [shlex.split(c) for c in commands(job)]
    if len(merges) != 1 or merges[0][0] != MERGE or merges[0][2:] != junits["gitlab"]:
        fail(f"{what}: the merge job runs {merges}, not {MERGE} OUT {' '.join(junits['gitlab'])}")
merged_name = merges[0][1]
if gl_merge.get("when") != "always" or gh_merge.get("if") != "always()":
    fail("the merge job must run also when a shard failed (when: always / if: always())")

# the documentation shows the files as they are
doc = read("docs/ci.md")
for rel in ("contrib/ci/github-actions.yml", "contrib/ci/gitlab-ci.yml"):
    if read(rel).strip() not in doc:
        fail(f"docs/ci.md does not show {rel} as it is")

# ---- the steps, here ----
work = tempfile.mkdtemp(prefix="vfiokit-ci.")


def run(argv, env=None, **kw):
    return subprocess.run(argv, cwd=work, capture_output=True, text=True, env=env, **kw)


try:
    os.symlink(os.path.join(src, "contrib"), os.path.join(work, "contrib"))
    r = run([CI_SH, "deps", "--check"])
    if r.returncode != 0:
        skip(f"ci.sh deps --check: {r.stderr.strip()} (the build packages are not all installed)")
    fresh = os.path.join(work, "fresh")
    full = os.environ.get("CI") and not sanitize
    r = run([CI_SH, "build" if full else "configure", fresh])
    if r.returncode != 0:
        fail(f"ci.sh {'build' if full else 'configure'}: {r.returncode}\n{r.stdout}{r.stderr}")
    cache = open(os.path.join(fresh, "CMakeCache.txt"), encoding="utf-8").read()
    if "VFIOKIT_BUILD_TESTS:BOOL=OFF" not in cache or "VFIOKIT_WERROR:BOOL=ON" not in cache:
        fail("ci.sh configure: not the recipe's options")
    if full and not os.access(os.path.join(fresh, "fakesys", "fakesys"), os.X_OK):
        fail("ci.sh build made no fakesys")
    print(f"ci.sh {'build' if full else 'configure (the build itself runs with CI set)'}: ok")
    # a configured directory keeps its options
    r = run([CI_SH, "configure", build])
    if r.returncode != 0 or "configured already" not in r.stderr:
        fail(f"ci.sh configure on a configured build: {r.returncode} {r.stderr}")
    # the GitLab jobs' script lines, as its runner runs them (sh, variables
    # set), the recipe's build directory being this build
    bdir = check_steps("gitlab-ci.yml", [expand_gitlab(c, 1, n) for c in commands(gl_shard)], 1, n)[0]
    os.symlink(build, os.path.join(work, bdir))
    for k in range(1, n + 1):
        env = dict(os.environ, CI_NODE_INDEX=str(k), CI_NODE_TOTAL=str(n))
        line = commands(gl_shard)[2]
        r = run(["sh", "-ec", line], env=env, timeout=600)
        # 1 is a failing scenario (of another change in progress): what ran is
        # what this test is about; 2 would be a usage error
        if r.returncode not in (0, 1):
            fail(f"shard {k}: {line}: {r.returncode}\n{r.stdout[-3000:]}{r.stderr[-3000:]}")
        print(r.stdout.strip().splitlines()[-1])
    r = run(["sh", "-ec", commands(gl_merge)[0]])
    if r.returncode != 0:
        fail(f"merge: {r.returncode} {r.stderr}")
    xsd = os.path.join(src, "tests", "conformance", "junit.xsd")
    for f in junits["gitlab"] + [merged_name]:
        try:
            r = run(["xmllint", "--noout", "--schema", xsd, f])
        except FileNotFoundError:
            skip("xmllint is not installed (apt-get install libxml2-utils)")
        if r.returncode != 0:
            fail(f"{f} is not valid by junit.xsd: {r.stderr}")
    names = [c.get("name") for c in ET.parse(os.path.join(work, merged_name)).getroot().iter("testcase")]
    r = run([os.path.join(build, "fakesys", "fakesys"), "test", "--list", os.path.join(src, "scenarios")])
    listed = [os.path.basename(p)[:-len(".yaml")] for p in r.stdout.splitlines()]
    if r.returncode != 0 or not listed:
        fail(f"fakesys test --list: {r.returncode} {r.stderr}")
    if sorted(names) != sorted(listed):
        extra = sorted(set(names) - set(listed))
        missing = sorted(set(listed) - set(names))
        fail(f"the merged report is not the list: missing {missing}, extra {extra}, "
             f"{len(names)} testcases for {len(listed)} scenarios")
    print(f"{n} shards ran the {len(listed)} scenarios of --list once each; {merged_name} is valid")
finally:
    subprocess.run(["rm", "-rf", "--", work])
