#!/usr/bin/env bash
# Prepares bench/gpu/bundle for torch-check.sh, on a machine with JDK 25 and Maven (the GPU
# machine has neither, nor network): a jlink'd Java runtime, the shaded jar (engine, bindings,
# TorchCheck), the bindings test classes and the JUnit console launcher. About 55 MB; it travels
# to the GPU machine as a carried path (bench/gpu/bundle is git-ignored).
set -euo pipefail
cd "$(dirname "$0")/../.."
. bin/lib/java-env.sh
B=bench/gpu/bundle
JUNIT_PLATFORM=1.14.1 # the platform release of the JUnit 5.14.1 the build uses
rm -rf "$B"
mkdir -p "$B"
mvn -B -ntp -q package -DskipTests
cp bench/target/benchmarks.jar "$B/"
cp -r bindings/target/test-classes "$B/bindings-test-classes"
mvn -B -ntp -q org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
  -Dartifact="org.junit.platform:junit-platform-console-standalone:$JUNIT_PLATFORM" \
  -DoutputDirectory="$PWD/$B"
mv "$B/junit-platform-console-standalone-$JUNIT_PLATFORM.jar" "$B/junit-console.jar"
# java.logging and java.management: JUnit's launcher; java.xml: its XML reports.
jlink --add-modules java.base,java.logging,java.management,java.xml,jdk.unsupported \
  --strip-debug --no-man-pages --no-header-files --compress=zip-9 --output "$B/jre"
du -sh "$B"
echo "bundle ready: $B (carry it: run(command='bench/gpu/torch-check.sh', carry=['$B']))"
