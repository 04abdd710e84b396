# kfp-authcheck: the main job, the tests and the checks that CI runs.
GO       ?= go
BIN      := bin/kfp-authcheck
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
PKGS     := ./...

.PHONY: release-matrix release-matrix-doc all build dist run test unit mutate test-slapd slapd mariadb lint fmt vet bench report-browser clean help tools static-tools e2e-local e2e-kind image fuzz docker docker-stop kind-node-image

all: lint test

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

build: ## build bin/kfp-authcheck
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/kfp-authcheck

DIST_PLATFORMS := linux/amd64 linux/arm64 darwin/amd64 darwin/arm64

dist: ## release binaries for linux and darwin (amd64, arm64) in dist/, versioned, with SHA256SUMS
	@rm -rf dist && mkdir -p dist
	@set -e; for p in $(DIST_PLATFORMS); do \
	  os=$${p%/*}; arch=$${p#*/}; out=dist/kfp-authcheck-$(VERSION)-$$os-$$arch; \
	  echo "build $$out"; \
	  CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags "$(LDFLAGS) -s -w" -o $$out ./cmd/kfp-authcheck; \
	done
	cd dist && sha256sum kfp-authcheck-* > SHA256SUMS && cat SHA256SUMS

run: build ## the main job: the matrix of every profile against the embedded stacks
	./$(BIN) run --progress always

test: lint unit test-slapd ## what CI runs: lint, then every test (unit tests and the ginkgo suites)

unit: ## go test of every package, the ginkgo suites included
	$(GO) test -count=1 -timeout 15m $(PKGS)

# The fuzz targets: package and function. `make test` (plain go test) runs each on its seed corpus only.
FUZZ_TARGETS := ./target:FuzzParseFile ./report/deviation:FuzzParse ./auth/browser:FuzzDexForms \
	./auth/browser:FuzzCookieJar ./auth/tokencache:FuzzCacheFile ./internal/redact:FuzzRedactor
FUZZTIME ?= 60s

fuzz: ## fuzz each target for FUZZTIME (default 60s; the first build instruments the dependencies and takes minutes)
	@set -e; for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; fn=$${t##*:}; echo "fuzz $$pkg $$fn ($(FUZZTIME))"; \
	  $(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

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

mutate: ## the mutation suite: each deliberate bug of mocks/mutate, one at a time, must make its named check fail (docs/mutations.md)
	@out=$$(mktemp); KFP_AUTHCHECK_MUTATE=1 $(GO) test -count=1 -timeout 10m -v \
	  -run 'TestEveryMutationHasACase|TestMisconfigurationsAreCaught/mutation' ./checks/ >$$out 2>&1; rc=$$?; \
	grep -E '^(--- |ok|FAIL|PASS)|mutation |_test.go' $$out; rm -f $$out; exit $$rc

lint: fmt vet ## gofmt and go vet

fmt: ## fail if gofmt would change a file
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet: ## go vet
	$(GO) vet $(PKGS)

RELEASES ?= kubeflow-1.8,kubeflow-1.9,kubeflow-1.10,kubeflow-1.10-kind,kubeflow-1.11
RELEASE_OUT := bin/release-matrix

release-matrix: build tools ## every built-in Kubeflow release on the local tier: one matrix (markdown, HTML, JSON) in bin/release-matrix, and docs/releases.md's local-tier section rewritten from it (programs, time, matrix)
	@mkdir -p $(RELEASE_OUT); start=$$(date +%s); \
	{ ./$(BIN) run --tier local --profile $(RELEASES) --format md,html,json --out $(RELEASE_OUT) --progress always 2>&1; echo $$? > $(RELEASE_OUT)/exit; } | tee $(RELEASE_OUT)/run.log; \
	code=$$(cat $(RELEASE_OUT)/exit); echo $$(( $$(date +%s) - start )) > $(RELEASE_OUT)/wall; \
	echo "release-matrix: $$(cat $(RELEASE_OUT)/wall)s wall (exit $$code: 1 is a release's own failures)"; \
	test $$code -le 1 && $(MAKE) --no-print-directory release-matrix-doc

# release-matrix-doc rewrites the part of docs/releases.md between the release-matrix markers from the last
# release-matrix run in bin/release-matrix: its date, wall time and exit code, each release's programs (the run's
# programs lines: the versions that ran, and where they differ from the release's, both) and the merged matrix.
release-matrix-doc:
	@test -f $(RELEASE_OUT)/kfp-authcheck.md && test -f $(RELEASE_OUT)/run.log || { echo "release-matrix-doc: no run in $(RELEASE_OUT) (make release-matrix)"; exit 2; }
	@grep -q '^<!-- release-matrix:begin' docs/releases.md || { echo "release-matrix-doc: docs/releases.md has no release-matrix markers"; exit 2; }
	@{ echo '<!-- release-matrix:begin: `make release-matrix` writes this part; do not edit by hand -->'; \
	  echo "Last run: $$(date -u -r $(RELEASE_OUT)/kfp-authcheck.md +%Y-%m-%d), $$(cat $(RELEASE_OUT)/wall 2>/dev/null || echo '?') s wall for $(RELEASES) on the local tier, exit $$(cat $(RELEASE_OUT)/exit 2>/dev/null || echo '?') (1: a release's own failures). The programs each release ran:"; \
	  echo; \
	  awk '/^ *target [^ ]+: tier /{t=$$2; sub(/:$$/, "", t)} /^ *programs: /{p=$$0; sub(/^ *programs: /, "", p); if (t != "") print "- " t ": " p; t=""}' $(RELEASE_OUT)/run.log; \
	  echo; echo "Checks n/a on every release are left out; bin/release-matrix/kfp-authcheck.md has them all."; \
	  awk -F'|' '/^[|] [A-Z0-9-]+-[0-9]+ [|]/ { all = 1; for (i = 4; i < NF; i++) if ($$i != " n/a ") all = 0; if (all) next } \
	    { sub(/^## kfp-authcheck matrix/, "### The matrix"); print }' $(RELEASE_OUT)/kfp-authcheck.md; \
	  echo; echo '<!-- release-matrix:end -->'; } > $(RELEASE_OUT)/section.md
	@awk -v f=$(RELEASE_OUT)/section.md 'BEGIN { while ((getline l < f) > 0) s = s l "\n" } \
	  /^<!-- release-matrix:begin/ { printf "%s", s; skip = 1; next } /^<!-- release-matrix:end/ { skip = 0; next } !skip' \
	  docs/releases.md > docs/releases.md.tmp && mv docs/releases.md.tmp docs/releases.md
	@echo "release-matrix-doc: docs/releases.md rewritten from $(RELEASE_OUT)"

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

bench: ## wall time of the embedded matrix; the live run against the local tier's real stack; the isolation audit at 10, 30 and 100 Profiles (local tier; skipped without make tools)
	$(GO) test -run '^$$' -bench 'BenchmarkFullMatrix|BenchmarkLiveRunLocal' -benchtime 5x -timeout 20m ./cmd/kfp-authcheck
	$(GO) test -run '^$$' -bench BenchmarkAudit -benchtime 5x -timeout 20m ./clusters/local

docker: ## a Docker engine for the kind tier: installs Debian's docker.io where dockerd is missing and starts dockerd (through a runc wrapper where privileged containers would fail); an engine already running is left alone
	bash tools/kind-node/docker.sh start

docker-stop: ## stops the dockerd that make docker started, and nothing else
	bash tools/kind-node/docker.sh stop

kind-node-image: ## a kind node image for the pinned Kubernetes built without any registry (Debian root filesystem, kind's base files, kubeadm's images built here); its name lands in bin/kind-node/image; cached by its pins
	GO=$(GO) bash tools/kind-node/build.sh

report-browser: ## render the HTML report in headless Chromium; the screenshot lands in bin/report.png
	@mkdir -p bin
	KFP_AUTHCHECK_REQUIRE_CHROMIUM=1 KFP_AUTHCHECK_SCREENSHOT=$(CURDIR)/bin/report.png \
		$(GO) test -count=1 -run TestHTMLReportRendersInChromium -v ./report
	@echo "screenshot: bin/report.png"

clean: ## remove build outputs
	rm -rf bin dist
