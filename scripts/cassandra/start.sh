#!/usr/bin/env bash
# Starts a single-node Apache Cassandra 5.0 on 127.0.0.1 for tests and waits until it
# accepts CQL queries. The server jars come from Maven Central, so no Docker engine and
# no Cassandra download site is needed. See common.sh for the settings and their
# environment variables.
#
# Exits 0 with the node running in the background, also when a node started by this
# script already accepts queries. Exits 1 with the end of the node's log otherwise.
# Data is thrown away at each start unless MARQUEE_CASSANDRA_KEEP_DATA=1.
set -euo pipefail

# shellcheck source=common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"

# Version of the cassandra-driver Python package used for the readiness query.
CQL_DRIVER_VERSION=3.30.1

log() {
    echo "cassandra: $*" >&2
}

print_log_tail() {
    local file
    for file in "$CASSANDRA_LOG_FILE" "$CASSANDRA_STDOUT_FILE"; do
        if [[ -s $file ]]; then
            echo "----- last 50 lines of $file -----" >&2
            tail -n 50 "$file" >&2
        fi
    done
}

# Installs Java 17 and Maven from Debian's packages when they are missing.
# Debian 12's maven package runs on its default JRE, which is OpenJDK 17.
# NOTE: the Java install has not run on a machine without Java 17, because the images in use ship it.
install_prerequisites() {
    local -a packages=()
    if [[ ! -x $CASSANDRA_JAVA_HOME/bin/java ]]; then
        if [[ $CASSANDRA_JAVA_HOME != /usr/lib/jvm/java-17-openjdk-amd64 ]]; then
            log "Java not found at $CASSANDRA_JAVA_HOME/bin/java; fix MARQUEE_CASSANDRA_JAVA_HOME"
            exit 1
        fi
        packages+=(openjdk-17-jre-headless)
    fi
    if ! command -v mvn >/dev/null; then
        packages+=(maven)
    fi
    if ((${#packages[@]} == 0)); then
        return
    fi

    log "installing ${packages[*]} with apt-get"
    if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${packages[@]}" >/dev/null; }; then
        log "apt-get failed to install ${packages[*]}"
        exit 1
    fi
}

# Downloads cassandra-all and its runtime dependencies into $CASSANDRA_HOME/lib.
# The jars land in lib.partial first and are renamed to lib only when Maven succeeds,
# so an existing lib folder is always complete.
assemble() {
    local maven_dir=$CASSANDRA_HOME/maven
    local partial=$CASSANDRA_HOME/lib.partial

    mkdir -p "$maven_dir"
    cat >"$maven_dir/pom.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by scripts/cassandra/start.sh to collect the Cassandra server jars. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>marquee.local</groupId>
  <artifactId>cassandra-server-jars</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.cassandra</groupId>
      <artifactId>cassandra-all</artifactId>
      <version>$CASSANDRA_VERSION</version>
    </dependency>
  </dependencies>
  <build>
    <pluginManagement>
      <plugins>
        <plugin>
          <groupId>org.apache.maven.plugins</groupId>
          <artifactId>maven-dependency-plugin</artifactId>
          <version>3.8.1</version>
        </plugin>
      </plugins>
    </pluginManagement>
  </build>
</project>
EOF

    rm -rf "$partial"
    # Maven may log an ERROR about system-scoped JMC artifacts declared in
    # cassandra-parent. The jars are still complete, so only the exit code counts.
    if ! JAVA_HOME=$CASSANDRA_JAVA_HOME mvn -B -q -f "$maven_dir/pom.xml" \
        dependency:copy-dependencies -DincludeScope=runtime \
        -DoutputDirectory="$partial" >"$maven_dir/mvn.log" 2>&1; then
        log "Maven failed to download cassandra-all $CASSANDRA_VERSION:"
        tail -n 50 "$maven_dir/mvn.log" >&2
        exit 1
    fi
    if [[ ! -f $partial/cassandra-all-$CASSANDRA_VERSION.jar ]]; then
        log "Maven finished but $partial has no cassandra-all-$CASSANDRA_VERSION.jar"
        exit 1
    fi

    rm -rf "${CASSANDRA_HOME:?}/lib"
    mv "$partial" "$CASSANDRA_HOME/lib"
}

# Installs cassandra-driver into $CASSANDRA_VENV for the readiness query. On failure
# the venv is removed and readiness falls back to the log line plus a TCP connect.
install_cql_client() {
    if [[ -x $CASSANDRA_VENV/bin/python ]] &&
        "$CASSANDRA_VENV/bin/python" -c 'import cassandra.cluster' 2>/dev/null; then
        return
    fi
    if ! command -v python3 >/dev/null; then
        log "python3 not found: readiness is checked by log line and TCP connect only"
        return
    fi

    log "installing cassandra-driver $CQL_DRIVER_VERSION into $CASSANDRA_VENV"
    rm -rf "$CASSANDRA_VENV"
    if ! { python3 -m venv "$CASSANDRA_VENV" &&
        "$CASSANDRA_VENV/bin/pip" install -q --disable-pip-version-check \
            "cassandra-driver==$CQL_DRIVER_VERSION" &&
        "$CASSANDRA_VENV/bin/python" -c 'import cassandra.cluster'; } >&2; then
        log "installing cassandra-driver failed: readiness is checked by log line and TCP connect only"
        rm -rf "$CASSANDRA_VENV"
    fi
}

# Writes cassandra.yaml and logback.xml into $CASSANDRA_RUN_DIR/conf.
# Cassandra 5.0 rejects unknown and pre-5.0 key names in cassandra.yaml.
write_config() {
    local conf=$CASSANDRA_RUN_DIR/conf
    mkdir -p "$conf"

    cat >"$conf/cassandra.yaml" <<EOF
# Written by scripts/cassandra/start.sh for one test node on loopback without authentication.
cluster_name: marquee-test
num_tokens: 1
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
endpoint_snitch: SimpleSnitch
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "$CASSANDRA_HOST:$CASSANDRA_STORAGE_PORT"
listen_address: $CASSANDRA_HOST
rpc_address: $CASSANDRA_HOST
storage_port: $CASSANDRA_STORAGE_PORT
native_transport_port: $CASSANDRA_PORT
start_native_transport: true
commitlog_sync: periodic
commitlog_sync_period: 10000ms
commitlog_segment_size: 5MiB
authenticator: AllowAllAuthenticator
authorizer: AllowAllAuthorizer
# Without this, every DROP or TRUNCATE in a test leaves a snapshot on disk.
auto_snapshot: false
memtable_allocation_type: heap_buffers
disk_access_mode: standard
EOF

    cat >"$conf/logback.xml" <<EOF
<!-- Written by scripts/cassandra/start.sh. -->
<configuration scan="false">
  <appender name="FILE" class="ch.qos.logback.core.FileAppender">
    <file>$CASSANDRA_LOG_FILE</file>
    <append>true</append>
    <encoder>
      <pattern>%-5level [%thread] %date{ISO8601} %F:%L - %msg%n</pattern>
    </encoder>
  </appender>
  <root level="INFO">
    <appender-ref ref="FILE"/>
  </root>
</configuration>
EOF
}

# Starts the JVM in its own session, so it outlives this script and its terminal,
# and writes its PID file.
launch() {
    local lib=$CASSANDRA_HOME/lib
    local -a jamm_jars=("$lib"/jamm-*.jar)
    local jamm=${jamm_jars[0]}
    if [[ ! -f $jamm ]]; then
        log "no jamm jar in $lib; delete $CASSANDRA_HOME to assemble it again"
        exit 1
    fi

    # Module flags from Cassandra 5.0's conf/jvm17-server.options.
    local -a module_flags=(
        -Djdk.attach.allowAttachSelf=true
        --add-exports java.base/jdk.internal.misc=ALL-UNNAMED
        --add-exports java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED
        --add-exports java.rmi/sun.rmi.registry=ALL-UNNAMED
        --add-exports java.rmi/sun.rmi.server=ALL-UNNAMED
        --add-exports java.sql/java.sql=ALL-UNNAMED
        --add-exports java.base/java.lang.ref=ALL-UNNAMED
        --add-exports jdk.unsupported/sun.misc=ALL-UNNAMED
        --add-exports jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED
        --add-exports jdk.attach/sun.tools.attach=ALL-UNNAMED
        --add-exports java.management/com.sun.jmx.remote.security=ALL-UNNAMED
        --add-opens java.base/java.lang.module=ALL-UNNAMED
        --add-opens java.base/jdk.internal.loader=ALL-UNNAMED
        --add-opens java.base/jdk.internal.ref=ALL-UNNAMED
        --add-opens java.base/jdk.internal.reflect=ALL-UNNAMED
        --add-opens java.base/jdk.internal.math=ALL-UNNAMED
        --add-opens java.base/jdk.internal.module=ALL-UNNAMED
        --add-opens java.base/jdk.internal.util.jar=ALL-UNNAMED
        --add-opens jdk.management/com.sun.management.internal=ALL-UNNAMED
        --add-opens java.base/sun.nio.ch=ALL-UNNAMED
        --add-opens java.base/java.io=ALL-UNNAMED
        --add-opens java.base/java.lang.reflect=ALL-UNNAMED
        --add-opens jdk.compiler/com.sun.tools.javac=ALL-UNNAMED
        --add-opens java.base/java.lang=ALL-UNNAMED
        --add-opens java.base/java.util=ALL-UNNAMED
        --add-opens java.base/java.nio=ALL-UNNAMED
    )
    local -a jvm_flags=(
        -Xms512m -Xmx1g -Xss256k -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError
        "-javaagent:$jamm"
        "${module_flags[@]}"
        -Dio.netty.tryReflectionSetAccessible=true
        -Djava.net.preferIPv4Stack=true
        -Dchronicle.analytics.disable=true
        "-Dcassandra.config=file://$CASSANDRA_RUN_DIR/conf/cassandra.yaml"
        -Dcassandra-foreground=yes
        "-Dcassandra.storagedir=$CASSANDRA_RUN_DIR/data"
        "-Dcassandra.logdir=$CASSANDRA_RUN_DIR/logs"
        "-Dlogback.configurationFile=$CASSANDRA_RUN_DIR/conf/logback.xml"
        # A single node has no peers to wait for.
        -Dcassandra.skip_wait_for_gossip_to_settle=0
        -Dcassandra.ring_delay_ms=1000
    )
    # Skipping the fsync of system tables speeds up schema changes, but a node
    # killed with -9 then loses its schema, and with it the tables' data. It is
    # used only when the data is thrown away at the next start anyway.
    if [[ ${MARQUEE_CASSANDRA_KEEP_DATA:-0} != 1 ]]; then
        jvm_flags+=(-Dcassandra.unsafesystem=true)
    fi

    cd "$CASSANDRA_RUN_DIR"
    # nohup and setsid both exec, so $! is the PID of the JVM itself. The JVM must not
    # inherit the lock on descriptor 9, or later runs of this script would wait forever.
    nohup setsid "$CASSANDRA_JAVA_HOME/bin/java" "${jvm_flags[@]}" \
        -cp "$CASSANDRA_RUN_DIR/conf:$lib/*" org.apache.cassandra.service.CassandraDaemon \
        >"$CASSANDRA_STDOUT_FILE" 2>&1 </dev/null 9>&- &
    echo "$!" >"$CASSANDRA_PID_FILE"
}

# Waits until the node runs `SELECT release_version FROM system.local`.
# On timeout the node is killed, so a half-started node does not keep its ports bound.
wait_until_ready() {
    local pid=$1 started=$SECONDS version
    while ((SECONDS - started < CASSANDRA_START_TIMEOUT)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            log "the node (PID $pid) exited during startup"
            rm -f "$CASSANDRA_PID_FILE"
            print_log_tail
            exit 1
        fi
        if grep -qs 'Starting listening for CQL clients' "$CASSANDRA_LOG_FILE" &&
            version=$(cassandra_query 2>/dev/null); then
            log "ready after $((SECONDS - started)) s: Cassandra $version, PID $pid, CQL on $CASSANDRA_HOST:$CASSANDRA_PORT"
            return
        fi
        sleep 1
    done

    log "timed out after $CASSANDRA_START_TIMEOUT s waiting for CQL on $CASSANDRA_HOST:$CASSANDRA_PORT; killing PID $pid"
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$CASSANDRA_PID_FILE"
    print_log_tail
    exit 1
}

main() {
    mkdir -p "$CASSANDRA_RUN_DIR/logs" "$CASSANDRA_HOME"

    # Serializes concurrent runs of this script for the same node.
    exec 9>"$CASSANDRA_RUN_DIR/start.lock"
    flock 9

    local pid version
    if pid=$(cassandra_running_pid); then
        if version=$(cassandra_query 2>/dev/null); then
            log "already running: Cassandra $version, PID $pid, CQL on $CASSANDRA_HOST:$CASSANDRA_PORT"
            exit 0
        fi
        log "PID $pid is running but does not accept CQL queries yet; waiting"
        install_cql_client
        wait_until_ready "$pid"
        exit 0
    fi
    rm -f "$CASSANDRA_PID_FILE"

    if cassandra_port_open; then
        log "port $CASSANDRA_PORT on $CASSANDRA_HOST is in use by a process that this script did not start; stop it or set MARQUEE_CASSANDRA_PORT"
        exit 1
    fi
    install_prerequisites

    local step_start=$SECONDS
    if [[ -f $CASSANDRA_HOME/lib/cassandra-all-$CASSANDRA_VERSION.jar ]]; then
        log "using Cassandra $CASSANDRA_VERSION assembled in $CASSANDRA_HOME"
    else
        log "assembling Cassandra $CASSANDRA_VERSION from Maven Central into $CASSANDRA_HOME"
        assemble
        log "assembled in $((SECONDS - step_start)) s"
    fi
    install_cql_client

    write_config
    if [[ ${MARQUEE_CASSANDRA_KEEP_DATA:-0} != 1 ]]; then
        rm -rf "$CASSANDRA_RUN_DIR/data"
    fi
    mkdir -p "$CASSANDRA_RUN_DIR/data"
    # The readiness check reads the log, so lines from an earlier run must not be in it.
    if [[ -f $CASSANDRA_LOG_FILE ]]; then
        mv "$CASSANDRA_LOG_FILE" "$CASSANDRA_LOG_FILE.previous"
    fi

    launch
    pid=$(<"$CASSANDRA_PID_FILE")
    log "started PID $pid; data and logs in $CASSANDRA_RUN_DIR"
    wait_until_ready "$pid"
}

main "$@"
