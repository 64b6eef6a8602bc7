"""Every overlay, rendered by kustomize and checked offline: schemas, the restricted
pod security settings on every pod, probes, network paths, autoscaling bounds,
secrets, and the metric names the dashboard and the alerts use."""

import base64
import re
import subprocess
import tomllib

import kubernetes_validate
import promql_parser
import pytest
from cloudcoil.models.keda.v1alpha1 import ScaledObject
from cloudcoil.models.prometheus_operator.v1 import PrometheusRule, ServiceMonitor

from conftest import K8S, REPO, by_kind, one, pod_specs, render

# The oldest release the manifests need (the preStop `sleep` action is on by default
# from 1.30) and the newest the schema package ships.
KUBERNETES_VERSIONS = ["1.30.0", kubernetes_validate.latest_version()]
# Custom resources: validated by models generated from their CRDs (see requirements.txt).
CUSTOM_RESOURCES = {
    ("keda.sh/v1alpha1", "ScaledObject"): ScaledObject,
    ("monitoring.coreos.com/v1", "ServiceMonitor"): ServiceMonitor,
    ("monitoring.coreos.com/v1", "PrometheusRule"): PrometheusRule,
}
# The image's user (scripts/build-image).
IMAGE_UID = 10001
# The only paths a pod may write: the image's working directory and /tmp.
WRITABLE = {"/tmp", "/var/lib/fds"}
REQUIRED_SECRET_KEYS = {
    "FDS__STORE__URL",
    "FDS__VAULT__ACTIVE_KEY",
    "FDS__VAULT__KEYS",
    "FDS__VAULT__INDEX_KEY",
    "FDS__API__KEYS",
}


def hashed(name, base):
    """Whether `name` is `base` or `base` with kustomize's content-hash suffix."""
    return re.fullmatch(re.escape(base) + r"(-[a-z0-9]{10})?", name) is not None


def differences(before, after, path=""):
    """Where `after` (a model's dump) lost or changed something of `before`."""
    if isinstance(before, dict) and isinstance(after, dict):
        for key in before:
            if key not in after:
                yield f"{path}/{key}: not in the schema"
            else:
                yield from differences(before[key], after[key], f"{path}/{key}")
    elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for i, (b, a) in enumerate(zip(before, after)):
            yield from differences(b, a, f"{path}/{i}")
    elif before != after or type(before) is not type(after):
        yield f"{path}: {before!r} read as {after!r}"


def test_every_object_is_valid_against_its_schema(overlay):
    name, objects = overlay
    problems = []
    for obj in objects:
        what = f"{obj['kind']}/{obj['metadata']['name']}"
        model = CUSTOM_RESOURCES.get((obj["apiVersion"], obj["kind"]))
        if model is not None:
            try:
                dumped = model.model_validate(obj).model_dump(by_alias=True, exclude_none=True, mode="json")
                problems += [f"{what}{d}" for d in differences(obj, dumped)]
            except Exception as error:  # pydantic's ValidationError lists every problem
                problems.append(f"{what}: {error}")
            continue
        for version in KUBERNETES_VERSIONS:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                problems.append(f"{what} (k8s {version}): {error.message} at {list(error.path)}")
            except kubernetes_validate.SchemaNotFoundError:
                problems.append(f"{what}: no schema for {obj['apiVersion']} in k8s {version}")
    assert not problems, f"{name}:\n" + "\n".join(problems)


def test_every_pod_runs_under_the_restricted_pod_security_standard(overlay):
    name, objects = overlay
    problems = []
    specs = list(pod_specs(objects))
    assert len(specs) >= 6, "api, worker, migrate, retention and two retrain workloads"
    for workload, spec, _ in specs:
        def bad(why, workload=workload):
            problems.append(f"{workload}: {why}")

        pod = spec.get("securityContext", {})
        if pod.get("runAsNonRoot") is not True:
            bad("pod securityContext.runAsNonRoot is not true")
        if pod.get("runAsUser") != IMAGE_UID or pod.get("runAsGroup") != IMAGE_UID:
            bad(f"pod runs as {pod.get('runAsUser')}:{pod.get('runAsGroup')}, not the image's {IMAGE_UID}")
        if pod.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            bad("pod seccompProfile is not RuntimeDefault")
        if spec.get("automountServiceAccountToken") is not False:
            bad("pod mounts a service account token")
        if spec.get("serviceAccountName") != "fds":
            bad("pod does not run as the fds ServiceAccount")
        for host in ("hostNetwork", "hostPID", "hostIPC"):
            if spec.get(host):
                bad(f"{host} is set")
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for v in volumes.values():
            if not {"configMap", "secret", "emptyDir", "projected"} & set(v):
                bad(f"volume {v['name']} is neither a ConfigMap, a Secret nor an emptyDir")
        containers = spec.get("containers", []) + spec.get("initContainers", [])
        for c in containers:
            where = f"container {c['name']}"
            sc = c.get("securityContext", {})
            if sc.get("allowPrivilegeEscalation") is not False:
                bad(f"{where}: allowPrivilegeEscalation is not false")
            if sc.get("readOnlyRootFilesystem") is not True:
                bad(f"{where}: readOnlyRootFilesystem is not true")
            if sc.get("capabilities", {}).get("drop") != ["ALL"] or sc.get("capabilities", {}).get("add"):
                bad(f"{where}: capabilities do not drop ALL (or add some)")
            if sc.get("privileged"):
                bad(f"{where}: privileged")
            if sc.get("runAsUser", IMAGE_UID) == 0 or sc.get("runAsNonRoot") is False:
                bad(f"{where}: may run as root")
            for kind in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    if resource not in c.get("resources", {}).get(kind, {}):
                        bad(f"{where}: no {resource} {kind[:-1]}")
            for mount in c.get("volumeMounts", []):
                volume = volumes.get(mount["name"])
                if volume is None:
                    bad(f"{where}: mounts {mount['name']}, which the pod does not define")
                elif "emptyDir" in volume and mount["mountPath"] not in WRITABLE:
                    bad(f"{where}: writable mount at {mount['mountPath']}, not one of {sorted(WRITABLE)}")
                elif "emptyDir" not in volume and not mount.get("readOnly"):
                    bad(f"{where}: {mount['mountPath']} is not mounted read-only")
            if not {m["mountPath"] for m in c.get("volumeMounts", [])} >= {"/tmp"}:
                bad(f"{where}: no writable /tmp (the root filesystem is read-only)")
    assert not problems, f"{name}:\n" + "\n".join(problems)


def test_the_namespace_enforces_the_restricted_standard(overlay):
    name, objects = overlay
    namespaces = by_kind(objects, "Namespace")
    assert len(namespaces) == 1
    labels = namespaces[0]["metadata"].get("labels", {})
    assert labels.get("pod-security.kubernetes.io/enforce") == "restricted"
    namespace = namespaces[0]["metadata"]["name"]
    assert all(o["metadata"].get("namespace") == namespace for o in objects if o["kind"] != "Namespace")


def test_the_service_account_mounts_no_token(overlay):
    _, objects = overlay
    (account,) = by_kind(objects, "ServiceAccount")
    assert account["automountServiceAccountToken"] is False
    assert not by_kind(objects, "RoleBinding") and not by_kind(objects, "ClusterRoleBinding")


def served_routes():
    source = (REPO / "crates" / "fds-web" / "src" / "lib.rs").read_text()
    return set(re.findall(r'\.route\(\s*"([^"]+)"', source))


def test_probes_ask_the_endpoints_the_server_serves(overlay):
    _, objects = overlay
    routes = served_routes()
    assert {"/healthz", "/readyz", "/metrics"} <= routes
    for component in ("fds-api", "fds-worker"):
        deployment = one(objects, "Deployment", component)
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        ports = {p["name"] for p in container["ports"]}
        expected = {"readinessProbe": "/readyz", "livenessProbe": "/healthz", "startupProbe": "/healthz"}
        for probe, path in expected.items():
            get = container[probe]["httpGet"]
            assert get["path"] == path and get["path"] in routes, f"{component} {probe}"
            assert get["port"] in ports, f"{component} {probe} port"


def test_the_ingress_terminates_tls_and_routes_only_the_api_and_the_console(overlay):
    _, objects = overlay
    ingress = one(objects, "Ingress", "fds-api")
    tls_hosts = {h for t in ingress["spec"]["tls"] for h in t["hosts"]}
    api = one(objects, "Service", "fds-api")
    port_names = {p["name"] for p in api["spec"]["ports"]}
    paths = []
    for rule in ingress["spec"]["rules"]:
        assert rule["host"] in tls_hosts, f"{rule['host']} is served without TLS"
        for p in rule["http"]["paths"]:
            paths.append(p["path"])
            assert p["backend"]["service"]["name"] == "fds-api"
            assert p["backend"]["service"]["port"]["name"] in port_names
    for internal in ("/metrics", "/healthz", "/readyz"):
        assert not any(internal.startswith(p) for p in paths), f"{internal} is reachable through the ingress"
    assert {"/v1/", "/console", "/openapi.json"} <= set(paths)


def test_every_service_selects_pods_on_a_named_port(overlay):
    _, objects = overlay
    templates = [(o["spec"]["template"]["metadata"]["labels"], o) for o in by_kind(objects, "Deployment")]
    for service in by_kind(objects, "Service"):
        selector = service["spec"]["selector"]
        matches = [d for labels, d in templates if selector.items() <= labels.items()]
        assert len(matches) == 1, service["metadata"]["name"]
        (container,) = matches[0]["spec"]["template"]["spec"]["containers"]
        names = {p["name"] for p in container["ports"]}
        assert all(p["targetPort"] in names for p in service["spec"]["ports"])


def autoscalers_of(objects, deployment):
    hpas = [h for h in by_kind(objects, "HorizontalPodAutoscaler") if h["spec"]["scaleTargetRef"]["name"] == deployment]
    scaled = [s for s in by_kind(objects, "ScaledObject") if s["spec"]["scaleTargetRef"]["name"] == deployment]
    return hpas, scaled


def test_the_api_scales_on_cpu_and_keeps_replicas_through_disruptions(overlay):
    _, objects = overlay
    hpas, scaled = autoscalers_of(objects, "fds-api")
    assert len(hpas) == 1 and not scaled
    (metric,) = hpas[0]["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert "replicas" not in one(objects, "Deployment", "fds-api")["spec"], "the HPA owns the replica count"
    for component in ("api", "worker"):
        pdb = one(objects, "PodDisruptionBudget", f"fds-{component}")
        assert pdb["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] == component
    for component in ("fds-api", "fds-worker"):
        spread = one(objects, "Deployment", component)["spec"]["template"]["spec"]["topologySpreadConstraints"]
        keys = {c["topologyKey"] for c in spread}
        assert keys == {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}, component


def test_exactly_one_autoscaler_drives_the_workers_and_never_past_the_partitions(overlay):
    name, objects = overlay
    worker = one(objects, "Deployment", "fds-worker")
    assert "replicas" not in worker["spec"]
    partitions = int(worker["metadata"]["annotations"]["fds.local/kafka-partitions"])
    hpas, scaled = autoscalers_of(objects, "fds-worker")
    assert len(hpas) + len(scaled) == 1, f"{name}: {len(hpas)} HPAs and {len(scaled)} ScaledObjects"
    env = one(objects, "ConfigMap", "fds-env")["data"]
    config = tomllib.loads(one(objects, "ConfigMap", "fds-config")["data"]["fds.toml"])
    if scaled:
        spec = scaled[0]["spec"]
        assert spec["minReplicaCount"] <= spec["maxReplicaCount"] <= partitions
        (trigger,) = spec["triggers"]
        assert trigger["type"] == "kafka"
        meta = trigger["metadata"]
        assert meta["consumerGroup"] == config["kafka"]["group"]
        assert meta["bootstrapServers"] == env["FDS__KAFKA__BROKERS"], "KEDA must read the brokers the workers use"
        assert meta["allowIdleConsumers"] == "false"
    else:
        spec = hpas[0]["spec"]
        assert spec["minReplicas"] <= spec["maxReplicas"] <= partitions


def test_jobs_migrate_before_rollout_and_cronjobs_keep_retention_and_models(overlay):
    _, objects = overlay
    migrate = one(objects, "Job", "fds-migrate")
    assert migrate["spec"]["template"]["spec"]["containers"][0]["args"][0] == "migrate"
    commands = {}
    for cron in by_kind(objects, "CronJob"):
        assert cron["spec"]["concurrencyPolicy"] == "Forbid"
        args = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"]
        commands[cron["metadata"]["name"]] = args
    assert commands["fds-retention"][0] == "retention"
    rotate = one(objects, "CronJob", "fds-keys-rotate")
    assert commands["fds-keys-rotate"][:2] == ["keys", "rotate"] and rotate["spec"]["suspend"] is True
    kinds = {args[args.index("--kind") + 1] for n, args in commands.items() if args[:2] == ["model", "retrain"]}
    assert kinds == {"anomaly", "supervised"}
    config = tomllib.loads(one(objects, "ConfigMap", "fds-config")["data"]["fds.toml"])
    assert config["retention"]["enabled"] is False, "the CronJob runs retention, not every replica"


def test_secrets_are_examples_in_dev_and_absent_from_prod(overlay):
    name, objects = overlay
    secrets = by_kind(objects, "Secret")
    refs = set()
    for _, spec, _ in pod_specs(objects):
        for c in spec["containers"]:
            refs |= {e["secretRef"]["name"] for e in c.get("envFrom", []) if "secretRef" in e}
    assert len(refs) == 1 and hashed(refs.pop(), "fds-secrets")
    if name == "prod":
        assert not secrets, "the prod overlay must not ship secret values"
        return
    (secret,) = secrets
    data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert set(data) >= REQUIRED_SECRET_KEYS
    example = (K8S / "overlays" / name / "secrets.example.env").read_text()
    assert "EXAMPLE VALUES, NOT SECRET" in example
    assert "not-secret" in data["FDS__STORE__URL"] and "not-secret" in data["FDS__API__KEYS"]


def selects(selector, labels):
    if not selector:
        return True
    if not selector.get("matchLabels", {}).items() <= labels.items():
        return False
    for e in selector.get("matchExpressions", []):
        value = labels.get(e["key"])
        if e["operator"] == "In" and value not in e["values"]:
            return False
        if e["operator"] == "NotIn" and value in e["values"]:
            return False
        if e["operator"] == "Exists" and value is None:
            return False
        if e["operator"] == "DoesNotExist" and value is not None:
            return False
    return True


# What each workload may reach (TCP/UDP ports) and who may reach it.
ALLOWED_EGRESS = {
    "api": {53, 5432, 6379},
    "worker": {53, 5432, 6379, 9092},
    "migrate": {53, 5432},
    "retention": {53, 5432},
    "retrain": {53, 5432},
    "keys-rotate": {53, 5432},
}
ALLOWED_INGRESS = {"api": {("ingress-nginx", 8080), ("monitoring", 8080)}, "worker": {("monitoring", 8080)}}


def test_network_policies_allow_only_the_paths_fds_needs(overlay):
    name, objects = overlay
    policies = by_kind(objects, "NetworkPolicy")
    deny = [p for p in policies if p["spec"]["podSelector"] == {} and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}]
    assert deny and not deny[0]["spec"].get("ingress") and not deny[0]["spec"].get("egress"), "no default deny"
    problems = []
    seen = set()
    for workload, spec, obj in pod_specs(objects):
        labels = (obj["spec"]["template"] if "template" in obj["spec"] else obj["spec"]["jobTemplate"]["spec"]["template"])["metadata"]["labels"]
        component = labels["app.kubernetes.io/component"]
        seen.add(component)
        egress, ingress = set(), set()
        for policy in policies:
            if not selects(policy["spec"]["podSelector"], labels):
                continue
            for rule in policy["spec"].get("egress", []):
                if not rule.get("to") or not rule.get("ports"):
                    problems.append(f"{policy['metadata']['name']}: egress to anywhere or on any port")
                egress |= {p["port"] for p in rule.get("ports", [])}
            for rule in policy["spec"].get("ingress", []):
                if not rule.get("from") or not rule.get("ports"):
                    problems.append(f"{policy['metadata']['name']}: ingress from anywhere or on any port")
                for source in rule.get("from", []):
                    ns = source.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
                    ingress |= {(ns, p["port"]) for p in rule.get("ports", [])}
        if egress != ALLOWED_EGRESS[component]:
            problems.append(f"{workload}: egress ports {sorted(egress)}, expected {sorted(ALLOWED_EGRESS[component])}")
        if ingress != ALLOWED_INGRESS.get(component, set()):
            problems.append(f"{workload}: ingress {sorted(ingress)}")
    assert seen == set(ALLOWED_EGRESS)
    assert not problems, f"{name}:\n" + "\n".join(problems)


def test_every_container_runs_one_pinned_image_with_an_fds_command(overlay):
    _, objects = overlay
    images = set()
    for _, spec, _ in pod_specs(objects):
        for c in spec["containers"]:
            images.add(c["image"])
            assert c["args"][0] in {"serve", "worker", "migrate", "retention", "model", "keys"}
            assert c["args"][c["args"].index("--config") + 1] == "/etc/fds/fds.toml"
    (image,) = images
    assert re.fullmatch(r"[^:]+:[0-9][0-9A-Za-z.+-]*", image), f"{image} is not pinned to a version tag"


def test_the_seed_rule_pack_is_the_rule_library_and_fits_a_configmap(overlay):
    _, objects = overlay
    subprocess.run([str(REPO / "scripts" / "k8s-seed-rules"), "--check"], check=True)
    seed = one(objects, "ConfigMap", "fds-seed-rules")
    size = sum(len(v.encode()) for v in seed["data"].values())
    assert size < 900 * 1024, f"{size} bytes: the 1 MiB ConfigMap limit is near; split the pack"
    for workload, spec, _ in pod_specs(objects):
        mounts = {m["name"] for c in spec["containers"] for m in c.get("volumeMounts", [])}
        if "seed-rules" not in mounts:
            continue
        (volume,) = [v for v in spec["volumes"] if v["name"] == "seed-rules"]
        assert {i["key"] for i in volume["configMap"]["items"]} == set(seed["data"]), workload


def exported_metrics():
    """{name: type} of every metric the code renders (`header(out, name, type, help)`)."""
    metrics = {}
    for path in (REPO / "crates").rglob("*.rs"):
        text = path.read_text()
        for m in re.finditer(r'header\(\s*out,\s*"(fds_\w+)",\s*"(\w+)"', text):
            metrics[m.group(1)] = m.group(2)
        # Names rendered from a table of (name, help, counter) in a loop.
        for m in re.finditer(r'\(\s*"(fds_\w+_total)",\s*"', text):
            metrics.setdefault(m.group(1), "counter")
    return metrics


def metric_problems(expr, metrics):
    """Why `expr` (a dashboard or alert query) is not valid PromQL over exported metrics."""
    problems = []
    # Grafana's variables stand for a range and a label value.
    query = expr.replace("$__rate_interval", "5m").replace("$namespace", "fds")
    try:
        promql_parser.parse(query)
    except Exception as error:  # the parser raises plain exceptions with its message
        problems.append(f"not PromQL ({error}): {expr}")
    for token in set(re.findall(r"\bfds_\w+", expr)):
        base = re.sub(r"_(bucket|sum|count)$", "", token)
        if token in metrics:
            continue
        if base in metrics and metrics[base] == "histogram":
            continue
        problems.append(f"{token} is not exported by the code")
    return problems


def test_the_dashboard_and_the_alerts_use_metrics_the_code_exports(overlay):
    import json

    _, objects = overlay
    metrics = exported_metrics()
    assert {"fds_decisions_total", "fds_worker_consumer_lag", "fds_model_drift_psi"} <= set(metrics)
    dashboard = json.loads(one(objects, "ConfigMap", "fds-grafana-dashboard")["data"]["fds-dashboard.json"])
    problems = []
    exprs = []
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"]), "panel ids repeat"
    for panel in panels:
        for target in panel["targets"]:
            exprs.append(target["expr"])
            problems += [f"{panel['title']}: {p}" for p in metric_problems(target["expr"], metrics)]
    for family in ("fds_decisions_total", "fds_decision_latency_seconds_bucket", "fds_rule_hits_total",
                   "fds_worker_consumer_lag", "fds_model_drift_psi", "fds_http_request_duration_seconds_bucket"):
        assert any(family in e for e in exprs), f"the dashboard shows no {family}"
    rules = one(objects, "PrometheusRule", "fds")
    anchors = docs_anchors()
    for group in rules["spec"]["groups"]:
        for rule in group["rules"]:
            problems += [f"alert {rule['alert']}: {p}" for p in metric_problems(rule["expr"], metrics)]
            runbook = rule["annotations"]["runbook"]
            assert runbook.startswith("docs/operations.md#") and runbook.split("#")[1] in anchors, runbook
    assert not problems, "\n".join(problems)


def docs_anchors():
    text = (REPO / "docs" / "operations.md").read_text()
    anchors = set()
    for heading in re.findall(r"^#+ (.+)$", text, flags=re.M):
        anchor = re.sub(r"[^\w\- ]", "", heading.lower()).strip().replace(" ", "-")
        anchors.add(anchor)
    return anchors


def test_prod_shares_velocity_state_on_redis_and_dev_keeps_it_in_memory():
    """The redis-velocity component switches API and workers to the shared store; prod
    (several API replicas and workers) includes it, dev (one API replica) does not."""
    prod = render(K8S / "overlays" / "prod")
    dev = render(K8S / "overlays" / "dev")
    for name in ("fds-api", "fds-worker"):
        (container,) = one(prod, "Deployment", name)["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e for e in container.get("env", [])}
        assert env["FDS__FEATURES__STORE"]["value"] == "redis"
        assert env["FDS__FEATURES__REDIS_URL"]["valueFrom"]["secretKeyRef"] == {"name": "fds-redis", "key": "url"}
        (container,) = one(dev, "Deployment", name)["spec"]["template"]["spec"]["containers"]
        assert "FDS__FEATURES__STORE" not in {e["name"] for e in container.get("env", [])}


@pytest.mark.parametrize("setting", ["readOnlyRootFilesystem", "allowPrivilegeEscalation", "drop"])
def test_the_security_check_fails_when_a_setting_is_removed(overlay, setting):
    """The check above is not vacuous: it rejects a pod that loses one setting."""
    import copy

    name, objects = overlay
    broken = copy.deepcopy(objects)
    deployment = one(broken, "Deployment", "fds-api")
    sc = deployment["spec"]["template"]["spec"]["containers"][0]["securityContext"]
    if setting == "drop":
        sc["capabilities"] = {}
    else:
        del sc[setting]
    with pytest.raises(AssertionError, match=setting if setting != "drop" else "drop ALL"):
        test_every_pod_runs_under_the_restricted_pod_security_standard((name, broken))


def test_the_service_monitor_scrapes_the_api_and_the_workers_on_a_named_port(overlay):
    _, objects = overlay
    monitor = one(objects, "ServiceMonitor", "fds")
    selector = monitor["spec"]["selector"]
    scraped = [s for s in by_kind(objects, "Service") if selects(selector, s["metadata"].get("labels", {}))]
    assert sorted(s["metadata"]["name"] for s in scraped) == ["fds-api", "fds-worker-metrics"]
    for endpoint in monitor["spec"]["endpoints"]:
        assert endpoint["path"] == "/metrics" and endpoint["path"] in served_routes()
        assert all(endpoint["port"] in {p["name"] for p in s["spec"]["ports"]} for s in scraped)


def test_the_schema_check_fails_on_a_misspelt_field(overlay):
    """Strict validation is not vacuous: an unknown field fails, in a built-in kind and
    in a custom resource."""
    import copy

    name, objects = overlay
    broken = copy.deepcopy(objects)
    sc = one(broken, "Deployment", "fds-api")["spec"]["template"]["spec"]["containers"][0]["securityContext"]
    sc["readOnlyRootFilesytem"] = sc.pop("readOnlyRootFilesystem")
    with pytest.raises(AssertionError, match="readOnlyRootFilesytem"):
        test_every_object_is_valid_against_its_schema((name, broken))
    broken = copy.deepcopy(objects)
    one(broken, "ServiceMonitor", "fds")["spec"]["endpoints"][0]["intervall"] = "15s"
    with pytest.raises(AssertionError, match="intervall: not in the schema"):
        test_every_object_is_valid_against_its_schema((name, broken))


def test_the_network_check_fails_without_the_default_deny_or_with_an_open_port(overlay):
    import copy

    name, objects = overlay
    broken = [o for o in copy.deepcopy(objects) if o["metadata"]["name"] != "fds-default-deny"]
    with pytest.raises(AssertionError, match="no default deny"):
        test_network_policies_allow_only_the_paths_fds_needs((name, broken))
    broken = copy.deepcopy(objects)
    del one(broken, "NetworkPolicy", "fds-kafka-egress")["spec"]["egress"][0]["ports"]
    with pytest.raises(AssertionError, match="any port"):
        test_network_policies_allow_only_the_paths_fds_needs((name, broken))


def test_the_query_check_fails_on_a_broken_query_or_an_unknown_metric():
    metrics = exported_metrics()
    assert metric_problems("sum(rate(fds_decisions_total[$__rate_interval]))", metrics) == []
    assert metric_problems("sum(rate(fds_decisions_total[5m])", metrics)
    assert metric_problems("sum(rate(fds_decisions_totl[5m]))", metrics) == ["fds_decisions_totl is not exported by the code"]
    assert metric_problems("fds_decisions_total_bucket", metrics), "_bucket only of histograms"


PHASE = "fds.local/phase"


def test_the_pre_rollout_phase_holds_everything_the_migration_job_needs_and_no_server(overlay):
    """`kubectl apply -k OVERLAY -l fds.local/phase=pre-rollout` (docs/operations.md,
    "Upgrades") must give the migration Job its namespace, account, configuration,
    secret (where the overlay ships it) and network path to Postgres, and start nothing
    that serves."""
    name, objects = overlay
    phase = [o for o in objects if o["metadata"].get("labels", {}).get(PHASE) == "pre-rollout"]
    named = {(o["kind"], o["metadata"]["name"]) for o in phase}
    job = one(phase, "Job", "fds-migrate")
    spec = job["spec"]["template"]["spec"]
    labels = job["spec"]["template"]["metadata"]["labels"]
    assert ("Namespace", job["metadata"]["namespace"]) in named
    assert ("ServiceAccount", spec["serviceAccountName"]) in named
    for volume in spec["volumes"]:
        if "configMap" in volume:
            assert ("ConfigMap", volume["configMap"]["name"]) in named, volume["name"]
    for source in spec["containers"][0]["envFrom"]:
        if "configMapRef" in source:
            assert ("ConfigMap", source["configMapRef"]["name"]) in named
        elif by_kind(objects, "Secret"):
            assert ("Secret", source["secretRef"]["name"]) in named
    postgres = [p for p in by_kind(phase, "NetworkPolicy") if selects(p["spec"]["podSelector"], labels)
                and any(port["port"] == 5432 for rule in p["spec"].get("egress", []) for port in rule["ports"])]
    assert postgres, "the Job could not reach Postgres"
    assert not {"Deployment", "CronJob", "HorizontalPodAutoscaler", "ScaledObject"} & {o["kind"] for o in phase}
