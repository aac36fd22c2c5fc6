"""docker-compose.yml and deploy/nginx.conf agree with each other and with the service's settings.

No container runs here: the files are read as Compose and nginx would read them, and checked
against ``service.settings.Settings`` (the field names come from the class, so a variable the
compose file sets and the settings do not know fails here, not silently at run time).
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from service.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
NGINX = ROOT / "deploy" / "nginx.conf"

# Compose's interpolation: ${NAME}, ${NAME:-default}, ${NAME-default}; $$ is a literal dollar.
_VARIABLE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}")


def _substitute(text: str) -> str:
    """``text`` as Compose reads it with no variable set: each ``${NAME:-default}`` its default."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        return match.group(3) or ""

    return _VARIABLE.sub(replace, text)


@pytest.fixture(scope="module")
def compose_text() -> str:
    return COMPOSE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def services(compose_text: str) -> dict[str, dict[str, Any]]:
    document = yaml.safe_load(_substitute(compose_text))
    result: dict[str, dict[str, Any]] = document["services"]
    return result


def _environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment as a mapping, whether written as a mapping or a list."""
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        pairs = (item.split("=", 1) for item in raw)
        return {key: value for key, value in pairs}
    return {key: "" if value is None else str(value) for key, value in raw.items()}


def _depends_on(service: dict[str, Any]) -> dict[str, str | None]:
    """Each service this one waits for, with its condition (None for the short list form)."""
    raw = service.get("depends_on") or {}
    if isinstance(raw, list):
        return dict.fromkeys(raw)
    return {name: (spec or {}).get("condition") for name, spec in raw.items()}


def _by_image(services: dict[str, dict[str, Any]], prefix: str) -> str:
    names = [
        name for name, spec in services.items() if str(spec.get("image", "")).startswith(prefix)
    ]
    assert len(names) == 1, f"expected one service running {prefix}*, found {names}"
    return names[0]


@pytest.fixture(scope="module")
def api_services(services: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The replicas: the services built from the project's Dockerfile."""
    replicas = {name: spec for name, spec in services.items() if "build" in spec}
    assert len(replicas) >= 2, f"expected at least two API replicas, found {sorted(replicas)}"
    return replicas


@pytest.fixture(scope="module")
def api_environment(api_services: dict[str, dict[str, Any]]) -> dict[str, str]:
    return _environment(next(iter(api_services.values())))


@pytest.fixture(scope="module")
def milvus(services: dict[str, dict[str, Any]]) -> str:
    return _by_image(services, "milvusdb/milvus:")


@pytest.fixture(scope="module")
def postgres(services: dict[str, dict[str, Any]]) -> str:
    return _by_image(services, "postgres:")


@pytest.fixture(scope="module")
def load_balancer(services: dict[str, dict[str, Any]]) -> str:
    return _by_image(services, "nginx:")


# --- nginx.conf, read the way nginx tokenises it: directives end with ';', blocks are braces ---


def _nginx_text() -> str:
    lines = NGINX.read_text(encoding="utf-8").splitlines()
    return "\n".join(line.split("#", 1)[0] for line in lines)


def _directives(block: str, name: str) -> list[list[str]]:
    """The arguments of every ``name ...;`` directive in ``block`` (nested blocks included)."""
    found = []
    for statement in re.split(r"[;{}]", block):
        words = statement.split()
        if words and words[0] == name:
            found.append(words[1:])
    return found


def _upstreams() -> dict[str, str]:
    """Each upstream block's name and body."""
    return dict(re.findall(r"\bupstream\s+(\S+)\s*\{([^}]*)\}", _nginx_text()))


# --- the compose file -----------------------------------------------------------------------


def test_every_variable_in_the_compose_file_has_a_default(compose_text: str) -> None:
    # `docker compose up` then works with no .env file and no variable exported.
    without_default = [
        match.group(1)
        for match in _VARIABLE.finditer(compose_text)
        if match.group(1) and match.group(2) is None
    ]
    assert without_default == []


def test_images_are_pinned(services: dict[str, dict[str, Any]]) -> None:
    unpinned = {
        name: spec["image"]
        for name, spec in services.items()
        if "build" not in spec and (":" not in spec["image"] or spec["image"].endswith(":latest"))
    }
    assert unpinned == {}


def test_milvus_is_a_release_with_the_bm25_function(
    services: dict[str, dict[str, Any]], milvus: str
) -> None:
    tag = services[milvus]["image"].rsplit(":", 1)[1]
    version = re.fullmatch(r"v(\d+)\.(\d+)\.(\d+)", tag)
    assert version, f"{tag!r} is not a release tag"
    assert (int(version[1]), int(version[2])) >= (2, 5)


def test_milvus_standalone_runs_with_etcd_and_minio(
    services: dict[str, dict[str, Any]], milvus: str
) -> None:
    spec = services[milvus]
    assert spec["command"] == ["milvus", "run", "standalone"]
    environment = _environment(spec)
    etcd = _by_image(services, "quay.io/coreos/etcd:")
    minio = _by_image(services, "minio/minio:")
    assert environment["ETCD_ENDPOINTS"] == f"{etcd}:2379"
    assert environment["MINIO_ADDRESS"] == f"{minio}:9000"
    assert set(_depends_on(spec)) == {etcd, minio}
    assert "healthz" in " ".join(spec["healthcheck"]["test"])


def test_postgres_is_15_with_a_named_volume_and_pg_isready(
    compose_text: str, services: dict[str, dict[str, Any]], postgres: str
) -> None:
    spec = services[postgres]
    assert spec["image"] == "postgres:15"
    named_volumes = yaml.safe_load(_substitute(compose_text)).get("volumes") or {}
    sources = [str(volume).split(":", 1)[0] for volume in spec["volumes"]]
    assert any(source in named_volumes for source in sources), sources
    assert "pg_isready" in " ".join(spec["healthcheck"]["test"])
    assert "${POSTGRES_PASSWORD:-" in compose_text


def test_the_replicas_run_with_the_same_environment(
    api_services: dict[str, dict[str, Any]],
) -> None:
    environments = {name: _environment(spec) for name, spec in api_services.items()}
    first = next(iter(environments.values()))
    assert all(environment == first for environment in environments.values()), environments


def test_the_replicas_run_the_image_built_here_with_its_own_command(
    api_services: dict[str, dict[str, Any]],
) -> None:
    # Every replica runs the Dockerfile's CMD, `qa serve --host 0.0.0.0 --port 8000`.
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert 'CMD ["qa", "serve", "--host", "0.0.0.0", "--port", "8000"]' in dockerfile
    for name, spec in api_services.items():
        assert spec["build"] in (".", {"context": "."}), name
        assert "command" not in spec, name
        assert "ports" not in spec, f"{name} is reached through the load balancer only"


def test_every_qa_variable_names_a_settings_field(api_environment: dict[str, str]) -> None:
    prefix = Settings.model_config.get("env_prefix")
    assert prefix == "QA_"
    unknown = [
        key
        for key in api_environment
        if key.startswith(prefix) and key.removeprefix(prefix).lower() not in Settings.model_fields
    ]
    assert unknown == [], f"not fields of service.settings.Settings: {unknown}"


def test_the_qa_variables_validate_as_settings(api_environment: dict[str, str]) -> None:
    values = {
        key.removeprefix("QA_").lower(): value
        for key, value in api_environment.items()
        if key.startswith("QA_")
    }
    # Raises pydantic's ValidationError, naming the field, for a value the settings refuse. The
    # compose values alone: model_validate reads no QA_* variable from this process.
    settings = Settings.model_validate(values)
    assert settings.data_dir == Path(values["data_dir"])


def test_the_replicas_wait_for_healthy_postgres_and_milvus(
    api_services: dict[str, dict[str, Any]], milvus: str, postgres: str
) -> None:
    for name, spec in api_services.items():
        depends = _depends_on(spec)
        assert depends.get(postgres) == "service_healthy", name
        assert depends.get(milvus) == "service_healthy", name


def test_the_milvus_uri_names_the_milvus_service(
    api_environment: dict[str, str], milvus: str
) -> None:
    uri = urlsplit(api_environment["QA_MILVUS_URI"])
    assert (uri.scheme, uri.hostname, uri.port) == ("http", milvus, 19530)


def test_the_database_url_names_the_postgres_service_and_its_credentials(
    services: dict[str, dict[str, Any]], api_environment: dict[str, str], postgres: str
) -> None:
    url = urlsplit(api_environment["QA_DATABASE_URL"])
    assert url.scheme == "postgresql+psycopg"
    assert (url.hostname, url.port) == (postgres, 5432)
    database = _environment(services[postgres])
    assert url.username == database["POSTGRES_USER"]
    assert url.password == database["POSTGRES_PASSWORD"]
    assert url.path == "/" + database["POSTGRES_DB"]


def test_each_replica_keeps_its_caches_in_a_volume_of_its_own(
    api_services: dict[str, dict[str, Any]], api_environment: dict[str, str]
) -> None:
    data_dir = api_environment["QA_DATA_DIR"]
    sources = []
    for name, spec in api_services.items():
        mounts = [str(volume).split(":") for volume in spec.get("volumes") or []]
        mounted = [mount[0] for mount in mounts if len(mount) > 1 and mount[1] == data_dir]
        tmpfs = data_dir in (spec.get("tmpfs") or [])
        assert len(mounted) == 1 or tmpfs, f"{name}: nothing mounted at {data_dir}"
        sources.extend(mounted)
    assert len(sources) == len(set(sources)), f"replicas share a data directory: {sources}"


def test_the_load_balancer_waits_for_every_replica_and_publishes_8080(
    services: dict[str, dict[str, Any]],
    api_services: dict[str, dict[str, Any]],
    load_balancer: str,
) -> None:
    spec = services[load_balancer]
    assert set(_depends_on(spec)) == set(api_services)
    assert [str(port) for port in spec["ports"]] == ["8080:8080"]
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in spec["volumes"]


# --- nginx.conf --------------------------------------------------------------------------------


def test_the_upstream_names_exactly_the_replicas_on_port_8000(
    api_services: dict[str, dict[str, Any]],
) -> None:
    upstreams = _upstreams()
    assert len(upstreams) == 1, upstreams
    servers = [words[0] for words in _directives(next(iter(upstreams.values())), "server")]
    assert sorted(servers) == sorted(f"{name}:8000" for name in api_services)


def test_every_replica_has_passive_health_checks() -> None:
    body = next(iter(_upstreams().values()))
    for words in _directives(body, "server"):
        parameters = dict(word.split("=", 1) for word in words[1:] if "=" in word)
        assert int(parameters["max_fails"]) >= 1, words
        assert parameters["fail_timeout"], words


def test_requests_go_to_the_upstream_and_fail_over() -> None:
    text = _nginx_text()
    (name,) = _upstreams()
    assert _directives(text, "proxy_pass") == [[f"http://{name}"]]
    (next_upstream,) = _directives(text, "proxy_next_upstream")
    assert {"error", "timeout", "http_502", "http_503"} <= set(next_upstream)
    # Never re-sends a question or a write that reached a replica.
    assert "non_idempotent" not in next_upstream


def test_the_load_balancer_listens_on_8080_and_forwards_the_client_address() -> None:
    text = _nginx_text()
    assert _directives(text, "listen") == [["8080"]]
    headers = {words[0].lower(): words[1] for words in _directives(text, "proxy_set_header")}
    # Only the address nginx saw: $proxy_add_x_forwarded_for would pass on whatever
    # X-Forwarded-For the client sent, in front of it.
    assert headers["x-forwarded-for"] == "$remote_addr"
    assert headers["host"] == "$host"


def _load_balancer_address(services: dict[str, dict[str, Any]], load_balancer: str) -> str:
    networks = services[load_balancer].get("networks") or {}
    addresses = [(spec or {}).get("ipv4_address") for spec in networks.values()]
    assert len(addresses) == 1 and addresses[0], f"{load_balancer} has no fixed address"
    return str(addresses[0])


def test_the_replicas_trust_forwarded_addresses_from_the_load_balancer_only(
    services: dict[str, dict[str, Any]], api_environment: dict[str, str], load_balancer: str
) -> None:
    address = _load_balancer_address(services, load_balancer)
    assert api_environment["FORWARDED_ALLOW_IPS"] == address
    document = yaml.safe_load(_substitute(COMPOSE.read_text(encoding="utf-8")))
    [subnet] = [pool["subnet"] for pool in document["networks"]["default"]["ipam"]["config"]]
    assert ipaddress.ip_address(address) in ipaddress.ip_network(subnet)


@pytest.mark.parametrize(
    "sent",
    [None, "172.18.0.5", "10.9.0.1, 172.18.0.5", "198.51.100.1, 10.9.0.1, 172.18.0.5"],
)
def test_a_client_cannot_choose_the_address_the_replicas_rate_limit(
    services: dict[str, dict[str, Any]],
    api_environment: dict[str, str],
    load_balancer: str,
    sent: str | None,
) -> None:
    """A request through nginx, as the two files configure it, reaches the app with the client's
    own address, whatever X-Forwarded-For it sent; one that reaches a replica from elsewhere on
    the network keeps its connecting address."""
    from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

    proxy = _load_balancer_address(services, load_balancer)
    headers = {
        words[0].lower(): words[1] for words in _directives(_nginx_text(), "proxy_set_header")
    }
    client = "203.0.113.7"

    def forwarded(remote: str, incoming: str | None) -> str:
        # nginx's two variables, as its documentation defines them.
        template = headers["x-forwarded-for"]
        if template == "$remote_addr":
            return remote
        assert template == "$proxy_add_x_forwarded_for", template
        return f"{incoming}, {remote}" if incoming else remote

    def seen(peer: str, xff: str | None) -> str:
        found: list[str] = []

        async def app(scope: Any, receive: Any, send: Any) -> None:
            found.append(scope["client"][0])

        middleware = ProxyHeadersMiddleware(
            app, trusted_hosts=api_environment["FORWARDED_ALLOW_IPS"]
        )
        raw = [] if xff is None else [(b"x-forwarded-for", xff.encode())]
        scope = {"type": "http", "client": (peer, 40000), "headers": raw, "scheme": "http"}
        asyncio.run(middleware(scope, None, None))  # type: ignore[arg-type]
        return found[0]

    assert seen(proxy, forwarded(client, sent)) == client
    assert seen("172.31.250.3", sent) == "172.31.250.3"


def test_the_shipped_configuration_limits_the_rate_per_client(
    api_environment: dict[str, str],
) -> None:
    from limits import parse_many

    for rate in (api_environment.get("QA_RATE_LIMIT", ""), _dockerfile_env()["QA_RATE_LIMIT"]):
        items = parse_many(rate)
        assert items, rate
        per_minute = min(item.amount * 60 / item.get_expiry() for item in items)
        assert per_minute <= 120, rate


def _dockerfile_env() -> dict[str, str]:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    found: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            found.update(re.findall(r"([A-Z_][A-Z0-9_]*)=(\S+)", line))
    return found
