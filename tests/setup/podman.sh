#!/usr/bin/env bash
# A Docker API for the docker tests, on a Debian machine with no registry (see README, "Docker
# projects"): Podman serving the Docker Engine API on a unix socket, and the two base images the
# tests and example_projects/docker_regression use, built locally without any registry.
#
#   bash tests/setup/podman.sh          # then: export DOCKER_HOST=unix:///run/mlproj-podman.sock
#
# Idempotent and quick when everything is in place: each step runs only when its result is
# missing (packages, containers.conf settings, the service answering on the socket, the images).
# Needs root (apt-get, /etc/containers, /run). Images built:
#   localhost/mlproj-busybox:2          busybox-static: /bin/sh, a bash shim (fast tests, ~1 s)
#   localhost/mlproj-python:bookworm    Debian 12 minbase + python3, venv, `python` (~80 s, once)
set -euo pipefail

SOCKET=${MLPROJ_PODMAN_SOCKET:-/run/mlproj-podman.sock}
BUSYBOX_IMAGE=${MLPROJ_BUSYBOX_IMAGE:-localhost/mlproj-busybox:2}
PYTHON_IMAGE=${MLPROJ_PYTHON_IMAGE:-localhost/mlproj-python:bookworm}
DEBIAN_MIRROR=${MLPROJ_DEBIAN_MIRROR:-http://deb.debian.org/debian}
LOG=/var/log/mlproj-podman-service.log

say() { echo "podman.sh: $*" >&2; }

install_packages() {
    local missing=()
    command -v podman >/dev/null || missing+=(podman)
    command -v runc >/dev/null || missing+=(runc)
    command -v debootstrap >/dev/null || missing+=(debootstrap)
    [ -x /bin/busybox ] || missing+=(busybox-static)
    # catatonit is podman's init (`--init`), which mlproj uses so signals reach the entry point.
    [ -x /usr/libexec/podman/catatonit ] || command -v catatonit >/dev/null || missing+=(catatonit)
    [ ${#missing[@]} -eq 0 ] && return
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
        "${missing[@]}" uidmap slirp4netns >/dev/null
}

configure() {
    # Without these, crun/runc fail on these machines: the sandbox may not raise rlimits, and
    # cgroups are in hybrid mode. A drop-in file leaves any containers.conf of the machine alone.
    local conf=/etc/containers/containers.conf.d/mlproj-tests.conf
    local want='[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]

[engine]
runtime = "runc"'
    if [ "$(cat "$conf" 2>/dev/null)" != "$want" ]; then
        say "writing $conf"
        mkdir -p "$(dirname "$conf")"
        printf '%s\n' "$want" >"$conf"
    fi
}

answers() {
    python3 - "$SOCKET" <<'EOF'
import socket, sys
try:
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(3)
    s.connect(sys.argv[1])
    s.sendall(b"GET /_ping HTTP/1.0\r\nHost: d\r\n\r\n")
    sys.exit(0 if b" 200 " in s.recv(256) else 1)
except OSError:
    sys.exit(1)
EOF
}

start_service() {
    answers && return
    say "starting podman system service on $SOCKET (log: $LOG)"
    rm -f "$SOCKET"
    setsid nohup podman system service --time=0 "unix://$SOCKET" >>"$LOG" 2>&1 </dev/null &
    for _ in $(seq 1 100); do
        answers && return
        sleep 0.2
    done
    say "the service did not answer on $SOCKET within 20 s; see $LOG"
    exit 1
}

starts_container() {
    # A service can answer /_ping and still fail every container start (seen after hours of use:
    # "write child: broken pipe"); a tiny container through the API is the real check.
    python3 - "unix://$SOCKET" "$BUSYBOX_IMAGE" <<'EOF'
import sys
try:
    import docker
except ImportError:  # the SDK comes with mlproj; without it there is nothing to check with
    sys.exit(0)
try:
    docker.DockerClient(base_url=sys.argv[1]).containers.run(sys.argv[2], ["true"], remove=True)
except Exception as exc:  # any failure means the service is not usable as it is
    print(f"podman.sh: a container did not start through the API: {exc}", file=sys.stderr)
    sys.exit(1)
EOF
}

restart_if_broken() {
    starts_container && return
    say "restarting the service"
    pkill -f "podman system service --time=0 unix://$SOCKET" || true
    sleep 1
    start_service
    starts_container || { say "containers still do not start through the API; see $LOG"; exit 1; }
}

build_busybox() {
    podman image exists "$BUSYBOX_IMAGE" && return
    say "building $BUSYBOX_IMAGE"
    local root
    root=$(mktemp -d)
    mkdir -p "$root/bin" "$root/tmp" "$root/etc"
    chmod 1777 "$root/tmp"
    cp /bin/busybox "$root/bin/busybox"
    for applet in $(/bin/busybox --list); do
        [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
    done
    # mlproj runs shell templates and .sh entry points with bash; busybox's sh stands in.
    printf '#!/bin/sh\nexec /bin/sh "$@"\n' >"$root/bin/bash"
    chmod 755 "$root/bin/bash"
    echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
    echo 'root:x:0:' >"$root/etc/group"
    tar -C "$root" -c . | podman import --quiet --change 'CMD ["/bin/sh"]' - "$BUSYBOX_IMAGE" >/dev/null
    rm -rf "$root"
}

build_python() {
    podman image exists "$PYTHON_IMAGE" && return
    say "building $PYTHON_IMAGE with debootstrap (about 80 s, once)"
    local root
    root=$(mktemp -d)
    debootstrap --variant=minbase --include=python3,python3-venv,python-is-python3 \
        bookworm "$root" "$DEBIAN_MIRROR" >/dev/null
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    tar -C "$root" -c . | podman import --quiet --change 'CMD ["/usr/bin/python3"]' \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        - "$PYTHON_IMAGE" >/dev/null
    rm -rf "$root"
}

install_packages
configure
start_service
build_busybox
build_python
restart_if_broken
say "ready: DOCKER_HOST=unix://$SOCKET ($BUSYBOX_IMAGE, $PYTHON_IMAGE)"
