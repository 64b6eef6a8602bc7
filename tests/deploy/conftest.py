"""Shared fixtures of the deployment checks: the repository, the rendered overlays and
the pod specs in them."""

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent.parent
K8S = REPO / "k8s"
OVERLAYS = sorted(p.name for p in (K8S / "overlays").iterdir() if p.is_dir())


def render(path, *flags):
    """The objects `kubectl kustomize PATH` renders (kustomize v5, offline)."""
    out = subprocess.run(["kubectl", "kustomize", *flags, str(path)], capture_output=True, text=True)
    assert out.returncode == 0, f"kubectl kustomize {path} failed:\n{out.stderr}"
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


@pytest.fixture(scope="session", params=OVERLAYS)
def overlay(request):
    """(name, objects) of each overlay."""
    return request.param, render(K8S / "overlays" / request.param)


def pod_specs(objects):
    """(object name, pod spec) of every workload."""
    for obj in objects:
        spec = obj.get("spec", {})
        kind = obj["kind"]
        if kind in ("Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"):
            yield obj["metadata"]["name"], spec["template"]["spec"], obj
        elif kind == "CronJob":
            yield obj["metadata"]["name"], spec["jobTemplate"]["spec"]["template"]["spec"], obj
        elif kind == "Pod":
            yield obj["metadata"]["name"], spec, obj


def by_kind(objects, kind):
    return [o for o in objects if o["kind"] == kind]


def one(objects, kind, name):
    """The object of `kind` named `name` (or `name` with kustomize's hash suffix)."""
    pattern = re.compile(re.escape(name) + r"(-[a-z0-9]{10})?")
    found = [o for o in objects if o["kind"] == kind and pattern.fullmatch(o["metadata"]["name"])]
    assert len(found) == 1, f"expected one {kind} {name}, found {[o['metadata']['name'] for o in found]}"
    return found[0]


def image_tree():
    tree = os.environ.get("FDS_IMAGE_TREE")
    assert tree, "FDS_IMAGE_TREE is not set: run these tests through tests/deploy/run"
    return Path(tree)
