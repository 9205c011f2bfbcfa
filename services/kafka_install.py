"""The Kafka installation: a check of Java and the broker's jars from Maven Central."""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from pathlib import Path

from filelock import FileLock

from services.exceptions import ServiceError

logger = logging.getLogger(__name__)

POM_FILE = Path(__file__).with_name("kafka-pom.xml")
"""Maven project whose dependencies are the broker's jars."""
MIN_JAVA = 17
"""Oldest Java that Kafka 4 brokers run on."""


def cache_dir() -> Path:
    """Folder shared by every data folder and checkout for downloaded installations."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "election-pipeline"


def install_kafka(version: str) -> Path:
    """The folder of the jars of Kafka `version`, fetched with Maven the first time.

    The jars land in `cache_dir()/kafka-<version>/libs`, which `reset` keeps, and
    Maven keeps its own copy in ~/.m2, so a second machine user or a new data
    folder does not download them again.

    Raises:
        ServiceError: when `mvn` is missing or cannot resolve the version.
    """
    home = cache_dir() / f"kafka-{version}"
    libs = home / "libs"
    done = home / "installed"
    if done.exists():
        return libs

    home.mkdir(parents=True, exist_ok=True)
    with FileLock(str(home / "install.lock")):
        if done.exists():
            return libs
        mvn = shutil.which("mvn")
        if mvn is None:
            raise ServiceError(
                "kafka",
                f"Kafka {version} is not installed in {libs} and there is no `mvn` "
                "on PATH to fetch it: install Maven (apt-get install -y maven)",
            )
        logger.info("fetching Kafka %s jars from Maven Central into %s", version, libs)
        shutil.copyfile(POM_FILE, home / "pom.xml")
        staging = home / "libs.partial"
        shutil.rmtree(staging, ignore_errors=True)
        result = subprocess.run(
            [
                mvn,
                "-q",
                "-B",
                "-f",
                str(home / "pom.xml"),
                f"-Dkafka.version={version}",
                f"-DoutputDirectory={staging}",
                "-DincludeScope=runtime",
                "dependency:copy-dependencies",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        broker_jar = staging / f"kafka_2.13-{version}.jar"
        if result.returncode != 0 or not broker_jar.exists():
            output = "\n".join((result.stdout + result.stderr).splitlines()[-20:])
            raise ServiceError(
                "kafka",
                f"mvn could not fetch org.apache.kafka:kafka_2.13:{version} "
                f"(exit {result.returncode}): check ELECTION_KAFKA_VERSION names a "
                "release on Maven Central and that Maven Central is reachable",
                log_tail=output,
            )
        shutil.rmtree(libs, ignore_errors=True)
        staging.rename(libs)
        done.write_text(f"{version}\n")
    count = len(list(libs.glob("*.jar")))
    logger.info("installed Kafka %s: %d jars in %s", version, count, libs)
    return libs


def check_java() -> str:
    """The path of a `java` new enough for the broker.

    Raises:
        ServiceError: when `java` is missing or older than Java 17.
    """
    java = shutil.which("java")
    if java is None:
        raise ServiceError(
            "kafka",
            f"there is no `java` on PATH: the broker needs Java {MIN_JAVA} or newer "
            "(apt-get install -y openjdk-17-jre-headless)",
        )
    result = subprocess.run(
        [java, "-version"], capture_output=True, text=True, check=False
    )
    found = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr + result.stdout)
    if found is None:
        raise ServiceError(
            "kafka",
            f"cannot tell the version of {java}: `java -version` printed "
            f"{result.stderr.strip()!r}; install Java {MIN_JAVA} or newer",
        )
    major = int(found.group(1))
    if major == 1 and found.group(2):
        major = int(found.group(2))
    if major < MIN_JAVA:
        raise ServiceError(
            "kafka",
            f"{java} is Java {major}, but the broker needs Java {MIN_JAVA} or newer: "
            "install it (apt-get install -y openjdk-17-jre-headless) and put it "
            "first on PATH",
        )
    return java
