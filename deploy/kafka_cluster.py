"""Real Apache Kafka in KRaft mode, run from Maven Central's jars with the machine's Java.

deploy/kafka/pom.xml pins the version. `resolve_jars` asks Maven to copy the broker's
runtime classpath into a cache folder once; every broker then runs `kafka.Kafka` from it.
Each broker here is combined (broker + controller), so a three-broker cluster also has a
three-voter controller quorum: losing any one broker keeps both the quorum and, with
replication factor 3 and min.insync.replicas 2, acks=all writes.

With ``tls`` (the default in the launcher and the test fixtures) every listener speaks TLS
and demands a client certificate from the federation's TLS CA: clients, inter-broker and
the KRaft controller quorum. The StandardAuthorizer then allows only what ACLs grant
(deploy/kafka_acl.py); the brokers and the launcher's admin are the only super users.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
import re
import shutil
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from certs.tls import ADMIN_PRINCIPAL, TlsFiles, admin_files, broker_files, broker_principal, kafka_options
from deploy.processes import DeployError, ProcessRecord, kill, port_in_use, spawn, stop, tail, wait_for_port

KAFKA_DIR = Path(__file__).resolve().parent / "kafka"
POM = KAFKA_DIR / "pom.xml"
LOG4J2 = KAFKA_DIR / "log4j2.xml"
# A broker's client listener opens only after the JVM, the controller quorum, metadata and
# the authorizer are up: over a minute on a busy two-core machine with TLS everywhere.
START_TIMEOUT_S = 150


def kafka_version() -> str:
    """The Kafka version pinned in deploy/kafka/pom.xml."""
    match = re.search(r"<kafka.version>([^<]+)</kafka.version>", POM.read_text())
    if not match:
        raise DeployError(f"no <kafka.version> in {POM}")
    return match.group(1)


def cache_root() -> Path:
    return Path(os.environ.get("RISAI_CACHE", Path.home() / ".cache" / "risai-federation"))


def check_java() -> str:
    """The java executable, if it is Java 17 or later; otherwise a DeployError with the fix."""
    java = shutil.which("java")
    if java is None:
        raise DeployError("java not found on PATH; Kafka needs Java 17 or later: "
                          "apt-get install -y openjdk-17-jre-headless")
    out = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    match = re.search(r'version "(\d+)', out)
    if not match or int(match.group(1)) < 17:
        raise DeployError(f"Kafka 4 needs Java 17 or later, found: {out.splitlines()[:1]}; "
                          "apt-get install -y openjdk-17-jre-headless")
    return java


def resolve_jars() -> Path:
    """Resolve the broker's jars with Maven into the cache (once per pom content)."""
    pom_hash = hashlib.sha256(POM.read_bytes()).hexdigest()[:16]
    lib = cache_root() / f"kafka-{kafka_version()}-{pom_hash}" / "lib"
    marker = lib / ".complete"
    if marker.exists():
        return lib
    mvn = shutil.which("mvn")
    if mvn is None:
        raise DeployError("mvn not found on PATH; it resolves Kafka's jars from Maven Central: "
                          "apt-get install -y maven")
    tmp = lib.with_name("lib.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    result = subprocess.run(
        [mvn, "-q", "-B", "-f", str(POM), "dependency:copy-dependencies",
         f"-DoutputDirectory={tmp}", "-DincludeScope=runtime"],
        capture_output=True, text=True,
    )
    if result.returncode != 0:
        raise DeployError(f"Maven could not resolve Kafka's jars:\n{result.stdout[-2000:]}")
    shutil.rmtree(lib, ignore_errors=True)
    tmp.rename(lib)
    marker.write_text(kafka_version())
    return lib


@dataclasses.dataclass(frozen=True)
class BrokerSpec:
    """One broker: id, region (its broker.rack), client port and controller port."""

    id: int
    region: str
    port: int
    controller_port: int


@dataclasses.dataclass(frozen=True)
class KafkaTls:
    """The transport PKI folder a cluster's brokers and admin client take their files from."""

    pki_dir: Path

    def broker(self, broker_id: int) -> TlsFiles:
        return broker_files(self.pki_dir, broker_id)

    def admin_options(self) -> dict:
        """aiokafka keyword arguments for the launcher's admin (super user) identity."""
        return kafka_options(admin_files(self.pki_dir))

    def properties(self, broker_id: int, all_brokers) -> dict[str, object]:
        files = self.broker(broker_id)
        # Brokers are super users so inter-broker and controller traffic needs no ACLs;
        # the admin is the launcher. Nobody else is: nodes get exactly their ACLs.
        supers = [broker_principal(b) for b in all_brokers] + [ADMIN_PRINCIPAL]
        return {
            # PEM keystores (Kafka 2.7+, KIP-651): no Java keytool, the ceremony's files as-is.
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": files.keystore,
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": files.ca,
            "ssl.client.auth": "required",
            "ssl.endpoint.identification.algorithm": "https",
            "ssl.enabled.protocols": "TLSv1.3,TLSv1.2",
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "allow.everyone.if.no.acl.found": "false",
            "super.users": ";".join(supers),
        }


def new_cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, URL-safe base64 without padding.

    Drawn again when it starts with "-", as Kafka's own Uuid.randomUuid() does: the storage
    tool would read such an id as an option (one id in 64 did, and formatting failed).
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id


class KafkaCluster:
    """A KRaft cluster of combined broker/controller processes under one folder."""

    def __init__(self, root: Path, brokers: list[BrokerSpec], *, replication_factor: int,
                 min_insync_replicas: int, heap: str = "512m", host: str = "127.0.0.1",
                 tls: KafkaTls | None = None):
        if not brokers:
            raise DeployError("a Kafka cluster needs at least one broker")
        self.root = root
        self.brokers = {b.id: b for b in brokers}
        self.replication_factor = replication_factor
        self.min_insync_replicas = min_insync_replicas
        self.heap = heap
        self.host = host
        self.tls = tls

    def admin_options(self) -> dict:
        """aiokafka keyword arguments for an admin client ({} on a plaintext cluster)."""
        return self.tls.admin_options() if self.tls else {}

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(f"{self.host}:{b.port}" for b in self.brokers.values())

    def broker_dir(self, broker_id: int) -> Path:
        return self.root / f"broker-{broker_id}"

    def _state_path(self, broker_id: int) -> Path:
        return self.broker_dir(broker_id) / "process.json"

    def record(self, broker_id: int) -> ProcessRecord | None:
        """The running broker's process record, or None if it is not running."""
        path = self._state_path(broker_id)
        if not path.exists():
            return None
        rec = ProcessRecord.from_dict(json.loads(path.read_text()))
        return rec if rec.is_alive() else None

    def properties(self, spec: BrokerSpec) -> str:
        """server.properties for one broker."""
        voters = ",".join(f"{b.id}@{self.host}:{b.controller_port}" for b in self.brokers.values())
        rf, isr = self.replication_factor, self.min_insync_replicas
        name = "SSL" if self.tls else "PLAINTEXT"
        lines = {
            "process.roles": "broker,controller",
            "node.id": spec.id,
            "controller.quorum.voters": voters,
            "listeners": f"{name}://{self.host}:{spec.port},CONTROLLER://{self.host}:{spec.controller_port}",
            "advertised.listeners": f"{name}://{self.host}:{spec.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": name,
            "listener.security.protocol.map": f"{name}:{name},CONTROLLER:{name}",
            "broker.rack": spec.region,
            "log.dirs": self.broker_dir(spec.id) / "data",
            # Durability: every topic is replicated to rf brokers (one per region) and a
            # write with acks=all needs min.insync.replicas of them.
            "default.replication.factor": rf,
            "min.insync.replicas": isr,
            "offsets.topic.replication.factor": rf,
            "transaction.state.log.replication.factor": rf,
            "transaction.state.log.min.isr": isr,
            "unclean.leader.election.enable": "false",
            # A follower cut off by a partition leaves the ISR after 10 s instead of the
            # default 30 s: until then acks=all writes wait for it, and nodes fall back to
            # issuing with replication pending (seen in the region-isolated drill).
            "replica.lag.time.max.ms": 10000,
            # Topics are created on purpose (per node, with settings), never by a typo.
            "auto.create.topics.enable": "false",
            # Event topics keep their whole history so a wiped node can rebuild.
            "log.retention.ms": -1,
            "group.initial.rebalance.delay.ms": 0,
            "num.partitions": 3,
            **(self.tls.properties(spec.id, self.brokers) if self.tls else {}),
        }
        return "".join(f"{k}={v}\n" for k, v in lines.items())

    def format(self, cluster_id: str | None = None) -> str:
        """Write configs and format every unformatted broker's storage with one cluster id."""
        java, lib = check_java(), resolve_jars()
        id_path = self.root / "cluster.id"
        cluster_id = cluster_id or (id_path.read_text().strip() if id_path.exists() else new_cluster_id())
        self.root.mkdir(parents=True, exist_ok=True)
        id_path.write_text(cluster_id + "\n")
        for spec in self.brokers.values():
            folder = self.broker_dir(spec.id)
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "server.properties").write_text(self.properties(spec))
            if (folder / "data" / "meta.properties").exists():
                continue
            result = subprocess.run(
                [java, *self._jvm_flags(spec.id), "-cp", f"{lib}/*", "kafka.tools.StorageTool",
                 "format", f"--cluster-id={cluster_id}", "-c", str(folder / "server.properties")],
                capture_output=True, text=True,
            )
            if result.returncode != 0:
                raise DeployError(f"formatting broker {spec.id} failed: {result.stdout}{result.stderr}")
        return cluster_id

    def _jvm_flags(self, broker_id: int) -> list[str]:
        return [f"-Dlog4j2.configurationFile={LOG4J2}",
                f"-Dkafka.logs.dir={self.broker_dir(broker_id)}", "-Djava.awt.headless=true"]

    def start_broker(self, broker_id: int, *, wait: bool = True) -> ProcessRecord:
        """Start one broker (idempotent: a running broker is left alone)."""
        running = self.record(broker_id)
        if running is not None:
            return running
        spec = self.brokers[broker_id]
        for port in (spec.port, spec.controller_port):
            if port_in_use(port, self.host):
                raise DeployError(f"port {port} for Kafka broker {broker_id} is already in use by "
                                  "another program; free it or choose other ports")
        java, lib = check_java(), resolve_jars()
        folder = self.broker_dir(broker_id)
        argv = [java, f"-Xmx{self.heap}", f"-Xms{self.heap}", "-XX:+UseG1GC",
                *self._jvm_flags(broker_id), "-cp", f"{lib}/*", "kafka.Kafka",
                str(folder / "server.properties")]
        rec = spawn(f"kafka-broker-{broker_id}", argv, folder / "stdout.log")
        self._state_path(broker_id).write_text(json.dumps(rec.to_dict()))
        if wait:
            try:
                wait_for_port(spec.port, timeout=START_TIMEOUT_S, host=self.host, alive=rec)
            except DeployError as exc:
                raise DeployError(f"{exc}\n{tail(folder / 'server.log')}") from exc
        return rec

    def start(self) -> None:
        """Format (first time only) and start every broker, then wait for their ports."""
        self.format()
        for broker_id in self.brokers:
            self.start_broker(broker_id, wait=False)
        for broker_id, spec in self.brokers.items():
            wait_for_port(spec.port, timeout=START_TIMEOUT_S, host=self.host, alive=self.record(broker_id))

    def stop_broker(self, broker_id: int) -> bool:
        """Stop one broker cleanly (SIGTERM, then SIGKILL after 30 s)."""
        rec = self.record(broker_id)
        return stop(rec, timeout=30) if rec is not None else False

    def kill_broker(self, broker_id: int) -> bool:
        """SIGKILL one broker at once (for failure tests)."""
        rec = self.record(broker_id)
        return kill(rec) if rec is not None else False

    def stop(self) -> None:
        """Stop every broker at once: stopped one by one, the last ones would wait for a
        controller quorum that the earlier stops already took away."""
        with ThreadPoolExecutor(max_workers=len(self.brokers)) as pool:
            list(pool.map(self.stop_broker, self.brokers))
