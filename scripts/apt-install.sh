# Sourced by the ensure-*.sh scripts: `apt_install NAME PACKAGE NEED` installs Debian's PACKAGE
# with apt (as root; otherwise it says what to run and fails). NAME prefixes the messages,
# NEED says what the tests need it for.
apt_install() {
  local name="$1" package="$2" need="$3"
  echo "$name: installing Debian's $package package"
  if [ "$(id -u)" != "0" ]; then
    echo "$name: run 'apt-get install $package' as root ($need)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || true  # a stale list still installs from the local mirror
  apt-get install -y -qq "$package" >/dev/null
}
