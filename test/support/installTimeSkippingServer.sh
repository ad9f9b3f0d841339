#!/usr/bin/env bash
# Installs Temporal's time-skipping test server (the Java one that TestWorkflowEnvironment.createTimeSkipping
# runs) from Maven Central, and prints the path of its launcher on stdout. Idempotent: a second run
# only prints the path.
#
# The SDK would download a native build of it from GitHub, which machines that reach only package
# registries cannot; the same server is published on Maven Central as io.temporal:temporal-test-server,
# run here by a JRE with its dependencies on the class path (about 40 MiB, 30 s on a fresh machine).
# Needs java (17 or later) and mvn; as root, missing ones come from apt-get (default-jre-headless, maven).
# PROCTOR_TEST_SERVER_DIR overrides where it goes.
set -euo pipefail

VERSION=1.38.0
dir="${PROCTOR_TEST_SERVER_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/proctor/temporal-test-server-$VERSION}"
launcher="$dir/temporal-test-server"

say() { printf '[time-skipping server] %s\n' "$*" >&2; }

if [ -x "$launcher" ] && [ -f "$dir/.complete" ]; then
  printf '%s\n' "$launcher"
  exit 0
fi

missing=()
command -v java >/dev/null || missing+=(default-jre-headless)
command -v mvn >/dev/null || missing+=(maven)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    say "needs ${missing[*]} (not installed, and not root to apt-get them)"
    exit 1
  fi
  say "apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

say "fetching io.temporal:temporal-test-server:$VERSION and its dependencies into $dir"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cat >"$work/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>proctor.test</groupId>
  <artifactId>time-skipping-server</artifactId>
  <version>1</version>
  <dependencies>
    <dependency>
      <groupId>io.temporal</groupId>
      <artifactId>temporal-test-server</artifactId>
      <version>$VERSION</version>
    </dependency>
  </dependencies>
</project>
EOF
rm -rf "$dir/lib" "$dir/.complete"
mkdir -p "$dir"
mvn -q -B -f "$work/pom.xml" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$dir/lib" >&2

# The SDK gives the server five seconds to listen, which a cold JVM loading gRPC on a busy two-core
# machine can miss; a class-data archive of one start (below) brings a start from about 2.5 s to
# under one. A quick compiler and the serial collector suit a server this small, as does a heap cap.
# The SDK starts it as `<launcher> <port>`, the arguments TestServer's main takes. The JVM goes when
# the launcher or the test process that started it does, however they end: a test file killed
# before its teardown leaves no server behind.
cat >"$launcher" <<EOF
#!/bin/sh
archive=''
[ -f '$dir/classes.jsa' ] && archive='-XX:SharedArchiveFile=$dir/classes.jsa'
java \$archive -Xshare:auto -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx512m \\
  -cp '$dir/lib/*' io.temporal.testserver.TestServer "\$@" &
server=\$!
launcher=\$\$
parent=\$PPID
trap 'kill \$server 2>/dev/null' TERM INT HUP
(
  while kill -0 "\$parent" 2>/dev/null && kill -0 "\$launcher" 2>/dev/null && kill -0 "\$server" 2>/dev/null; do
    sleep 1
  done
  kill "\$server" 2>/dev/null
) &
wait "\$server"
EOF
chmod +x "$launcher"

# One start that records the classes it loads, stopped once it listens (or after 30 s).
rm -f "$dir/classes.jsa"
port=$((20000 + RANDOM % 20000))
java -XX:ArchiveClassesAtExit="$dir/classes.jsa" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx512m \
  -cp "$dir/lib/*" io.temporal.testserver.TestServer "$port" >/dev/null 2>&1 &
server=$!
for _ in $(seq 1 300); do
  (: <"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  kill -0 "$server" 2>/dev/null || break
  sleep 0.1
done
kill "$server" 2>/dev/null || true
wait "$server" 2>/dev/null || true
[ -f "$dir/classes.jsa" ] || say 'no class-data archive was written; the server starts more slowly without it'

touch "$dir/.complete"
printf '%s\n' "$launcher"
