#!/usr/bin/env bash
# Runs every test of Wisp. It first installs what the tests need when it is
# missing (Debian packages, as root), because tests that need a real
# component fail rather than skip. Usage: scripts/test.sh [go test flags]
set -euo pipefail
cd "$(dirname "$0")/.."

# command -> Debian package that provides it
declare -A need=(
	[nginx]=nginx
	[wrk]=wrk
	[caddy]=caddy
	[haproxy]=haproxy
	[chromium]=chromium # the browser test (e2e/browser_test.go)
	[curl]=curl         # HTTP/2 differential tests (--http2-prior-knowledge)
)
missing=()
for cmd in "${!need[@]}"; do
	command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || missing+=("${need[$cmd]}")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "installing: ${missing[*]}" >&2
	if [ "$(id -u)" != 0 ]; then
		echo "scripts/test.sh: need root to install ${missing[*]} (or install them yourself)" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	# Debian starts the services it installs; the tests start their own.
	for svc in "${missing[@]}"; do
		systemctl stop "$svc" >/dev/null 2>&1 || service "$svc" stop >/dev/null 2>&1 || true
	done
fi

# h2spec, the HTTP/2 conformance suite the proxy's tests run (h2spec_test.go),
# from the Go module proxy into $(go env GOPATH)/bin.
gobin="$(go env GOBIN)"
[ -n "$gobin" ] || gobin="$(go env GOPATH)/bin"
command -v h2spec >/dev/null 2>&1 || [ -x "$gobin/h2spec" ] ||
	go install github.com/summerwind/h2spec/cmd/h2spec@v2.2.1+incompatible

ulimit -n 65536 2>/dev/null || true
go vet ./...
go test -race -timeout 20m "$@" ./...
