# Sourced by flowscale's scripts: finds a JDK 25+ and exports JAVA_HOME and PATH.
# Respects JAVA_HOME when it is 25 or newer; otherwise looks in /usr/lib/jvm.
# Also requires Maven unless FLOWSCALE_NEED_MAVEN=0 (running a built jar needs only Java).

flowscale_java_major() {
  # Prints the feature version of the JDK at $1, or nothing.
  local rel="$1/release"
  [ -x "$1/bin/java" ] && [ -x "$1/bin/javac" ] || return 0
  if [ -f "$rel" ]; then
    sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$rel"
  fi
}

flowscale_find_jdk() {
  local cand major
  if [ -n "${JAVA_HOME:-}" ]; then
    major=$(flowscale_java_major "$JAVA_HOME")
    if [ -n "$major" ] && [ "$major" -ge 25 ]; then
      return 0
    fi
  fi
  for cand in /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/*; do
    major=$(flowscale_java_major "$cand")
    if [ -n "$major" ] && [ "$major" -ge 25 ]; then
      export JAVA_HOME="$cand"
      return 0
    fi
  done
  echo "flowscale: no JDK 25 or newer found (JAVA_HOME=${JAVA_HOME:-unset}, searched /usr/lib/jvm)." >&2
  echo "flowscale: install one (e.g. Temurin 25) and set JAVA_HOME to it." >&2
  return 1
}

flowscale_find_jdk || exit 1
export PATH="$JAVA_HOME/bin:$PATH"
if [ "${FLOWSCALE_NEED_MAVEN:-1}" != 0 ] && ! command -v mvn >/dev/null 2>&1; then
  echo "flowscale: Maven (mvn) is not on the PATH; on Debian: apt-get install maven" >&2
  exit 1
fi
