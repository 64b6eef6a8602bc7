"""The container image without Docker: the Dockerfile's lint and its use of
scripts/build-image, the tree that script assembled (tests/deploy/run builds it with
the dev profile), the binary in it, and the dependency skeleton."""

import filecmp
import json
import os
import re
import stat
import subprocess

from conftest import REPO, image_tree

DOCKERFILE = REPO / "Dockerfile"
# What gcr.io/distroless/cc-debian12 provides: glibc and libgcc. A binary that links
# anything else (libssl, libz, libstdc++ ...) would fail to start there.
RUNTIME_LIBRARIES = {
    "linux-vdso.so.1", "libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0",
    "librt.so.1", "libgcc_s.so.1", "ld-linux-x86-64.so.2",
}
UID = 10001


def instructions():
    """(instruction, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            yield word.upper(), rest.strip()


def test_hadolint_passes_on_the_dockerfile():
    out = subprocess.run(["hadolint", "--no-color", str(DOCKERFILE)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_dockerfile_builds_with_the_script_ci_runs_and_runs_as_its_user():
    steps = list(instructions())
    runs = [args for word, args in steps if word == "RUN"]
    assert any("scripts/build-image skeleton" in r for r in runs), "the dependency layer's skeleton"
    assert any("cargo build --locked --release -p fds-cli" in r for r in runs), "the dependency layer"
    assert any("scripts/build-image --profile release" in r for r in runs), "the release tree"
    froms = [args for word, args in steps if word == "FROM"]
    assert froms[-1].startswith("gcr.io/distroless/cc-debian12:"), "the runtime must have glibc and libgcc"
    runtime = steps[max(i for i, (w, _) in enumerate(steps) if w == "FROM"):]
    users = [args for word, args in runtime if word == "USER"]
    assert users == [f"{UID}:{UID}"], "the runtime runs as the tree's fds user, by number"
    assert ("ENTRYPOINT", '["/usr/local/bin/fds"]') in runtime


def test_the_tree_holds_the_binary_the_rules_the_web_assets_the_config_and_the_user():
    tree = image_tree()
    binary = tree / "usr/local/bin/fds"
    assert binary.is_file() and binary.stat().st_mode & stat.S_IXOTH
    for ours, theirs in ((REPO / "rules", tree / "opt/fds/rules"), (REPO / "web", tree / "opt/fds/web")):
        mismatch = filecmp.dircmp(ours, theirs)
        def differences(d):
            yield from d.left_only + d.right_only + d.diff_files
            for sub in d.subdirs.values():
                yield from differences(sub)
        assert not list(differences(mismatch)), f"{theirs} differs from {ours}"
    assert (tree / "etc/fds/fds.toml").read_text() == (REPO / "image/fds.toml").read_text()
    passwd = (tree / "etc/passwd").read_text()
    assert f"fds:x:{UID}:{UID}:" in passwd
    assert f"fds:x:{UID}:" in (tree / "etc/group").read_text()
    assert (tree / "var/lib/fds").is_dir()
    assert stat.S_IMODE((tree / "tmp").stat().st_mode) == 0o1777


def test_the_binary_links_only_what_the_runtime_image_has():
    out = subprocess.run(["ldd", str(image_tree() / "usr/local/bin/fds")], capture_output=True, text=True, check=True)
    libraries = {line.split()[0].rsplit("/", 1)[-1] for line in out.stdout.splitlines() if line.strip()}
    assert libraries <= RUNTIME_LIBRARIES, f"not in the runtime image: {sorted(libraries - RUNTIME_LIBRARIES)}"


def test_the_trees_binary_runs_and_passes_the_trees_rule_fixtures():
    tree = image_tree()
    binary = str(tree / "usr/local/bin/fds")
    version = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("fds ")
    rules = subprocess.run([binary, "rules", "test", "--dir", str(tree / "opt/fds/rules")],
                           capture_output=True, text=True)
    assert rules.returncode == 0, rules.stdout[-2000:] + rules.stderr[-2000:]


def metadata(manifest_dir):
    out = subprocess.run(["cargo", "metadata", "--format-version", "1", "--no-deps", "--locked"],
                         cwd=manifest_dir, capture_output=True, text=True, check=True)
    data = json.loads(out.stdout)
    root = data["workspace_root"]
    return {
        (p["name"], t["name"], tuple(t["kind"]), t["src_path"].removeprefix(root))
        for p in data["packages"] for t in p["targets"]
    }


def test_the_skeleton_declares_the_workspace_with_stub_sources_only(tmp_path):
    skeleton = tmp_path / "skeleton"
    subprocess.run([str(REPO / "scripts" / "build-image"), "skeleton", str(skeleton)], check=True)
    assert metadata(skeleton) == metadata(REPO)
    assert (skeleton / "Cargo.lock").read_bytes() == (REPO / "Cargo.lock").read_bytes()
    sources = [p for p in skeleton.rglob("*.rs")]
    assert sources
    for source in sources:
        assert source.read_text() in ("", "fn main() {}\n"), f"{source} is not a stub"


def test_the_default_command_serves_with_the_images_config_from_its_working_directory(tmp_path):
    """`docker run` with only the secrets set: CMD's `serve --config /etc/fds/fds.toml`,
    the embedded SQLite store under the working directory (/var/lib/fds, here a temp
    directory), the image's rule library (its /opt/fds/rules path pointed at the tree's)."""
    from test_config import env_file, free_port, get, start, stop, wait_until

    tree = image_tree()
    cmd = [args for word, args in instructions() if word == "CMD"][-1]
    args = json.loads(cmd)
    assert args == ["serve", "--config", "/etc/fds/fds.toml"]
    args[2] = str(tree / "etc/fds/fds.toml")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FDS__")}
    secrets = env_file(REPO / "k8s/overlays/dev/secrets.example.env")
    env.update({k: v for k, v in secrets.items() if k != "FDS__STORE__URL"})
    env.update({"FDS__SERVER__LISTEN": f"127.0.0.1:{port}", "FDS__RULES__DIR": str(tree / "opt/fds/rules")})
    pod = {"env": env, "cwd": tmp_path}
    server = start(pod, args, {})
    try:
        wait_until(lambda: get(f"http://127.0.0.1:{port}/readyz")[0] == 200, 120, server)
    finally:
        stop(server, 30)
    assert list((tmp_path / "data").glob("fds.db*")), "the store lives under the working directory"
