"""The offline checks fail when a manifest is broken: each test breaks one thing in a copy of the
deployment files and expects the checks (and the CLI's exit code) to say so."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.deploy


def test_the_unbroken_copy_passes_the_raw_checks(k8s, deploy_copy):
    assert k8s.check_raw(deploy_copy) == []
    assert k8s.main(["--raw", "--root", str(deploy_copy)]) == 0


def test_a_wrongly_typed_field_fails_schema_validation(k8s, deploy_copy, edit, capsys):
    edit(deploy_copy / "deploy/k8s/base/gallery.yaml", "containerPort: 8000", "containerPort: eight-thousand")
    problems = k8s.check_raw(deploy_copy)
    assert any("gallery.yaml" in p and "containerPort" in p for p in problems), problems
    assert k8s.main(["--raw", "--root", str(deploy_copy)]) == 1
    assert "PROBLEM" in capsys.readouterr().out


def test_a_misspelled_field_fails_strict_validation(k8s, deploy_copy, edit):
    edit(deploy_copy / "deploy/k8s/base/upload.yaml", "readinessProbe:", "readinesProbe:")
    problems = k8s.check_raw(deploy_copy)
    assert any("upload.yaml" in p and "readinesProbe" in p for p in problems), problems
    assert any("Deployment/upload container upload: no readinessProbe" in p for p in problems), problems


def test_a_root_container_fails_the_hardening_check(k8s, deploy_copy, edit):
    edit(
        deploy_copy / "deploy/k8s/base/edge.yaml",
        "allowPrivilegeEscalation: false\n            readOnlyRootFilesystem: true\n            capabilities:\n              drop: [\"ALL\"]\n          volumeMounts:\n            - name: config",
        "allowPrivilegeEscalation: true\n            readOnlyRootFilesystem: true\n            capabilities:\n              drop: [\"ALL\"]\n          volumeMounts:\n            - name: config",
    )
    problems = k8s.check_raw(deploy_copy)
    assert problems == ["Deployment/edge container edge: allowPrivilegeEscalation is not false"]


def test_a_broken_scaled_object_fails_the_keda_checks(k8s, deploy_copy, edit):
    path = deploy_copy / "deploy/k8s/base/transcoder-autoscaling.yaml"
    edit(path, 'value: "5"', "value: 5")
    edit(path, "queueName: reelhouse.transcoder", "queueName: reelhouse.transcoding")
    problems = k8s.check_raw(deploy_copy)
    assert any(
        "ScaledObject/transcoder: spec.triggers.0.metadata.value: 5 is not of type 'string'" in p
        for p in problems
    ), problems
    assert any("queueName 'reelhouse.transcoding'" in p for p in problems), problems


def test_a_short_grace_period_fails_the_keda_checks(k8s, deploy_copy, edit):
    edit(
        deploy_copy / "deploy/k8s/base/transcoder.yaml",
        "terminationGracePeriodSeconds: 660",
        "terminationGracePeriodSeconds: 30",
    )
    problems = k8s.check_raw(deploy_copy)
    assert any("terminationGracePeriodSeconds 30" in p for p in problems), problems


def test_an_unpinned_image_fails_the_image_check(k8s, deploy_copy, edit):
    edit(
        deploy_copy / "deploy/k8s/overlays/dev/rabbitmq.yaml",
        "image: rabbitmq:4.1.6-management",
        "image: rabbitmq:latest",
    )
    problems = k8s.check_raw(deploy_copy)
    assert problems == [
        "StatefulSet/rabbitmq container rabbitmq: image 'rabbitmq:latest' is not pinned to an exact version or digest"
    ]


def test_a_broken_overlay_fails_rendering_and_validation(k8s, kubectl, deploy_copy, edit):
    edit(deploy_copy / "deploy/k8s/base/chat.yaml", "replicas: 2", "replicas: two")
    edit(
        deploy_copy / "deploy/k8s/overlays/dev/kustomization.yaml",
        "  - s3.yaml\n",
        "  - s3.yaml\n  - missing.yaml\n",
    )
    problems = k8s.check_rendered(deploy_copy)
    assert any("kubectl kustomize overlays/dev failed" in p and "missing.yaml" in p for p in problems), (
        problems
    )
    assert any("Deployment/chat: spec.replicas" in p for p in problems), problems  # from the base render


def test_a_dangling_reference_fails_the_rendered_checks(k8s, kubectl, deploy_copy, edit):
    edit(
        deploy_copy / "deploy/k8s/base/edge.yaml",
        "key: REELHOUSE_PLAYBACK_SIGNING_SECRET",
        "key: REELHOUSE_PLAYBACK_SECRET",
    )
    objects = k8s.render(deploy_copy, "overlays/dev")
    problems = k8s.check_references(objects)
    assert len(problems) == 1 and "has no key 'REELHOUSE_PLAYBACK_SECRET'" in problems[0], problems


def test_a_broken_tiltfile_fails(k8s, kubectl, dev_objects, deploy_copy, edit):
    edit(deploy_copy / "Tiltfile", "port_forwards=['8080:8080'],", "port_forwards=['8081:8080'],")
    problems = k8s.check_tiltfile(deploy_copy, dev_objects)
    assert problems == ["Tiltfile: edge is not forwarded on 8080:8080"]
    edit(
        deploy_copy / "Tiltfile",
        "for svc in SERVICES:\n    docker_build_with_restart(",
        "for svc in SERVICES\n    docker_build_with_restart(",
    )
    problems = k8s.check_tiltfile(deploy_copy, dev_objects)
    assert len(problems) == 1 and problems[0].startswith("Tiltfile:"), problems


def test_a_service_image_without_ffmpeg_fails_the_bake_and_tilt_checks(k8s, kubectl, dev_objects, deploy_copy, edit):
    edit(deploy_copy / "docker-bake.json", '"args": {"SERVICE": "transcoder", "APT_PACKAGES": "ffmpeg"}', '"args": {"SERVICE": "transcoder"}')
    assert k8s.check_raw(deploy_copy) == ["docker-bake.json target transcoder: build argument APT_PACKAGES lacks ffmpeg"]
    edit(deploy_copy / "Tiltfile", "APT_PACKAGES = {'transcoder': 'ffmpeg', 'streaming': 'ffmpeg'}", "APT_PACKAGES = {'transcoder': 'ffmpeg'}")
    assert k8s.check_tiltfile(deploy_copy, dev_objects) == ["Tiltfile: reelhouse/streaming: build argument APT_PACKAGES lacks ffmpeg"]


def test_a_bake_target_for_the_wrong_service_fails(k8s, deploy_copy, edit):
    edit(deploy_copy / "docker-bake.json", '"args": {"SERVICE": "chat"}', '"args": {"SERVICE": "gallery"}')
    assert k8s.check_raw(deploy_copy) == ["docker-bake.json target chat: build argument SERVICE is 'gallery', not 'chat'"]


def test_a_service_recipe_that_installs_the_source_before_the_dependencies_fails(k8s, deploy_copy, edit):
    recipe = deploy_copy / "deploy/docker/service.Dockerfile"
    edit(recipe, "uv sync --frozen --no-dev --no-install-workspace --package reelhouse-${SERVICE}", "uv sync --frozen --no-dev --package reelhouse-${SERVICE}")
    problems = k8s.check_raw(deploy_copy)
    assert problems == [
        "deploy/docker/service.Dockerfile: no `uv sync --no-install-workspace --package reelhouse-${SERVICE}` layer before the source is copied",
        "deploy/docker/service.Dockerfile: the workspace is not installed after the source is copied",
    ]
    edit(recipe, 'ENTRYPOINT ["/bin/sh", "-c", "exec \\"reelhouse-${REELHOUSE_SERVICE}\\" \\"$@\\"", "reelhouse"]', 'ENTRYPOINT ["reelhouse-gallery"]')
    assert k8s.check_raw(deploy_copy)[-1] == "deploy/docker/service.Dockerfile: ENTRYPOINT does not exec reelhouse-${REELHOUSE_SERVICE} with its arguments"


def test_a_base_loading_files_outside_itself_fails_rendering(k8s, kubectl, deploy_copy, edit):
    """The base renders with default flags (kubectl apply -k, Argo CD, Flux): a file loaded from outside
    its folder, as the nginx templates once were, is refused."""
    assert k8s.check_rendered(deploy_copy) == []
    outside = deploy_copy / "deploy" / "nginx-outside"
    outside.mkdir()
    (deploy_copy / "deploy/k8s/base/nginx/playback.js").rename(outside / "playback.js")
    edit(deploy_copy / "deploy/k8s/base/kustomization.yaml", "      - nginx/playback.js\n", "      - playback.js=../../nginx-outside/playback.js\n")
    problems = k8s.check_rendered(deploy_copy)
    assert any("kubectl kustomize" in p and "failed" in p for p in problems), problems


def test_a_tiltfile_rendering_with_the_load_restrictor_flag_fails(k8s, kubectl, dev_objects, deploy_copy, edit):
    edit(deploy_copy / "Tiltfile", "kustomize(OVERLAY)", "kustomize(OVERLAY, flags=['--load-restrictor=LoadRestrictionsNone'])")
    assert k8s.check_tiltfile(deploy_copy, dev_objects) == [
        "Tiltfile: kustomize() must render with default flags (the base is self-contained)"
    ]
