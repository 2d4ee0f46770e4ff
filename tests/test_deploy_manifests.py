"""The deploy/ manifests hang together: probes, resources, names, and the Dockerfile's settings."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import yaml

from app.core.config import Settings

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "k8s"


def _load(name: str) -> dict[str, Any]:
    return yaml.safe_load((K8S / name).read_text())


def test_deployment_has_probes_resources_and_a_non_root_user() -> None:
    deployment = _load("deployment.yaml")
    pod = deployment["spec"]["template"]
    [container] = pod["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    resources = container["resources"]
    assert set(resources) == {"requests", "limits"}
    assert {"cpu", "memory"} <= set(resources["requests"]) and {"cpu", "memory"} <= set(
        resources["limits"]
    )
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert (
        deployment["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    )
    assert container["ports"][0]["containerPort"] == 8000


def test_service_and_hpa_point_at_the_deployment() -> None:
    deployment = _load("deployment.yaml")
    service = _load("service.yaml")
    hpa = _load("hpa.yaml")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    assert 1 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
    kustomization = _load("kustomization.yaml")
    assert sorted(kustomization["resources"]) == [
        "deployment.yaml",
        "hpa.yaml",
        "redis.yaml",
        "service.yaml",
    ]
    # the HPA owns the replica count: a fixed one in the deployment would fight it
    assert "replicas" not in deployment["spec"]


def test_the_image_comes_from_kustomize_with_a_fixed_tag() -> None:
    [container] = _load("deployment.yaml")["spec"]["template"]["spec"]["containers"]
    [image] = _load("kustomization.yaml")["images"]
    assert image["name"] == container["image"] == "backprop-circuits"
    assert image["newTag"] not in ("", "latest") and image["newName"].endswith("/backprop-circuits")
    assert container["imagePullPolicy"] == "IfNotPresent"


def test_the_presets_configmap_is_mounted_and_its_file_is_valid() -> None:
    from app.core.presets_file import load_teacher_presets
    from app.presets import _check_teacher_preset

    kustomization = _load("kustomization.yaml")
    [generator] = kustomization["configMapGenerator"]
    assert generator["files"] == ["presets.yaml"]
    pod = _load("deployment.yaml")["spec"]["template"]["spec"]
    [container] = pod["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    [mount] = [m for m in container["volumeMounts"] if m["name"] == "presets"]
    [volume] = [v for v in pod["volumes"] if v["name"] == "presets"]
    assert volume["configMap"]["name"] == generator["name"]
    assert env["BPC_PRESETS_FILE"] == f"{mount['mountPath']}/presets.yaml" and mount["readOnly"]
    # the file the ConfigMap is made from passes the same check the server makes at start-up
    [preset] = load_teacher_presets(K8S / "presets.yaml", check=_check_teacher_preset)
    assert preset["id"] == "neuron_from_class"


def test_the_ingress_example_points_at_the_service() -> None:
    ingress = _load("ingress.yaml")
    service = _load("service.yaml")
    [rule] = ingress["spec"]["rules"]
    [path] = rule["http"]["paths"]
    backend = path["backend"]["service"]
    assert backend["name"] == service["metadata"]["name"]
    assert backend["port"]["name"] == service["spec"]["ports"][0]["name"]


def test_every_bpc_variable_named_in_deploy_files_is_a_setting() -> None:
    fields = {name.upper() for name in Settings.model_fields}
    texts = [
        (ROOT / "Dockerfile").read_text(),
        (ROOT / "deploy" / "compose.yaml").read_text(),
        (K8S / "deployment.yaml").read_text(),
    ]
    named = {
        match for text in texts for match in re.findall(r"\bBPC_([A-Z][A-Z0-9_]*[A-Z0-9])\b", text)
    }
    named.discard("")
    assert named, "no BPC_ variables found"
    assert named <= fields, f"unknown settings: {sorted(named - fields)}"


def test_the_replicas_share_one_redis_as_their_class_store() -> None:
    """Compose and Kubernetes start a real Redis and point every replica's BPC_STORE at it."""
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    app, redis = compose["services"]["app"], compose["services"]["redis"]
    assert app["environment"]["BPC_STORE"] == "redis://redis:6379/0"
    assert app["depends_on"]["redis"]["condition"] == "service_healthy"
    assert redis["image"].startswith("redis:7") and "--appendonly" in redis["command"]
    [container] = _load("deployment.yaml")["spec"]["template"]["spec"]["containers"]
    env = {item["name"]: item.get("value") for item in container["env"]}
    manifests = list(yaml.safe_load_all((K8S / "redis.yaml").read_text()))
    service = next(m for m in manifests if m["kind"] == "Service")
    assert env["BPC_STORE"] == f"redis://{service['metadata']['name']}:6379/0"
    assert service["spec"]["ports"][0]["port"] == 6379
    from app.store import store_target

    assert store_target(env["BPC_STORE"])[0] == store_target(app["environment"]["BPC_STORE"])[0]


def test_compose_runs_replicas_behind_nginx_with_the_repo_config() -> None:
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    app, nginx = compose["services"]["app"], compose["services"]["nginx"]
    assert app["build"]["context"] == ".." and app["deploy"]["replicas"] == "${REPLICAS:-2}"
    assert "./nginx.conf:/etc/nginx/nginx.conf:ro" in nginx["volumes"]
    assert nginx["depends_on"]["app"]["condition"] == "service_healthy"


def test_every_package_under_app_is_in_the_wheel() -> None:
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "app").rglob("__init__.py")
    }
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"
    assert {"app._static", "app._templates"} <= listed  # the pages' files


def test_nginx_follows_the_replicas_as_they_change() -> None:
    """Compose's nginx resolves `app` again while it runs (`resolve` needs nginx >= 1.27.3,
    so the image is pinned to 1.27); tests/test_deploy_nginx.py runs the rest of this file
    with Debian's nginx, whose 1.22 lacks `resolve`, against fixed loopback upstreams."""
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    assert re.search(r"^\s*resolver 127\.0\.0\.11 valid=10s ipv6=off;", conf, re.M)
    upstream = re.search(r"upstream backprop \{(.*?)\}", conf, re.S)
    assert upstream is not None
    assert re.search(r"^\s*zone backprop \d+k;", upstream.group(1), re.M)
    assert re.search(r"^\s*server app:8000 resolve ", upstream.group(1), re.M)
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    image = compose["services"]["nginx"]["image"]
    major, minor = (int(x) for x in re.fullmatch(r"nginx:(\d+)\.(\d+)-alpine", image).groups())  # type: ignore[union-attr]
    assert (major, minor) >= (1, 27)
