# kfp-authcheck: the main job, the tests and the checks that CI runs.
GO       ?= go
BIN      := bin/kfp-authcheck
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
PKGS     := ./...

.PHONY: all build run test unit test-slapd slapd mariadb lint fmt vet bench report-browser clean help tools static-tools e2e-local e2e-kind image docker docker-stop kind-node-image

all: lint test

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

build: ## build bin/kfp-authcheck
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/kfp-authcheck

run: build ## the main job: the matrix of every profile against the embedded stacks
	./$(BIN) run --progress always

test: lint unit test-slapd ## what CI runs: lint, then every test (unit tests and the ginkgo suites)

unit: ## go test of every package, the ginkgo suites included
	$(GO) test -count=1 -timeout 15m $(PKGS)

test-slapd: ## the DEX-LDAP suite again, with Dex's LDAP connector against slapd (skipped where slapd is missing)
	@if [ -x /usr/sbin/slapd ] || command -v slapd >/dev/null 2>&1; then \
	  KFP_AUTHCHECK_LDAP_SERVER=slapd $(GO) test -count=1 -timeout 5m ./suites/dexldap/; \
	elif [ "$$KFP_AUTHCHECK_REQUIRE_SLAPD" = 1 ]; then \
	  echo "slapd is missing (make slapd)"; exit 1; \
	else echo "test-slapd: slapd is not installed, skipped (make slapd installs it)"; fi

slapd: ## install OpenLDAP's slapd and ldap-utils from Debian where missing
	@if [ -x /usr/sbin/slapd ] && command -v ldapsearch >/dev/null 2>&1; then echo "slapd is installed"; else \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  timeout 600 $$SUDO sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slapd ldap-utils >/dev/null"; fi

mariadb: ## install MariaDB's server from Debian where missing (the real KFP API server's database on the local tier)
	@if [ -x /usr/sbin/mariadbd ] && command -v mariadb-install-db >/dev/null 2>&1; then echo "mariadb is installed"; else \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  timeout 600 $$SUDO sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mariadb-server >/dev/null"; fi

lint: fmt vet ## gofmt and go vet

fmt: ## fail if gofmt would change a file
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet: ## go vet
	$(GO) vet $(PKGS)

tools: ## build the real programs of the local tier into bin/tools (skips what is built at the pinned version)
	GO=$(GO) bash tools/build.sh

static-tools: ## static builds of the pinned Dex and oauth2-proxy into bin/static (what the kind tier's images hold; e2e-local runs them too)
	GO=$(GO) STATIC=1 bash tools/build.sh dex oauth2-proxy

e2e-local: tools static-tools build ## the suites, run and fidelity against the real programs on loopback
	GO=$(GO) bash tools/e2e-local.sh

e2e-kind: build image ## a kind cluster per profile on the node image built here (make kind-node-image), with the KFP stand-in and the probe from the image, then the kind suite's prerequisite test; starts (and stops) a Docker engine where none answers; prints each phase's time
	GO=$(GO) bash tools/e2e-kind.sh

image: static-tools ## the container images as tarballs, built without Docker: the harness's (bin/kfp-authcheck-image.tar) and the kind tier's Dex and oauth2-proxy from static builds of their pins (bin/dex-image.tar, bin/oauth2-proxy-image.tar); prints their digests
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/linux-amd64/kfp-authcheck ./cmd/kfp-authcheck
	$(GO) build -o bin/kfp-authcheck-image ./cmd/kfp-authcheck-image
	bin/kfp-authcheck-image -binary bin/linux-amd64/kfp-authcheck -out bin/kfp-authcheck-image.tar -version $(VERSION)
	bin/kfp-authcheck-image -program dex -binary bin/static/dex -out bin/dex-image.tar -version "$$(sed 's/^[^@]*@\([^ ]*\).*/\1/' bin/static/dex.stamp)"
	bin/kfp-authcheck-image -program oauth2-proxy -binary bin/static/oauth2-proxy -out bin/oauth2-proxy-image.tar -version "$$(sed 's/^[^@]*@\([^ ]*\).*/\1/' bin/static/oauth2-proxy.stamp)"

docker: ## a Docker engine for the kind tier: installs Debian's docker.io where dockerd is missing and starts dockerd (through a runc wrapper where privileged containers would fail); an engine already running is left alone
	bash tools/kind-node/docker.sh start

docker-stop: ## stops the dockerd that make docker started, and nothing else
	bash tools/kind-node/docker.sh stop

kind-node-image: ## a kind node image for the pinned Kubernetes built without any registry (Debian root filesystem, kind's base files, kubeadm's images built here); its name lands in bin/kind-node/image; cached by its pins
	GO=$(GO) bash tools/kind-node/build.sh

bench: ## wall time of the whole embedded matrix, process start included
	$(GO) test -run '^$$' -bench BenchmarkFullMatrix -benchtime 5x ./cmd/kfp-authcheck

report-browser: ## render the HTML report in headless Chromium; the screenshot lands in bin/report.png
	@mkdir -p bin
	KFP_AUTHCHECK_REQUIRE_CHROMIUM=1 KFP_AUTHCHECK_SCREENSHOT=$(CURDIR)/bin/report.png \
		$(GO) test -count=1 -run TestHTMLReportRendersInChromium -v ./report
	@echo "screenshot: bin/report.png"

clean: ## remove build outputs
	rm -rf bin
