"""Offline checks of the Kubernetes deployment: no cluster and no container engine needed.

    .venv/bin/python deploy/k8s/check.py            # every check, exit 1 on a problem
    .venv/bin/python deploy/k8s/check.py --raw      # only what needs no kubectl

What is checked (tests/deploy runs the same functions as part of ``make test``):

- rendering: ``kubectl kustomize`` with default flags of the base and of every overlay (kubectl
  bundles kustomize; the base is self-contained: its nginx templates are in deploy/k8s/base/nginx);
- schemas: every core object against the Kubernetes OpenAPI schemas bundled in kubernetes-validate
  (strict: unknown fields are errors), the KEDA objects against deploy/k8s/schemas/*.json; without
  kubectl the YAML files of the base and overlays are validated as they are written;
- contents and wiring: every service, the edge, the ingest and the dev infrastructure are there;
  references to ConfigMaps, Secrets and their keys resolve; Services select pods and name real ports;
  hardening (non-root, no privilege escalation, capabilities dropped, seccomp, read-only root
  filesystem for our images), resource requests and limits, probes; pinned upstream images;
- settings: every REELHOUSE_* name given to a service is a field of its settings classes, every
  ${NAME} of the nginx templates gets a value, and the edge/ingest ConfigMaps carry the laptop stack's
  files byte for byte;
- KEDA: the ScaledObject scales the transcoder Deployment on its real queue (rabbitmq trigger over the
  management API, QueueLength, about 5 per replica), its TriggerAuthentication and Secret resolve, and
  the pod's grace period covers the worker's graceful stop;
- images: every image is built from a Dockerfile of this repository (the service images from the one
  service recipe, with a ``docker-bake.json`` target and Tiltfile build arguments naming the service)
  or is a pinned upstream image; Dockerfiles use pinned bases, a dependencies-only uv layer and a
  non-root user;
- Tiltfile: parsed and evaluated (starlark-pyo3) with stand-ins for Tilt's functions, then its images,
  resources, port forwards and dependencies are checked against the rendered overlay.

Every check returns a list of problems (strings); an empty list means it passed.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import shutil
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S_VERSION = "1.30"  # oldest Kubernetes the manifests target (kind/k3d/minikube of 2024 and later)
KUSTOMIZE_FLAGS: tuple[str, ...] = ()  # the base is self-contained: default load restrictions
SERVICES = ("gallery", "upload", "transcoder", "streaming", "chat")
OUR_IMAGES = "reelhouse/"
NGINX_IMAGE = "reelhouse/nginx"
NGINX_DOCKERFILE = "deploy/k8s/images/nginx/Dockerfile"
#: The one recipe of every Python service image; ``SERVICE`` (and ``APT_PACKAGES``) pick the service.
SERVICE_DOCKERFILE = "deploy/docker/service.Dockerfile"
#: ``docker buildx bake`` definition: one target per image, with the build arguments of each.
BAKE_FILE = "docker-bake.json"
#: Services whose image needs ffmpeg (the transcoder's pipeline; the streaming service remuxes recordings).
FFMPEG_SERVICES = frozenset({"transcoder", "streaming"})
KEDA_SCHEMAS = {
    "ScaledObject": "scaledobject-keda.sh-v1alpha1.json",
    "TriggerAuthentication": "triggerauthentication-keda.sh-v1alpha1.json",
}
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job")
# What the dev overlay must contain (docs/architecture.md: services, edge, ingest, dev infrastructure).
DEV_WORKLOADS = {("Deployment", name) for name in (*SERVICES, "edge", "ingest", "s3")} | {
    ("StatefulSet", "postgres"),
    ("StatefulSet", "rabbitmq"),
}
# Slack the transcoder pod needs after the worker's own grace period (uvicorn's graceful shutdown
# of 30 s, the outbox relay's 10 s, the process exit).
TRANSCODER_SHUTDOWN_OVERHEAD_S = 45
TEMPLATE_VAR = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _load_all(text: str) -> list:
    return [doc for doc in yaml.load_all(text, Loader=_LOADER) if doc]


def _dump_all(docs: Iterable[dict]) -> str:
    return yaml.dump_all(list(docs), Dumper=_DUMPER)


class RenderError(RuntimeError):
    """kubectl kustomize failed (the message carries its stderr)."""


def kubectl_path() -> str | None:
    """The kubectl binary, or None when it is not installed."""
    return shutil.which("kubectl")


def overlays(root: Path = ROOT) -> list[str]:
    """Names of the overlays (directories of deploy/k8s/overlays with a kustomization.yaml)."""
    base = root / "deploy" / "k8s" / "overlays"
    return sorted(p.parent.name for p in base.glob("*/kustomization.yaml"))


def render(root: Path, target: str) -> list[dict]:
    """Render ``deploy/k8s/<target>`` (``base`` or ``overlays/<name>``) with kubectl kustomize."""
    kubectl = kubectl_path()
    if kubectl is None:
        raise RenderError("kubectl not found")
    path = root / "deploy" / "k8s" / target
    proc = subprocess.run(
        [kubectl, "kustomize", *KUSTOMIZE_FLAGS, str(path)], capture_output=True, text=True, timeout=60
    )
    if proc.returncode != 0:
        raise RenderError(f"kubectl kustomize {target} failed: {proc.stderr.strip()}")
    return _load_all(proc.stdout)


def raw_manifests(root: Path = ROOT) -> tuple[list[tuple[str, dict]], list[str]]:
    """The objects written in the YAML files of the base and the overlays (no kustomize), as
    (file, object) pairs, plus the problems of files that do not parse."""
    k8s = root / "deploy" / "k8s"
    pairs: list[tuple[str, dict]] = []
    problems: list[str] = []
    files = sorted((k8s / "base").glob("*.yaml")) + sorted((k8s / "overlays").glob("*/*.yaml"))
    for path in files:
        if path.name in ("kustomization.yaml", "kustomization.yml"):
            continue
        where = str(path.relative_to(root))
        try:
            docs = _load_all(path.read_text())
        except yaml.YAMLError as exc:
            problems.append(f"{where}: not valid YAML: {exc}")
            continue
        for doc in docs:
            if not isinstance(doc, dict) or "kind" not in doc or "apiVersion" not in doc:
                problems.append(f"{where}: a document without apiVersion/kind")
                continue
            pairs.append((where, doc))
    return pairs, problems


def name_of(obj: dict) -> str:
    return f"{obj.get('kind')}/{(obj.get('metadata') or {}).get('name')}"


# --- schemas ----------------------------------------------------------------------------------


def _keda_validator(kind: str, root: Path) -> jsonschema.protocols.Validator | None:
    schema_file = KEDA_SCHEMAS.get(kind)
    if schema_file is None:
        return None
    schema = json.loads((root / "deploy" / "k8s" / "schemas" / schema_file).read_text())
    return jsonschema.Draft202012Validator(schema)


def validate_schemas(objects: Iterable[tuple[str, dict]], root: Path = ROOT) -> list[str]:
    """Core objects against the Kubernetes schemas (strict), KEDA objects against ours; any other
    kind is a problem (nothing here may go unchecked)."""
    import kubernetes_validate
    from kubernetes_validate.utils import SchemaNotFoundError, ValidationError

    problems = []
    validators: dict[str, Any] = {}
    for where, obj in objects:
        label = f"{where}: {name_of(obj)}"
        api = str(obj.get("apiVersion", ""))
        if api.startswith("keda.sh/"):
            kind = obj.get("kind", "")
            if kind not in validators:
                validators[kind] = _keda_validator(kind, root)
            validator = validators[kind]
            if validator is None or api != "keda.sh/v1alpha1":
                problems.append(f"{label}: no KEDA schema for {api} {kind}")
                continue
            for err in sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path)):
                path = ".".join(str(p) for p in err.absolute_path) or "(object)"
                problems.append(f"{label}: {path}: {err.message}")
            continue
        try:
            kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
        except ValidationError as err:
            path = ".".join(str(p) for p in err.path) or "(object)"
            problems.append(f"{label}: {path}: {err.message}")
        except SchemaNotFoundError as err:
            problems.append(f"{label}: {err.message}")
    return problems


# --- pods -------------------------------------------------------------------------------------


def workloads(objects: Iterable[dict]) -> list[dict]:
    return [o for o in objects if o.get("kind") in WORKLOAD_KINDS]


def pod_spec(workload: dict) -> dict:
    return workload["spec"]["template"]["spec"]


def all_containers(spec: dict) -> list[dict]:
    return list(spec.get("initContainers") or []) + list(spec.get("containers") or [])


def _is_ours(container: dict) -> bool:
    return str(container.get("image", "")).startswith(OUR_IMAGES)


def check_pods(objects: Iterable[dict]) -> list[str]:
    """Pod Security "restricted" for every pod, read-only root filesystems for our images, requests
    and limits everywhere, probes on every long-running container."""
    problems = []
    for w in workloads(objects):
        spec = pod_spec(w)
        label = name_of(w)
        psc = spec.get("securityContext") or {}
        for c in all_containers(spec):
            where = f"{label} container {c.get('name')}"
            csc = c.get("securityContext") or {}
            if csc.get("runAsNonRoot", psc.get("runAsNonRoot")) is not True:
                problems.append(f"{where}: runAsNonRoot is not true")
            if (csc.get("runAsUser", psc.get("runAsUser")) or 0) == 0 and _is_ours(c):
                problems.append(f"{where}: runs as uid 0")
            seccomp = (csc.get("seccompProfile") or psc.get("seccompProfile") or {}).get("type")
            if seccomp not in ("RuntimeDefault", "Localhost"):
                problems.append(f"{where}: no RuntimeDefault seccomp profile")
            if csc.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where}: allowPrivilegeEscalation is not false")
            if "ALL" not in ((csc.get("capabilities") or {}).get("drop") or []):
                problems.append(f"{where}: capabilities are not dropped (drop: [ALL])")
            if csc.get("privileged"):
                problems.append(f"{where}: privileged")
            if _is_ours(c) and csc.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{where}: readOnlyRootFilesystem is not true")
            res = c.get("resources") or {}
            for kind in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    if resource not in (res.get(kind) or {}):
                        problems.append(f"{where}: no {resource} {kind}")
        for c in spec.get("containers") or []:
            where = f"{label} container {c.get('name')}"
            for probe in ("readinessProbe", "livenessProbe"):
                if probe not in c:
                    problems.append(f"{where}: no {probe}")
        for vol in spec.get("volumes") or []:
            if "hostPath" in vol:
                problems.append(f"{label}: hostPath volume {vol.get('name')}")
    return problems


def check_service_probes(objects: Iterable[dict]) -> list[str]:
    """The Python services answer readiness on /readyz and liveness on /healthz (docs/api.md)."""
    problems = []
    by_name = {w["metadata"]["name"]: w for w in workloads(objects) if w["kind"] == "Deployment"}
    for svc in SERVICES:
        w = by_name.get(svc)
        if w is None:
            problems.append(f"Deployment/{svc}: missing")
            continue
        main = next((c for c in pod_spec(w)["containers"] if c.get("name") == svc), None)
        if main is None:
            problems.append(f"Deployment/{svc}: no container named {svc}")
            continue
        for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
            got = ((main.get(probe) or {}).get("httpGet") or {}).get("path")
            if got != path:
                problems.append(f"Deployment/{svc}: {probe} checks {got!r}, expected {path}")
        init = [c for c in pod_spec(w).get("initContainers") or [] if c.get("name") == "migrate"]
        if not init or init[0].get("command") != [f"reelhouse-{svc}", "migrate"]:
            problems.append(f"Deployment/{svc}: no init container running `reelhouse-{svc} migrate`")
    return problems


# --- references -------------------------------------------------------------------------------


def _index(objects: Iterable[dict], kind: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in objects if o.get("kind") == kind}


def _keys(obj: dict) -> set[str]:
    return (
        set((obj.get("data") or {}).keys())
        | set((obj.get("stringData") or {}).keys())
        | set((obj.get("binaryData") or {}).keys())
    )


def check_references(objects: list[dict]) -> list[str]:
    """In a rendered overlay: every ConfigMap, Secret and key a pod uses exists; every Service selects
    some pod template and targets a named container port of it."""
    problems = []
    maps, secrets = _index(objects, "ConfigMap"), _index(objects, "Secret")
    for w in workloads(objects):
        spec = pod_spec(w)
        label = name_of(w)

        def need(kind: str, name: str | None, key: str | None, where: str, optional: bool = False) -> None:
            pool = maps if kind == "ConfigMap" else secrets
            if optional:
                return
            if name not in pool:
                problems.append(f"{where}: {kind} {name!r} does not exist")
            elif key is not None and key not in _keys(pool[name]):
                problems.append(f"{where}: {kind} {name!r} has no key {key!r}")

        for c in all_containers(spec):
            where = f"{label} container {c.get('name')}"
            for src in c.get("envFrom") or []:
                if "configMapRef" in src:
                    ref = src["configMapRef"]
                    need("ConfigMap", ref.get("name"), None, where, ref.get("optional", False))
                if "secretRef" in src:
                    ref = src["secretRef"]
                    need("Secret", ref.get("name"), None, where, ref.get("optional", False))
            for env in c.get("env") or []:
                vf = env.get("valueFrom") or {}
                if "configMapKeyRef" in vf:
                    ref = vf["configMapKeyRef"]
                    need("ConfigMap", ref.get("name"), ref.get("key"), where, ref.get("optional", False))
                if "secretKeyRef" in vf:
                    ref = vf["secretKeyRef"]
                    need("Secret", ref.get("name"), ref.get("key"), where, ref.get("optional", False))
            mounts = {m["name"] for m in c.get("volumeMounts") or []}
            volumes = {v["name"] for v in spec.get("volumes") or []}
            claims = {t["metadata"]["name"] for t in (w["spec"].get("volumeClaimTemplates") or [])}
            for missing in sorted(mounts - volumes - claims):
                problems.append(f"{where}: mounts undefined volume {missing!r}")
        for vol in spec.get("volumes") or []:
            if "configMap" in vol:
                need(
                    "ConfigMap",
                    vol["configMap"].get("name"),
                    None,
                    f"{label} volume {vol['name']}",
                    vol["configMap"].get("optional", False),
                )
            if "secret" in vol:
                need(
                    "Secret",
                    vol["secret"].get("secretName"),
                    None,
                    f"{label} volume {vol['name']}",
                    vol["secret"].get("optional", False),
                )
    for svc in (o for o in objects if o.get("kind") == "Service"):
        selector = (svc.get("spec") or {}).get("selector") or {}
        targets = [
            w
            for w in workloads(objects)
            if selector
            and all(
                w["spec"]["template"]["metadata"].get("labels", {}).get(k) == v for k, v in selector.items()
            )
        ]
        if not targets:
            problems.append(f"{name_of(svc)}: selects no pod template")
            continue
        port_names = {
            p.get("name") for w in targets for c in pod_spec(w)["containers"] for p in c.get("ports") or []
        }
        port_numbers = {
            p.get("containerPort")
            for w in targets
            for c in pod_spec(w)["containers"]
            for p in c.get("ports") or []
        }
        for port in svc["spec"].get("ports") or []:
            target = port.get("targetPort", port.get("port"))
            if isinstance(target, str) and target not in port_names:
                problems.append(f"{name_of(svc)}: targetPort {target!r} is no container port name")
            if isinstance(target, int) and target not in port_numbers:
                problems.append(f"{name_of(svc)}: targetPort {target} is no container port")
    return problems


def check_dev_contents(objects: list[dict]) -> list[str]:
    """The dev overlay holds every service, the edge, the ingest and the infrastructure, each with a
    Service, plus the transcoder's ScaledObject and TriggerAuthentication."""
    have = {(o.get("kind"), o["metadata"]["name"]) for o in objects}
    problems = [f"{kind}/{name}: missing from the dev overlay" for kind, name in sorted(DEV_WORKLOADS - have)]
    for _, name in sorted(DEV_WORKLOADS):
        if ("Service", name) not in have:
            problems.append(f"Service/{name}: missing from the dev overlay")
    for kind in ("ScaledObject", "TriggerAuthentication", "Namespace"):
        if not any(k == kind for k, _ in have):
            problems.append(f"{kind}: missing from the dev overlay")
    return problems


# --- settings and templates --------------------------------------------------------------------


def known_settings() -> dict[str, set[str]]:
    """REELHOUSE_* environment names each service reads: the fields of its settings classes."""
    import importlib
    import inspect

    from pydantic_settings import BaseSettings

    known: dict[str, set[str]] = {}
    for svc in SERVICES:
        module = importlib.import_module(f"reelhouse.{svc}.settings")
        names: set[str] = set()
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, BaseSettings) and cls.__module__.startswith("reelhouse."):
                prefix = cls.model_config.get("env_prefix", "")
                names |= {f"{prefix}{f}".upper() for f in cls.model_fields}
        known[svc] = names
    return known


def _service_env_names(c: dict, maps: dict, secrets: dict) -> list[tuple[str, str | None]]:
    """(name, ConfigMap/Secret it comes from via envFrom, or None for an explicit env entry)."""
    names: list[tuple[str, str | None]] = [(e["name"], None) for e in c.get("env") or []]
    for src in c.get("envFrom") or []:
        ref = src.get("configMapRef") or src.get("secretRef") or {}
        pool = maps if "configMapRef" in src else secrets
        if ref.get("name") in pool:
            names += [(key, ref["name"]) for key in _keys(pool[ref["name"]])]
    return names


def check_settings(objects: list[dict], known: dict[str, set[str]]) -> list[str]:
    """Every REELHOUSE_* name a service container gets is a setting (a typo would otherwise be ignored
    silently): of that service when given to it alone, of some service when it comes from a
    ConfigMap/Secret shared by several services; no other name reaches a service through envFrom."""
    problems = []
    maps, secrets = _index(objects, "ConfigMap"), _index(objects, "Secret")
    by_name = {w["metadata"]["name"]: w for w in workloads(objects)}
    everyone = set().union(*known.values())
    users: dict[str, set[str]] = {}
    for svc in SERVICES:
        for c in all_containers(pod_spec(by_name[svc])) if svc in by_name else []:
            for _, source in _service_env_names(c, maps, secrets):
                if source is not None:
                    users.setdefault(source, set()).add(svc)
    for svc in SERVICES:
        w = by_name.get(svc)
        if w is None:
            continue
        for c in all_containers(pod_spec(w)):
            where = f"Deployment/{svc} container {c['name']}"
            for name, source in sorted(
                _service_env_names(c, maps, secrets), key=lambda x: (x[0], x[1] or "")
            ):
                shared = source is not None and len(users.get(source, ())) > 1
                if not name.startswith("REELHOUSE_"):
                    if not name.startswith("PYTHON"):
                        problems.append(f"{where}: {name} is no REELHOUSE_ setting")
                elif name not in (everyone if shared else known[svc]):
                    problems.append(f"{where}: {name} is not a setting of {'any service' if shared else svc}")
    return problems


def dockerfile_env(path: Path) -> set[str]:
    """Names set by ENV instructions of a Dockerfile (``ENV A=1 B=2`` and ``ENV A 1`` forms)."""
    names: set[str] = set()
    for instr, args in dockerfile_instructions(path):
        if instr != "ENV":
            continue
        words = shlex.split(args)
        if words and "=" not in words[0]:
            names.add(words[0])
        else:
            names |= {w.split("=", 1)[0] for w in words if "=" in w}
    return names


def _mounted_key(spec: dict, c: dict, path: str, maps: dict) -> tuple[str, str] | None:
    """(ConfigMap name, key) of a file path inside a ConfigMap volume mounted in container ``c``."""
    volumes = {v["name"]: v for v in spec.get("volumes") or []}
    for m in c.get("volumeMounts") or []:
        mount = m["mountPath"].rstrip("/") + "/"
        vol = volumes.get(m["name"]) or {}
        if path.startswith(mount) and "configMap" in vol:
            return vol["configMap"]["name"], path[len(mount) :]
    return None


def check_nginx_templates(objects: list[dict], root: Path = ROOT) -> list[str]:
    """The edge and the ingest run the laptop stack's templates unchanged, and get a value for every
    ${NAME} they contain (from the pod or the reelhouse/nginx image)."""
    problems = []
    maps = _index(objects, "ConfigMap")
    image_env = dockerfile_env(root / NGINX_DOCKERFILE)
    local = root / "deploy" / "k8s" / "base" / "nginx"
    for w in workloads(objects):
        spec = pod_spec(w)
        for c in spec.get("containers") or []:
            if not str(c.get("image", "")).startswith(NGINX_IMAGE):
                continue
            where = f"{name_of(w)} container {c['name']}"
            args = c.get("args") or []
            if len(args) != 1:
                problems.append(f"{where}: expected one argument, the template path")
                continue
            env = {e["name"]: e.get("value") for e in c.get("env") or []}
            paths = {n: v for n, v in env.items() if isinstance(v, str) and v.startswith("/etc/")}
            # a variable naming a mounted ConfigMap folder (EDGE_FILES_DIR): the files the template names
            # below it (${NAME}/cors.js) are checked like the others
            folders = {}
            for n, v in paths.items():
                located = _mounted_key(spec, c, v.rstrip("/") + "/", maps)
                if located is not None and located[1] == "":
                    folders[n] = v.rstrip("/")
            files = [args[0]] + [v for n, v in paths.items() if n not in folders]
            local_template = local / Path(args[0]).name
            if folders and local_template.is_file():
                for name, folder in folders.items():
                    for rest in sorted(set(re.findall(r"\$\{" + name + r"\}/([A-Za-z0-9._-]+)", local_template.read_text()))):
                        files.append(f"{folder}/{rest}")
            template_text = None
            for path in files:
                located = _mounted_key(spec, c, path, maps)
                if located is None or located[0] not in maps or located[1] not in _keys(maps[located[0]]):
                    problems.append(f"{where}: {path} is not a file of a mounted ConfigMap")
                    continue
                content = maps[located[0]]["data"][located[1]]
                source = local / located[1]
                if not source.exists():
                    problems.append(f"{where}: {located[1]} is not a file of deploy/k8s/base/nginx")
                elif content != source.read_text():
                    problems.append(f"{where}: {located[1]} differs from deploy/k8s/base/nginx/{located[1]}")
                if path == args[0]:
                    template_text = content
            if template_text is None:
                continue
            provided = set(env) | image_env
            for var in sorted(set(TEMPLATE_VAR.findall(template_text)) - provided):
                problems.append(f"{where}: template variable {var} gets no value")
    return problems


# --- KEDA -------------------------------------------------------------------------------------


@dataclass
class KedaExpectations:
    queue: str
    shutdown_grace_default: float = 0.0
    messages_per_replica: tuple[float, float] = (3.0, 10.0)


def check_keda(objects: list[dict], expect: KedaExpectations, rendered: bool) -> list[str]:
    """The transcoder's ScaledObject and TriggerAuthentication (and, when ``rendered``, the Secret)."""
    problems = []
    scaled = [o for o in objects if o.get("kind") == "ScaledObject"]
    auths = _index(objects, "TriggerAuthentication")
    deployments = _index(objects, "Deployment")
    targets = [s for s in scaled if s["spec"]["scaleTargetRef"]["name"] == "transcoder"]
    if len(targets) != 1:
        return [f"expected one ScaledObject for Deployment transcoder, found {len(targets)}"]
    so = targets[0]
    spec = so["spec"]
    ref = spec["scaleTargetRef"]
    if ref.get("kind", "Deployment") != "Deployment" or ref.get("apiVersion", "apps/v1") != "apps/v1":
        problems.append("ScaledObject/transcoder: scaleTargetRef is not an apps/v1 Deployment")
    if "transcoder" not in deployments:
        problems.append("ScaledObject/transcoder: Deployment transcoder does not exist")
    low, high = spec.get("minReplicaCount", 0), spec.get("maxReplicaCount", 100)
    if low not in (0, 1):
        problems.append(f"ScaledObject/transcoder: minReplicaCount {low}, expected 0 or 1")
    if high < max(low, 1):
        problems.append(f"ScaledObject/transcoder: maxReplicaCount {high} below minReplicaCount/1")
    rabbit = [t for t in spec.get("triggers") or [] if t.get("type") == "rabbitmq"]
    if len(rabbit) != 1:
        problems.append(f"ScaledObject/transcoder: expected one rabbitmq trigger, found {len(rabbit)}")
        return problems
    meta = rabbit[0].get("metadata") or {}
    if meta.get("queueName") != expect.queue:
        problems.append(
            f"ScaledObject/transcoder: queueName {meta.get('queueName')!r}, the transcoder consumes {expect.queue!r}"
        )
    if meta.get("protocol") != "http":
        problems.append(
            "ScaledObject/transcoder: protocol must be http (management API: counts unacked messages)"
        )
    if meta.get("mode") != "QueueLength":
        problems.append(f"ScaledObject/transcoder: mode {meta.get('mode')!r}, expected QueueLength")
    try:
        per_replica = float(meta.get("value", "nan"))
    except ValueError:
        per_replica = float("nan")
    lo, hi = expect.messages_per_replica
    if not lo <= per_replica <= hi:
        problems.append(
            f"ScaledObject/transcoder: value {meta.get('value')!r}, expected about 5 messages per replica"
        )
    if "host" in meta or "hostFromEnv" in meta:
        problems.append(
            "ScaledObject/transcoder: the broker address must come from the TriggerAuthentication"
        )
    auth_name = (rabbit[0].get("authenticationRef") or {}).get("name")
    auth = auths.get(auth_name)
    if auth is None:
        problems.append(f"ScaledObject/transcoder: TriggerAuthentication {auth_name!r} does not exist")
        return problems
    refs = {r["parameter"]: r for r in auth["spec"].get("secretTargetRef") or []}
    if "host" not in refs:
        problems.append(f"TriggerAuthentication/{auth_name}: no secretTargetRef for parameter host")
    if rendered:
        secrets = _index(objects, "Secret")
        for r in refs.values():
            secret = secrets.get(r["name"])
            if secret is None or r["key"] not in _keys(secret):
                problems.append(
                    f"TriggerAuthentication/{auth_name}: Secret {r['name']!r} key {r['key']!r} missing"
                )
        if "host" in refs and refs["host"]["name"] in secrets:
            host = _secret_value(secrets[refs["host"]["name"]], refs["host"]["key"])
            if host is not None and not re.match(r"^https?://[^/]+:15672/", host):
                problems.append(
                    f"TriggerAuthentication/{auth_name}: host {host!r} is not the management API (http://<host>:15672/)"
                )
    w = deployments.get("transcoder")
    if w is not None:
        if "replicas" in w["spec"]:
            problems.append(
                "Deployment/transcoder: sets spec.replicas, which fights KEDA's HPA on every apply"
            )
        spec_pod = pod_spec(w)
        main = next((c for c in spec_pod["containers"] if c.get("name") == "transcoder"), {})
        env = {e["name"]: e.get("value") for e in main.get("env") or []}
        grace = float(env.get("REELHOUSE_SHUTDOWN_GRACE_SECONDS") or expect.shutdown_grace_default)
        period = spec_pod.get("terminationGracePeriodSeconds", 30)
        if period < grace + TRANSCODER_SHUTDOWN_OVERHEAD_S:
            problems.append(
                f"Deployment/transcoder: terminationGracePeriodSeconds {period} < shutdown grace {grace:g} s + "
                f"{TRANSCODER_SHUTDOWN_OVERHEAD_S} s: the worker would be killed during its graceful stop"
            )
    return problems


def _secret_value(secret: dict, key: str) -> str | None:
    import base64

    if key in (secret.get("stringData") or {}):
        return secret["stringData"][key]
    if key in (secret.get("data") or {}):
        return base64.b64decode(secret["data"][key]).decode()
    return None


# --- images and Dockerfiles ---------------------------------------------------------------------


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    out: list[tuple[str, str]] = []
    current = ""
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        instr, _, args = current.partition(" ")
        out.append((instr.upper(), args.strip()))
        current = ""
    return out


def dockerfile_for(image: str, root: Path = ROOT) -> Path:
    """The Dockerfile one of our images is built from: the nginx image's own, else the service recipe."""
    if image.startswith(NGINX_IMAGE):
        return root / NGINX_DOCKERFILE
    return root / SERVICE_DOCKERFILE


def service_of(image: str) -> str:
    """``reelhouse/transcoder:dev`` -> ``transcoder``."""
    return image.split(":", 1)[0].split("@", 1)[0].removeprefix(OUR_IMAGES)


def service_build_args(service: str) -> dict[str, str]:
    """The build arguments a service image needs (what docker-bake.json and the Tiltfile must pass)."""
    return {"SERVICE": service, **({"APT_PACKAGES": "ffmpeg"} if service in FFMPEG_SERVICES else {})}


def check_build_args(where: str, service: str, args: dict[str, Any]) -> list[str]:
    """``args`` name ``service`` and carry every Debian package it needs (more packages are allowed)."""
    problems = []
    if args.get("SERVICE") != service:
        problems.append(f"{where}: build argument SERVICE is {args.get('SERVICE')!r}, not {service!r}")
    wanted = set(service_build_args(service).get("APT_PACKAGES", "").split())
    missing = wanted - set(str(args.get("APT_PACKAGES", "")).split())
    if missing:
        problems.append(f"{where}: build argument APT_PACKAGES lacks {' '.join(sorted(missing))}")
    return problems


def check_bake(root: Path = ROOT) -> list[str]:
    """docker-bake.json has a target per service (the service recipe, its build arguments, the tag
    reelhouse/<service>:dev) and one for the nginx image."""
    path = root / BAKE_FILE
    try:
        bake = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        return [f"{BAKE_FILE}: {exc}"]
    targets: dict[str, dict] = bake.get("target") or {}

    def resolved(name: str) -> dict:
        merged: dict = {}
        for parent in targets.get(name, {}).get("inherits") or []:
            merged.update(resolved(parent))
        merged.update(targets.get(name, {}))
        return merged

    problems = []
    for name, dockerfile in [*((svc, SERVICE_DOCKERFILE) for svc in SERVICES), ("nginx", NGINX_DOCKERFILE)]:
        where = f"{BAKE_FILE} target {name}"
        if name not in targets:
            problems.append(f"{where}: missing")
            continue
        target = resolved(name)
        if target.get("dockerfile") != dockerfile or target.get("context", ".") != ".":
            problems.append(f"{where}: not built from {dockerfile} with the repository root as context")
        if f"{OUR_IMAGES}{name}:dev" not in (target.get("tags") or []):
            problems.append(f"{where}: not tagged {OUR_IMAGES}{name}:dev")
        if name in SERVICES:
            problems += check_build_args(where, name, target.get("args") or {})
    if set((bake.get("group") or {}).get("default", {}).get("targets") or []) != {*SERVICES, "nginx"}:
        problems.append(f"{BAKE_FILE}: the default group does not build every image")
    return problems


def is_pinned(image: str) -> bool:
    """A digest, or an exact version tag (not latest, not a bare major like ``17``)."""
    if "@sha256:" in image:
        return True
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return False
    tag = last.split(":", 1)[1]
    return tag != "latest" and re.match(r"^v?\d+(\.\d+)+", tag) is not None


def check_images(objects: Iterable[dict], root: Path = ROOT) -> list[str]:
    """Our images have a Dockerfile here; every other image is pinned."""
    problems = []
    for w in workloads(objects):
        for c in all_containers(pod_spec(w)):
            image = str(c.get("image", ""))
            where = f"{name_of(w)} container {c.get('name')}"
            if image.startswith(OUR_IMAGES):
                if not dockerfile_for(image, root).exists():
                    problems.append(
                        f"{where}: image {image} has no Dockerfile ({dockerfile_for(image, root).relative_to(root)})"
                    )
                elif not image.startswith(NGINX_IMAGE) and not (root / "services" / service_of(image)).is_dir():
                    problems.append(f"{where}: image {image} names no service under services/")
            elif not is_pinned(image):
                problems.append(f"{where}: image {image!r} is not pinned to an exact version or digest")
    return problems


def check_dockerfiles(root: Path = ROOT) -> list[str]:
    """Pinned bases, non-root users; the service recipe: a required ``SERVICE`` argument, a
    dependencies-only uv layer before the source, editable workspace install (migrations stay at their
    repository path), the ``APT_PACKAGES`` installed, and ``reelhouse-<SERVICE>`` as the entrypoint."""
    problems = []
    for path in (root / SERVICE_DOCKERFILE, root / NGINX_DOCKERFILE):
        where = str(path.relative_to(root))
        if not path.exists():
            problems.append(f"{where}: missing")
            continue
        instrs = dockerfile_instructions(path)
        build_args: dict[str, str] = {}
        for instr, rest in instrs:
            if instr == "ARG" and "=" in rest:
                k, v = rest.split("=", 1)
                build_args[k.strip()] = v.strip()

        def resolve(match: re.Match, build_args: dict[str, str] = build_args) -> str:
            return build_args.get(match.group(1), match.group(0))

        stages: set[str] = set()
        for instr, rest in instrs:
            if instr != "FROM":
                continue
            words = rest.split()
            image = re.sub(r"\$\{?(\w+)\}?", resolve, words[0])
            if len(words) >= 3 and words[1].upper() == "AS":
                stages.add(words[2])
            if image not in stages and not is_pinned(image):
                problems.append(f"{where}: base image {image!r} is not pinned")
        users = [rest for instr, rest in instrs if instr == "USER"]
        if not users or users[-1].split(":")[0] in ("0", "root"):
            problems.append(f"{where}: the final stage does not switch to a non-root USER")
        if path == root / SERVICE_DOCKERFILE:
            problems += _check_service_recipe(where, instrs)
    return problems


def _check_service_recipe(where: str, instrs: list[tuple[str, str]]) -> list[str]:
    problems = []
    package = "--package reelhouse-${SERVICE}"

    def first(pred: Any) -> int | None:
        return next((n for n, (i, r) in enumerate(instrs) if pred(i, r)), None)

    dep_sync = first(lambda i, r: i == "RUN" and "uv sync" in r and "--no-install-workspace" in r and package in r)
    src_copy = first(lambda i, r: i == "COPY" and re.search(r"(^|\s)(libs|services/\$\{SERVICE\})(\s|/|$)", r))
    full_sync = first(lambda i, r: i == "RUN" and "uv sync" in r and "--no-install-workspace" not in r and package in r)
    if first(lambda i, r: i == "ARG" and r.strip() == "SERVICE") is None:
        problems.append(f"{where}: no required build argument SERVICE")
    if dep_sync is None or src_copy is None or dep_sync > src_copy:
        problems.append(f"{where}: no `uv sync --no-install-workspace {package}` layer before the source is copied")
    if full_sync is None or (src_copy is not None and full_sync < src_copy):
        problems.append(f"{where}: the workspace is not installed after the source is copied")
    if any("--no-editable" in r for i, r in instrs if i == "RUN"):
        problems.append(f"{where}: --no-editable breaks main.py's migrations path")
    if first(lambda i, r: i == "RUN" and "apt-get install" in r and "${APT_PACKAGES}" in r) is None:
        problems.append(f"{where}: the APT_PACKAGES build argument is not installed from Debian")
    if first(lambda i, r: i == "ENV" and "REELHOUSE_SERVICE=${SERVICE}" in r) is None:
        problems.append(f"{where}: no ENV REELHOUSE_SERVICE=${{SERVICE}} for the entrypoint")
    entry = [json.loads(r) for i, r in instrs if i == "ENTRYPOINT"]
    if not entry or not any('exec "reelhouse-${REELHOUSE_SERVICE}" "$@"' in part for part in entry[-1]):
        problems.append(f'{where}: ENTRYPOINT does not exec reelhouse-${{REELHOUSE_SERVICE}} with its arguments')
    return problems


# --- Tiltfile ---------------------------------------------------------------------------------


@dataclass
class TiltRun:
    """What the Tiltfile asked Tilt to do."""

    builds: list[dict] = field(default_factory=list)
    resources: list[dict] = field(default_factory=list)
    local_resources: list[dict] = field(default_factory=list)
    applied: list[dict] = field(default_factory=list)
    kustomize_calls: list[tuple] = field(default_factory=list)
    watched: list[str] = field(default_factory=list)
    printed: list[str] = field(default_factory=list)


def run_tiltfile(root: Path, rendered: list[dict], keda_installed: bool = True) -> TiltRun:
    """Evaluate the Tiltfile with starlark-pyo3, Tilt's functions replaced by recorders; ``kustomize``
    answers with ``rendered``. Raises starlark.StarlarkError on syntax or evaluation errors."""
    import starlark as sl

    run = TiltRun()
    source = (root / "Tiltfile").read_text()
    dialect = sl.Dialect.extended()
    dialect.enable_load = True
    dialect.enable_top_level_stmt = True
    dialect.enable_f_strings = True
    ast = sl.parse("Tiltfile", source, dialect)

    def record(kind: str) -> Callable[..., dict]:
        def fn(*args: Any, **kwargs: Any) -> dict:
            return {"step": kind, "args": list(args), "kwargs": kwargs}

        return fn

    def docker_build(ref: str, context: str = ".", **kwargs: Any) -> None:
        run.builds.append({"ref": ref, "context": context, **kwargs})

    def docker_build_with_restart(
        ref: str, context: str, entrypoint: Any = None, live_update: Any = (), **kwargs: Any
    ) -> None:
        run.builds.append(
            {
                "ref": ref,
                "context": context,
                "entrypoint": entrypoint,
                "live_update": live_update,
                "restart": True,
                **kwargs,
            }
        )

    def kustomize(path: str, kustomize_bin: str | None = None, flags: Any = ()) -> str:
        run.kustomize_calls.append((path, list(flags or [])))
        return _dump_all(rendered)

    def decode_yaml_stream(text: Any) -> list:
        return _load_all(str(text))

    def encode_yaml_stream(objs: Any) -> str:
        return _dump_all(objs)

    def k8s_yaml(text: Any, allow_duplicates: bool = False) -> None:
        run.applied.extend(_load_all(str(text)))

    def k8s_resource(workload: str = "", **kwargs: Any) -> None:
        run.resources.append({"workload": workload, **kwargs})

    def local_resource(name: str, cmd: Any = None, **kwargs: Any) -> None:
        run.local_resources.append({"name": name, "cmd": cmd, **kwargs})

    def local(cmd: Any, **kwargs: Any) -> str:
        if "scaledobjects.keda.sh" in str(cmd):
            return (
                "customresourcedefinition.apiextensions.k8s.io/scaledobjects.keda.sh\n"
                if keda_installed
                else ""
            )
        raise AssertionError(f"unexpected local() call in the Tiltfile: {cmd}")

    module = sl.Module()
    stubs: dict[str, Callable[..., Any]] = {
        "docker_build": docker_build,
        "kustomize": kustomize,
        "decode_yaml_stream": decode_yaml_stream,
        "encode_yaml_stream": encode_yaml_stream,
        "k8s_yaml": k8s_yaml,
        "k8s_resource": k8s_resource,
        "local_resource": local_resource,
        "local": local,
        "k8s_context": lambda: "kind-reelhouse",
        "watch_file": lambda path: run.watched.append(path),
        "print": lambda *a: run.printed.append(" ".join(str(x) for x in a)),
        "sync": record("sync"),
        "run": record("run"),
        "fall_back_on": record("fall_back_on"),
        "port_forward": record("port_forward"),
    }
    for name, fn in stubs.items():
        module.add_callable(name, fn)

    def loader(path: str) -> Any:
        if path != "ext://restart_process":
            raise AssertionError(f"unexpected load() in the Tiltfile: {path}")
        ext = sl.Module()
        ext.add_callable("docker_build_with_restart", docker_build_with_restart)
        return ext.freeze()

    sl.eval(module, ast, sl.Globals.standard(), sl.FileLoader(loader))
    return run


def _forwards(resource: dict) -> set[str]:
    out = set()
    for pf in resource.get("port_forwards") or []:
        if isinstance(pf, dict):  # port_forward(local, container)
            a = pf["args"]
            out.add(f"{a[0]}:{a[1] if len(a) > 1 else a[0]}")
        else:
            out.add(str(pf) if ":" in str(pf) else f"{pf}:{pf}")
    return out


def check_tiltfile(root: Path, rendered: list[dict]) -> list[str]:
    """The Tiltfile builds every image of the overlay from its Dockerfile, with live update for the
    services; applies the overlay (minus KEDA when the cluster has none); names real resources with
    the edge on 8080 and RTMP on 1935; brings the infrastructure up first; runs the contract tests."""
    import starlark as sl

    problems = []
    try:
        run = run_tiltfile(root, rendered, keda_installed=True)
        without_keda = run_tiltfile(root, rendered, keda_installed=False)
    except sl.StarlarkError as exc:
        return [f"Tiltfile: {exc}"]
    images = {
        str(c.get("image", "")).split(":")[0]
        for w in workloads(rendered)
        for c in all_containers(pod_spec(w))
    }
    ours = {i for i in images if i.startswith(OUR_IMAGES)}
    built = {b["ref"]: b for b in run.builds}
    for image in sorted(ours - set(built)):
        problems.append(f"Tiltfile: no docker_build for {image}")
    for ref, b in sorted(built.items()):
        if ref.removeprefix(OUR_IMAGES) in SERVICES:
            problems += check_build_args(f"Tiltfile: {ref}", ref.removeprefix(OUR_IMAGES), b.get("build_args") or {})
        dockerfile = root / b.get("context", ".") / b.get("dockerfile", "Dockerfile")
        if not dockerfile.exists():
            problems.append(f"Tiltfile: {ref} is built from {b.get('dockerfile')}, which does not exist")
        elif dockerfile.resolve() != dockerfile_for(ref, root).resolve():
            problems.append(
                f"Tiltfile: {ref} is built from {b.get('dockerfile')}, not {dockerfile_for(ref, root).relative_to(root)}"
            )
        if ref not in ours:
            problems.append(f"Tiltfile: builds {ref}, which no workload uses")
    for svc in SERVICES:
        b = built.get(f"{OUR_IMAGES}{svc}")
        if b is None:
            continue
        if not b.get("restart") or b.get("entrypoint") != [f"reelhouse-{svc}", "serve"]:
            problems.append(
                f"Tiltfile: {svc} must use docker_build_with_restart with entrypoint reelhouse-{svc} serve"
            )
        syncs = [
            s["args"] for s in b.get("live_update") or [] if isinstance(s, dict) and s.get("step") == "sync"
        ]
        if [f"services/{svc}/src", f"/app/services/{svc}/src"] not in syncs:
            problems.append(f"Tiltfile: {svc} does not sync services/{svc}/src to /app/services/{svc}/src")
    if not run.kustomize_calls:
        problems.append("Tiltfile: kustomize() does not render the dev overlay")
    elif any("LoadRestrictionsNone" in " ".join(f) for _, f in run.kustomize_calls):
        problems.append("Tiltfile: kustomize() must render with default flags (the base is self-contained)")
    elif not all(p.rstrip("/").endswith("overlays/dev") for p, _ in run.kustomize_calls):
        problems.append("Tiltfile: kustomize() renders something else than deploy/k8s/overlays/dev")
    applied = {(o["kind"], o["metadata"]["name"]) for o in run.applied}
    expected = {(o["kind"], o["metadata"]["name"]) for o in rendered}
    if applied != expected:
        problems.append(
            f"Tiltfile: k8s_yaml applies {sorted(applied ^ expected)} differently from the overlay"
        )
    no_keda = {(o["kind"], o["metadata"]["name"]) for o in without_keda.applied}
    if any(o["apiVersion"].startswith("keda.sh/") for o in without_keda.applied) or not (expected - no_keda):
        problems.append(
            "Tiltfile: without KEDA in the cluster the ScaledObject/TriggerAuthentication must be left out"
        )
    for o in run.applied:
        if o["kind"] == "Deployment" and o["metadata"]["name"] in SERVICES:
            if any(
                (c.get("securityContext") or {}).get("readOnlyRootFilesystem") is not False
                for c in pod_spec(o)["containers"]
            ):
                problems.append(
                    f"Tiltfile: {o['metadata']['name']} keeps a read-only root filesystem, live update cannot sync"
                )
    names = {w["metadata"]["name"] for w in workloads(rendered)}
    resources = {r["workload"]: r for r in run.resources}
    local_names = {r["name"] for r in run.local_resources}
    for name in sorted(names - set(resources)):
        problems.append(f"Tiltfile: no k8s_resource for workload {name}")
    for name, r in sorted(resources.items()):
        if name not in names:
            problems.append(f"Tiltfile: k8s_resource({name!r}) names no workload")
        if not r.get("labels"):
            problems.append(f"Tiltfile: k8s_resource({name!r}) has no labels")
        for dep in r.get("resource_deps") or []:
            if dep not in names and dep not in local_names:
                problems.append(f"Tiltfile: k8s_resource({name!r}) depends on unknown resource {dep!r}")
    for workload, forward in (("edge", "8080:8080"), ("ingest", "1935:1935")):
        if forward not in _forwards(resources.get(workload, {})):
            problems.append(f"Tiltfile: {workload} is not forwarded on {forward}")
    infra = {"postgres", "rabbitmq", "s3"}
    for svc in SERVICES:
        if not infra <= set((resources.get(svc) or {}).get("resource_deps") or []):
            problems.append(f"Tiltfile: {svc} does not wait for {sorted(infra)}")
    contract = [r for r in run.local_resources if "-m contract" in str(r.get("cmd"))]
    if not contract:
        problems.append("Tiltfile: no local_resource runs the contract tests (pytest -m contract)")
    for path in ("deploy/k8s/base/nginx/edge.conf.template", "deploy/k8s/base/nginx/playback.js"):
        if path not in run.watched:
            problems.append(f"Tiltfile: {path} is not watched (the edge ConfigMap comes from it)")
    return problems


# --- all together -----------------------------------------------------------------------------


def expected_queue() -> str:
    """The transcoder's work queue, from the code (ServiceQueues of the platform library)."""
    from reelhouse.platform.messaging.topology import ServiceQueues
    from reelhouse.platform.settings import PlatformSettings

    return ServiceQueues.for_service(PlatformSettings.model_fields["queue_prefix"].default, "transcoder").main


def transcoder_shutdown_grace_default() -> float:
    from reelhouse.transcoder.settings import TranscoderSettings

    f = TranscoderSettings.model_fields.get("shutdown_grace_seconds")
    return float(f.default) if f is not None else 0.0


def check_raw(root: Path = ROOT) -> list[str]:
    """Everything that needs no kubectl: the YAML files as written, KEDA objects, Dockerfiles."""
    pairs, problems = raw_manifests(root)
    problems += validate_schemas(pairs, root)
    objects = [o for _, o in pairs]
    problems += check_pods(objects)
    problems += check_images(objects, root)
    problems += check_dockerfiles(root)
    problems += check_bake(root)
    problems += check_keda(
        objects, KedaExpectations(expected_queue(), transcoder_shutdown_grace_default()), rendered=False
    )
    return problems


def check_rendered(root: Path = ROOT) -> list[str]:
    """Render the base and every overlay and check them; the dev overlay in depth, with the Tiltfile."""
    problems: list[str] = []
    try:
        base = render(root, "base")
    except RenderError as exc:
        return [str(exc)]
    problems += validate_schemas([("base", o) for o in base], root)
    for overlay in overlays(root):
        try:
            objects = render(root, f"overlays/{overlay}")
        except RenderError as exc:
            problems.append(str(exc))
            continue
        where = f"overlays/{overlay}"
        problems += [f"{where}: {p}" for p in validate_schemas([(where, o) for o in objects], root)]
        for fn in (check_pods, check_service_probes, check_references, check_nginx_templates, check_images):
            args = (objects, root) if fn in (check_nginx_templates, check_images) else (objects,)
            problems += [f"{where}: {p}" for p in fn(*args)]
        problems += [f"{where}: {p}" for p in check_settings(objects, known_settings())]
        expect = KedaExpectations(expected_queue(), transcoder_shutdown_grace_default())
        problems += [f"{where}: {p}" for p in check_keda(objects, expect, rendered=True)]
        if overlay == "dev":
            problems += [f"{where}: {p}" for p in check_dev_contents(objects)]
            problems += check_tiltfile(root, objects)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--raw", action="store_true", help="only the checks that need no kubectl")
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root (default: this checkout)")
    args = parser.parse_args(argv)
    problems = check_raw(args.root)
    if not args.raw:
        if kubectl_path() is None:
            print("k8s checks: kubectl not found: rendering skipped (install kubectl; it bundles kustomize)")
        else:
            problems += check_rendered(args.root)
    for p in problems:
        print(f"PROBLEM {p}")
    print(f"k8s checks: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
