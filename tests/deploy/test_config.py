"""The rendered manifests run by the image tree's binary: every container's command
line parses, and the migration Job, the retention and key-rotation CronJobs, the API
and the worker start on a real Postgres (and the test broker) with exactly the
rendered fds.toml, fds-env, fds-secrets and seed rule pack — only the addresses of
Postgres, Kafka and the listener replaced by this machine's."""

import base64
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
import uuid

import pytest

from conftest import K8S, by_kind, image_tree, one, pod_specs

ADMIN_URL = os.environ.get("FDS_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def binary():
    return str(image_tree() / "usr/local/bin/fds")


def containers(objects):
    for workload, spec, _ in pod_specs(objects):
        (container,) = spec["containers"]
        yield workload, spec, container


def test_every_workload_command_line_is_one_the_binary_accepts(overlay):
    """clap parses every argument before it honours --help: an unknown flag, a bad
    value or a misspelt subcommand fails here."""
    _, objects = overlay
    for workload, _, container in containers(objects):
        out = subprocess.run([binary(), *container["args"], "--help"], capture_output=True, text=True)
        assert out.returncode == 0, f"{workload}: fds {' '.join(container['args'])}\n{out.stderr}"


def env_file(path):
    pairs = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            pairs[key] = value
    return pairs


@pytest.fixture
def pod(overlay, tmp_path):
    """A directory laid out as the pods see it, and their environment: the rendered
    fds.toml, fds-env and fds-secrets (prod ships no Secret: the dev example's keys
    stand in, with the same names), the seed rule pack written where its volume puts
    it, a fresh database instead of the Secret's store URL."""
    name, objects = overlay
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "fds.toml").write_text(one(objects, "ConfigMap", "fds-config")["data"]["fds.toml"])
    env = dict(one(objects, "ConfigMap", "fds-env")["data"])
    secrets = by_kind(objects, "Secret")
    if secrets:
        env.update({k: base64.b64decode(v).decode() for k, v in secrets[0]["data"].items()})
    else:
        env.update(env_file(K8S / "overlays" / "dev" / "secrets.example.env"))
    seed = one(objects, "ConfigMap", "fds-seed-rules")["data"]
    api = one(objects, "Deployment", "fds-api")["spec"]["template"]["spec"]
    (volume,) = [v for v in api["volumes"] if v["name"] == "seed-rules"]
    rules = tmp_path / "rules"
    for item in volume["configMap"]["items"]:
        (rules / item["path"]).parent.mkdir(parents=True, exist_ok=True)
        (rules / item["path"]).write_text(seed[item["key"]])
    database = f"fds_deploy_{name}_{uuid.uuid4().hex[:8]}"
    subprocess.run(["psql", "-q", ADMIN_URL, "-c", f"CREATE DATABASE {database}"], check=True)
    env["FDS__STORE__URL"] = ADMIN_URL.rsplit("/", 1)[0] + "/" + database
    env["FDS__RULES__DIR"] = str(rules)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FDS__")}
    yield {"objects": objects, "config": str(etc / "fds.toml"), "env": {**clean, **env}, "cwd": tmp_path}
    subprocess.run(["psql", "-q", ADMIN_URL, "-c", f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"], check=False)


def args_of(objects, kind, name, config):
    obj = one(objects, kind, name)
    spec = obj["spec"]["jobTemplate"]["spec"] if kind == "CronJob" else obj["spec"]
    args = list(spec["template"]["spec"]["containers"][0]["args"])
    args[args.index("--config") + 1] = config
    return args


def run(pod, args):
    return subprocess.run([binary(), *args], env=pod["env"], cwd=pod["cwd"], capture_output=True, text=True,
                          timeout=300)


def test_the_migration_job_and_the_cronjobs_run_as_rendered(pod):
    objects, config = pod["objects"], pod["config"]
    migrate = run(pod, args_of(objects, "Job", "fds-migrate", config))
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    assert "schema version" in migrate.stdout
    for cron in ("fds-retention", "fds-keys-rotate"):
        out = run(pod, args_of(objects, "CronJob", cron, config))
        assert out.returncode == 0, f"{cron}: {out.stderr[-3000:]}"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, headers=None, body=None):
    request = urllib.request.Request(url, data=body, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError:
        return None, ""


def log_tail(process):
    return process.log.read_text()[-3000:]


def wait_until(predicate, timeout, process):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        assert process.poll() is None, f"exited with {process.returncode}:\n{log_tail(process)}"
        time.sleep(0.2)
    raise AssertionError(f"not ready within {timeout} s:\n{log_tail(process)}")


def start(pod, args, extra_env):
    """The command as the pod runs it, its log (stderr) in a file: a pipe nobody reads
    would stall it once full."""
    log = pod["cwd"] / f"{args[0]}.stderr"
    with open(log, "w") as out:
        process = subprocess.Popen([binary(), *args], env={**pod["env"], **extra_env}, cwd=pod["cwd"],
                                   stdout=subprocess.DEVNULL, stderr=out)
    process.log = log
    return process


def stop(process, grace):
    """SIGTERM, as the kubelet sends it; the process must exit 0 within the grace period."""
    process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError(f"still running {grace} s after SIGTERM:\n{log_tail(process)}")
    assert code == 0, log_tail(process)


def test_the_api_deployment_serves_scores_and_drains_as_rendered(pod):
    objects = pod["objects"]
    deployment = one(objects, "Deployment", "fds-api")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start(pod, args_of(objects, "Deployment", "fds-api", pod["config"]),
                   {"FDS__SERVER__LISTEN": f"127.0.0.1:{port}"})
    try:
        wait_until(lambda: get(base + "/readyz")[0] == 200, 120, server)
        assert get(base + "/healthz")[0] == 200
        key = pod["env"]["FDS__API__KEYS"].split(",")[0]
        event = {"event_id": "deploy-1", "occurred_at": "2026-11-21T02:14:00+09:00", "subscriber": "01012345678",
                 "type": "payment", "amount": 49000, "method": "carrier_billing", "merchant_id": "m-1",
                 "merchant_category": "gift_card"}
        status, body = get(base + "/v1/score", {"Authorization": f"Bearer {key}", "content-type": "application/json"},
                           json.dumps(event).encode())
        assert status == 200, body
        assert json.loads(body)["action"] in ("allow", "review", "block")
        status, metrics = get(base + "/metrics")
        assert status == 200 and "fds_decisions_total" in metrics
        status, page = get(base + "/console/login")
        assert status == 200, "the console is served beside the API"
    finally:
        stop(server, deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"])


def test_the_worker_deployment_starts_on_the_broker_and_stops_cleanly_as_rendered(pod):
    brokers = os.environ.get("FDS_TEST_KAFKA_BROKERS")
    assert brokers, "FDS_TEST_KAFKA_BROKERS is not set: scripts/test starts the test broker and sets it"
    objects = pod["objects"]
    deployment = one(objects, "Deployment", "fds-worker")
    port = free_port()
    worker = start(pod, args_of(objects, "Deployment", "fds-worker", pod["config"]),
                   {"FDS__SERVER__LISTEN": f"127.0.0.1:{port}", "FDS__KAFKA__BROKERS": brokers,
                    "FDS__KAFKA__GROUP": f"fds-deploy-{uuid.uuid4().hex[:8]}"})
    try:
        wait_until(lambda: get(f"http://127.0.0.1:{port}/readyz")[0] == 200, 120, worker)
        status, metrics = get(f"http://127.0.0.1:{port}/metrics")
        assert status == 200 and "fds_worker_consumer_lag" in metrics
    finally:
        stop(worker, deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"])
