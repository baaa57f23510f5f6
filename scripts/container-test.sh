#!/usr/bin/env bash
# Build the project's real Dockerfile without a Docker daemon or a container registry, with
# Debian's podman, on a Debian base image made here with debootstrap; then (`test`) run the
# image's test, tests/test_container.py.
#
#   scripts/container-test.sh [test] [PYTEST ARGS]   build, then pytest tests/test_container.py
#   scripts/container-test.sh build                  build; print IMAGE=, BASE_IMAGE=, CONTAINERS_CONF=
#   scripts/container-test.sh base                   only the local base image
#
# Idempotent and cached: the base (debootstrap --variant=minbase + python3, python3-venv,
# python3-pip, ca-certificates) is built once per cache key and kept as a tarball in the cache
# folder and as a tagged image in podman's storage; podman's layer cache keeps the Chromium
# layer, so a warm build only reinstalls the project. As root on Debian, podman and debootstrap
# are installed when missing.
#
# What this sandbox needs, handled here rather than by hand:
# - the runtime cannot raise rlimits and cgroups are hybrid (v1 + a v2 mount): a containers.conf
#   (CONTAINERS_CONF) with runtime "runc", cgroupfs, and default_ulimits at this machine's hard
#   limits (podman's default nofile of 1048576 cannot be set);
# - pip inside the build does not see this machine's pip configuration or its package-index CA
#   certificates: the certificates (local CAs, and the file pip's `cert` names) go into the base's
#   trust store, and the usable pip settings (index URLs, trusted hosts, timeout, retries; not
#   local find-links or constraints) into the base's /etc/pip.conf;
# - `--format docker`: the default OCI format silently drops HEALTHCHECK;
# - builds use the host network (no bridge or NAT is set up for them).
#
# Exit status: 0 built, 3 containers cannot be built or run here (no podman and not root on
# Debian, podman cannot start a container), 1 any other failure (a real build error).
#
# Environment: AMH_CONTAINER_CACHE (cache folder; default /var/cache/admin-metrics-ci as root,
# else $XDG_CACHE_HOME/admin-metrics-ci), AMH_IMAGE (default localhost/admin-metrics-history:test),
# AMH_BASE_MIRROR (a Debian mirror for debootstrap; default: debootstrap's own).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
cd "$REPO"
COMMAND="${1:-test}"
[[ $# -gt 0 ]] && shift

TOOLS_PACKAGES=(podman buildah runc fuse-overlayfs slirp4netns uidmap catatonit debootstrap)
BASE_SUITE=bookworm
BASE_INCLUDE=python3,python3-venv,python3-pip,ca-certificates
BASE_REVISION=1 # bump to rebuild every cached base
IMAGE="${AMH_IMAGE:-localhost/admin-metrics-history:test}"
if [[ -n "${AMH_CONTAINER_CACHE:-}" ]]; then
  CACHE="$AMH_CONTAINER_CACHE"
elif [[ $(id -u) -eq 0 ]]; then
  CACHE=/var/cache/admin-metrics-ci
else
  CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/admin-metrics-ci"
fi
mkdir -p "$CACHE"

log() { echo "container-test: $*" >&2; }
die() {
  log "$*"
  exit 1
}
# Exit 3: containers cannot be built or run on this machine at all (the test skips, saying why).
cannot() {
  log "$*"
  exit 3
}
elapsed() { echo $((SECONDS - $1)); }

# --- podman and debootstrap ---------------------------------------------------------------
ensure_tools() {
  local missing=()
  for pkg in "${TOOLS_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    local started=$SECONDS
    log "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    log "installed in $(elapsed "$started") s"
  elif ! command -v podman >/dev/null; then
    cannot "podman is not installed (as root on Debian: apt-get install ${TOOLS_PACKAGES[*]})"
  fi
}

# --- containers.conf ------------------------------------------------------------------------
hard_limit() {
  local value
  value="$(ulimit -H "$1")"
  [[ "$value" == unlimited ]] && value="$2"
  echo "$value"
}

# podman build's RUN steps do not take default_ulimits (buildah raises nproc on its own), so
# the same limits also go to `podman build --ulimit`.
ULIMITS=()
write_containers_conf() {
  local nofile="$1" nproc="$2" conf="$CACHE/containers.conf"
  cat >"$conf.new" <<EOF
# Written by scripts/container-test.sh: limits this sandbox's runtime can set (it cannot raise
# rlimits, so podman's defaults fail), runc with cgroupfs (hybrid cgroups, no systemd),
# events to a file.
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
  mv "$conf.new" "$conf"
  export CONTAINERS_CONF="$conf"
  ULIMITS=(--ulimit "nofile=$nofile:$nofile" --ulimit "nproc=$nproc:$nproc")
}

# The highest limits a container can start with: this shell's hard limits, but the runtime
# here cannot set nproc as high as that (it sets the limits on its child from a process with
# lower ones), so halve nproc until a container starts.
probe_ulimits() {
  local nofile nproc err="$CACHE/probe.err"
  nofile="$(hard_limit -n 1048576)"
  nproc="$(hard_limit -u 4194304)"
  while true; do
    write_containers_conf "$nofile" "$nproc"
    if podman run --rm --network none "$BASE_IMAGE" true 2>"$err"; then
      log "containers.conf: nofile=$nofile nproc=$nproc ($CONTAINERS_CONF)"
      return
    fi
    grep -q "rlimit" "$err" && ((nproc > 1024)) || cannot "podman cannot run a container here: $(tail -3 "$err")"
    nproc=$((nproc / 2))
  done
}

# --- the local base image -------------------------------------------------------------------
# Every certificate file this machine's package clients trust beyond Debian's own bundle.
host_ca_files() {
  if [[ -d /usr/local/share/ca-certificates ]]; then
    find /usr/local/share/ca-certificates -type f -name '*.crt' | sort
  fi
  local cert
  cert="${PIP_CERT:-$(pip_config global.cert)}"
  if [[ -n "$cert" && -f "$cert" && "$(readlink -f "$cert")" != /etc/ssl/certs/ca-certificates.crt ]]; then
    echo "$cert"
  fi
}

pip_config() {
  python3 -m pip config get "$1" 2>/dev/null || true
}

# The machine's pip settings that mean the same inside a container: index URLs over the
# network, trusted hosts, timeout and retries. Local paths (find-links, file:// indexes,
# constraints) and the machine's own cert path are left out; certificates go to the trust store.
base_pip_conf() {
  local config
  config="$(python3 -m pip config list 2>/dev/null || true)"
  AMH_PIP_CONFIG_LIST="$config" python3 - <<'PY'
import os
import re

settings: dict[str, str] = {}
for line in os.environ.get("AMH_PIP_CONFIG_LIST", "").splitlines():
    match = re.match(r"^(global|install)\.([\w-]+)='(.*)'$", line)
    if match:
        settings[match.group(2)] = match.group(3)
for key, value in os.environ.items():
    if key.startswith("PIP_"):
        settings[key[4:].lower().replace("_", "-")] = value
settings.setdefault("timeout", settings.get("default-timeout", ""))

lines = ["[global]", "cert = /etc/ssl/certs/ca-certificates.crt"]
for key in ("index-url", "extra-index-url"):
    urls = [u for u in settings.get(key, "").split() if u.startswith(("http://", "https://"))]
    if urls:
        lines.append(f"{key} = {' '.join(urls)}")
for key in ("trusted-host", "timeout", "retries"):
    if settings.get(key):
        lines.append(f"{key} = {settings[key]}")
print("\n".join(lines))
PY
}

debian_sources() {
  # The machine's Debian sources (same mirror and suites for apt inside the build), else
  # debootstrap's own sources.list is kept.
  local file
  for file in /etc/apt/sources.list.d/debian.sources; do
    [[ -f "$file" ]] && cat "$file"
  done
  return 0
}

base_key() {
  {
    echo "$BASE_REVISION $BASE_SUITE $BASE_INCLUDE $(dpkg --print-architecture) ${AMH_BASE_MIRROR:-}"
    base_pip_conf
    debian_sources
    host_ca_files | while read -r file; do cat "$file"; done
  } | sha256sum | cut -c1-12
}

build_base() {
  local key tag tarball started=$SECONDS
  key="$(base_key)"
  tag="localhost/admin-metrics-base:$BASE_SUITE-$key"
  tarball="$CACHE/base-$BASE_SUITE-$key.tar.gz"
  BASE_IMAGE="$tag"
  if podman image exists "$tag"; then
    log "base $tag present"
    return
  fi
  if [[ ! -s "$tarball" ]]; then
    [[ $(id -u) -eq 0 ]] || cannot "building the base needs root (debootstrap); tarball $tarball missing"
    local root="$CACHE/rootfs.tmp"
    rm -rf "$root"
    log "debootstrap --variant=minbase $BASE_SUITE (+ $BASE_INCLUDE) into $root"
    # shellcheck disable=SC2086 # the mirror is optional
    debootstrap --variant=minbase --include="$BASE_INCLUDE" "$BASE_SUITE" "$root" \
      ${AMH_BASE_MIRROR:-} >"$CACHE/debootstrap.log" 2>&1 ||
      die "debootstrap failed, see $CACHE/debootstrap.log: $(tail -3 "$CACHE/debootstrap.log")"
    if [[ -n "$(debian_sources)" ]]; then
      debian_sources >"$root/etc/apt/sources.list.d/debian.sources"
      rm -f "$root/etc/apt/sources.list"
    fi
    install -d "$root/usr/local/share/ca-certificates/host"
    local n=0 file
    while read -r file; do
      n=$((n + 1))
      cp "$file" "$root/usr/local/share/ca-certificates/host/$n-$(basename "$file" .crt).crt"
    done < <(host_ca_files)
    chroot "$root" update-ca-certificates >/dev/null
    base_pip_conf >"$root/etc/pip.conf"
    log "base pip.conf: $(tr '\n' ' ' <"$root/etc/pip.conf"); $n host CA file(s)"
    chroot "$root" apt-get clean
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/log/*.log
    rm -f "$CACHE"/base-"$BASE_SUITE"-*.tar.gz # older keys
    tar --numeric-owner -C "$root" -czf "$tarball.new" .
    mv "$tarball.new" "$tarball"
    rm -rf "$root"
  fi
  log "podman import $tarball"
  podman import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["/bin/bash"]' \
    "$tarball" "$tag" >/dev/null
  log "base $tag ready in $(elapsed "$started") s"
}

# --- the image ------------------------------------------------------------------------------
build_image() {
  local started=$SECONDS old new buildlog="$CACHE/build.log"
  old="$(podman image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)"
  log "podman build --format docker --build-arg PYTHON_IMAGE=$BASE_IMAGE -t $IMAGE (log: $buildlog)"
  if ! podman build --format docker --network host "${ULIMITS[@]}" \
    --build-arg PYTHON_IMAGE="$BASE_IMAGE" -t "$IMAGE" -f Dockerfile . >"$buildlog" 2>&1; then
    tail -40 "$buildlog" >&2
    die "podman build failed (full log: $buildlog)"
  fi
  new="$(podman image inspect --format '{{.Id}}' "$IMAGE")"
  if [[ -n "$old" && "$old" != "$new" ]]; then
    podman rmi "$old" >/dev/null 2>&1 || true # the previous build, now untagged
  fi
  podman image inspect --format '{{json .Config.Healthcheck}}' "$IMAGE" | grep -q healthcheck ||
    die "the image has no HEALTHCHECK (was it built with --format docker?)"
  log "image $IMAGE built in $(elapsed "$started") s"
}

prepare() {
  ensure_tools
  write_containers_conf 1024 1024 # until probed
  podman info >/dev/null 2>"$CACHE/podman-info.err" ||
    cannot "podman cannot run here: $(tail -3 "$CACHE/podman-info.err")"
  build_base
  probe_ulimits
}

case "$COMMAND" in
  base)
    prepare
    echo "BASE_IMAGE=$BASE_IMAGE"
    ;;
  build)
    prepare
    build_image
    echo "IMAGE=$IMAGE"
    echo "BASE_IMAGE=$BASE_IMAGE"
    echo "CONTAINERS_CONF=$CONTAINERS_CONF"
    ;;
  test)
    prepare
    build_image
    scripts/bootstrap.sh test
    AMH_CONTAINER_IMAGE="$IMAGE" exec .venv/bin/python -m pytest tests/test_container.py "$@"
    ;;
  *)
    echo "usage: $0 [test [PYTEST ARGS]] | build | base" >&2
    exit 2
    ;;
esac
